"""What the processes of one deployment share, as one small interface with two implementations.

``Coordination`` is used by the bot (per-user cooldowns, "this event was already handled"), by the
service (one session's /session next at a time) and by the learning loop (one training run for the
whole deployment). ``LocalCoordination`` (local.py) keeps all of it in this process, as a single bot
needs; ``RedisCoordination`` (redis_backend.py) keeps it in Redis, so several bot processes agree,
and falls back to its local twin while Redis is unreachable. ``open_coordination`` (open.py) picks
one from SONGREC_REDIS_URL.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol

#: Every key songrec writes to Redis starts with this, so one Redis can serve other things too.
KEY_PREFIX = "songrec:"


class Lease(Protocol):
    """A named, exclusive, time-limited right (the retrain lease). Renewed in the background while held,
    so it outlives a long run but expires soon after a process that died holding it."""

    name: str

    async def release(self) -> None:
        """Give it back now (safe to call twice; never raises)."""
        ...


class Coordination(Protocol):
    @property
    def shared(self) -> bool:
        """True while the state is shared with other processes (Redis, reachable); False: this process only."""
        ...

    def describe(self) -> str:
        """One line for logs and status pages (no password)."""
        ...

    async def hit(self, key: str, rate: int, per_s: float) -> float | None:
        """Count one use of a rate-limited action: None when allowed, else seconds until it is allowed again.

        Fixed window, as discord.py's cooldowns: `rate` uses per `per_s` seconds from the first one.
        """
        ...

    async def claim(self, key: str, *, ttl_s: float, state: str = "handled") -> bool:
        """Record that `key` is now in `state`; False when it already was (a duplicate: skip it).

        For events with a unique id the state is constant ("handled"); for a toggle such as a reaction
        it is the new state ("add"/"remove"), so a repeated add is a duplicate but add, remove, add is not.
        """
        ...

    def lock(self, name: str, *, ttl_s: float, wait_s: float) -> AbstractAsyncContextManager[None]:
        """Hold `name` exclusively for the block. Raises ServiceUnavailable after waiting `wait_s`; a
        holder that dies releases it after `ttl_s` at most."""
        ...

    async def try_lease(self, name: str, *, ttl_s: float) -> Lease | None:
        """Take the lease `name` if nobody holds it (no waiting); None when it is held elsewhere."""
        ...

    async def close(self) -> None: ...
