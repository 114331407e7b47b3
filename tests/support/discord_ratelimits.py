"""Discord's per-route rate limits for the fake Discord, answered the way Discord answers them.

Every limited route has a bucket per major parameter (a channel, an interaction token): a fixed window
that opens with the first request and allows `limit` requests until it resets. A served request carries
the bucket's state in X-RateLimit-Limit / -Remaining / -Reset / -Reset-After / -Bucket (discord.py waits
on its own once Remaining is 0); a request over the limit is answered 429 with a JSON body holding
`retry_after` (seconds), `global` and X-RateLimit-Scope, and is not carried out, so discord.py's own
retry logic is what gets a message through. A follow-up that creates a public message also counts
against its channel's message bucket ("shared" scope), as every new message in a channel does.

Numbers as client libraries observe them: a channel takes about one reaction per 0.25 s and five
messages per 5 s; an interaction's webhook five requests per 2 s. Interaction callbacks are not limited.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class BucketRule:
    """A route family's limit; `pattern` matches the path and its group 1 is the major parameter."""

    name: str  # what Discord sends as X-RateLimit-Bucket (a hash there; any stable string here)
    methods: frozenset[str]
    pattern: re.Pattern[str]
    limit: int
    per_s: float


REACTIONS = BucketRule(
    "reactions",
    frozenset({"PUT", "DELETE"}),
    re.compile(r"/channels/(\d+)/messages/\d+/reactions/.+"),
    1,
    0.25,
)
CHANNEL_MESSAGES = BucketRule(
    "channel-messages", frozenset({"POST"}), re.compile(r"/channels/(\d+)/messages"), 5, 5.0
)
INTERACTION_WEBHOOK = BucketRule(
    "interaction-webhook",
    frozenset({"GET", "POST", "PATCH", "DELETE"}),
    re.compile(r"/webhooks/\d+/([^/]+)(?:/messages/.+)?"),
    5,
    2.0,
)
DISCORD_RULES: tuple[BucketRule, ...] = (REACTIONS, CHANNEL_MESSAGES, INTERACTION_WEBHOOK)


@dataclass
class _Window:
    opened_at: float
    used: int = 0


@dataclass(frozen=True)
class Verdict:
    """What the limiter says about one request: served (with headers) or 429 (with retry_after)."""

    headers: dict[str, str]
    retry_after: float | None = None  # None: serve it
    scope: str = "user"

    @property
    def limited(self) -> bool:
        return self.retry_after is not None


@dataclass
class RateLimiter:
    """Fixed-window buckets keyed by (rule, major parameter); `clock` is monotonic seconds."""

    rules: tuple[BucketRule, ...] = DISCORD_RULES
    clock: Callable[[], float] = time.monotonic
    windows: dict[tuple[str, str], _Window] = field(default_factory=dict)
    served: list[tuple[str, str, float]] = field(default_factory=list)  # (rule, key, at) per counted use

    def check(
        self, method: str, path: str, shared: tuple[tuple[BucketRule, str], ...] = ()
    ) -> Verdict | None:
        """None for a route without a limit; else the verdict, counting the request when it is served.

        `shared`: further buckets the request also uses (e.g. the channel of a follow-up's new message).
        """
        own = self._own(method, path)
        buckets = ([own] if own else []) + list(shared)
        if not buckets:
            return None
        now = self.clock()
        for rule, key in buckets:
            window = self._window(rule, key, now)
            if window.used >= rule.limit:
                retry_after = max(window.opened_at + rule.per_s - now, 0.001)
                headers = self._headers(*(own or (rule, key)), now)
                headers["X-RateLimit-Scope"] = "user" if own and rule is own[0] else "shared"
                return Verdict(headers, round(retry_after, 3), headers["X-RateLimit-Scope"])
        for rule, key in buckets:
            self._window(rule, key, now).used += 1
            self.served.append((rule.name, key, now))
        return Verdict(self._headers(*(own or buckets[0]), now))

    def _own(self, method: str, path: str) -> tuple[BucketRule, str] | None:
        for rule in self.rules:
            match = rule.pattern.fullmatch(path)
            if match and method in rule.methods:
                return rule, match[1]
        return None

    def _window(self, rule: BucketRule, key: str, now: float) -> _Window:
        window = self.windows.get((rule.name, key))
        if window is None or now >= window.opened_at + rule.per_s:
            window = self.windows[(rule.name, key)] = _Window(now)
        return window

    def _headers(self, rule: BucketRule, key: str, now: float) -> dict[str, str]:
        window = self._window(rule, key, now)
        reset_after = max(window.opened_at + rule.per_s - now, 0.0)
        remaining = max(rule.limit - window.used, 0)
        return {
            "X-RateLimit-Limit": str(rule.limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": rule.name,
        }
