"""Coordination in Redis (redis.asyncio), shared by every process of a deployment, degrading gracefully.

Each operation is one round trip (a Lua script where it must be atomic). When Redis cannot be reached
the operation is answered by an in-process LocalCoordination instead, so the bot keeps answering
with per-process cooldowns and locks; that is logged once when it happens and once when Redis is
back. While Redis is down it is retried every RETRY_S, not on every request, so requests do not
each pay a connection timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from songrec.coordination.contract import KEY_PREFIX
from songrec.coordination.local import BUSY, LocalCoordination, LocalLease
from songrec.domain import ServiceUnavailable

log = logging.getLogger("songrec.coordination")

T = TypeVar("T")

CONNECT_TIMEOUT_S = 0.5
COMMAND_TIMEOUT_S = 1.0
RETRY_S = 2.0  # how long to use the local stand-in after a failure before trying Redis again
LOCK_POLL_S = 0.05

# A fixed window: the first use sets the expiry; over the rate, the answer is the window's time left.
_HIT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
if n > tonumber(ARGV[2]) then
  local left = redis.call('PTTL', KEYS[1])
  if left < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); left = tonumber(ARGV[1]) end
  return left
end
return -1
"""
# Set the key to a state unless it already holds it: 1 when this caller is the first to see it.
_CLAIM = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""
# Release or extend only what this holder's token still owns.
_RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"
_EXTEND = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0"


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


class RedisLease:
    """The Redis side of a lease: a token under one key, extended every ttl/3 until released."""

    def __init__(self, name: str, owner: RedisCoordination, key: str, token: str, ttl_s: float) -> None:
        self.name = name
        self._owner = owner
        self._key = key
        self._token = token
        self._ttl_s = ttl_s
        self._renewer = asyncio.create_task(self._renew(), name=f"songrec-lease-{name}")

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(self._ttl_s / 3)
            try:
                kept = await self._owner._client.evalsha_or_eval(
                    _EXTEND, self._key, self._token, _ms(self._ttl_s)
                )
            except Exception as exc:  # Redis away: the run goes on; the store's running row still guards
                log.debug("could not renew lease %s: %r", self.name, exc)
                continue
            if not kept:
                log.warning("lost the %s lease (it expired while Redis was unreachable)", self.name)
                return

    async def release(self) -> None:
        self._renewer.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._renewer
        with contextlib.suppress(Exception):
            await self._owner._client.evalsha_or_eval(_RELEASE, self._key, self._token)


class _Scripts:
    """A redis.asyncio client and its scripts (EVALSHA, loading them again after a Redis restart)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.sha: dict[str, str] = {}

    async def evalsha_or_eval(self, script: str, key: str, *args: Any) -> Any:
        from redis.exceptions import NoScriptError

        sha = self.sha.get(script)
        if sha is not None:
            try:
                return await self.client.evalsha(sha, 1, key, *args)
            except NoScriptError:
                pass  # a restarted Redis forgot its scripts
        self.sha[script] = await self.client.script_load(script)
        return await self.client.evalsha(self.sha[script], 1, key, *args)


class RedisCoordination:
    """Implements Coordination over Redis, answered locally while Redis is unreachable."""

    def __init__(self, client: Any, *, label: str, clock: Callable[[], float] = time.monotonic) -> None:
        self._label = label  # the URL without its password: for log lines
        self._client = _Scripts(client)
        self._local = LocalCoordination()
        self._clock = clock
        self._down_until = 0.0
        self._down = False
        #: How many times Redis went away (each logged once); for status pages and tests.
        self.outages = 0

    @classmethod
    def connect(cls, url: str, *, label: str) -> RedisCoordination:
        """A client for `url` with short timeouts and one immediate retry (beyond that the fallback is ours)."""
        from redis.asyncio import Redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        client = Redis.from_url(
            url,
            socket_connect_timeout=CONNECT_TIMEOUT_S,
            socket_timeout=COMMAND_TIMEOUT_S,
            retry=Retry(NoBackoff(), 1),  # once, on a fresh connection: a restarted Redis drops the old ones
            decode_responses=True,
        )
        return cls(client, label=label)

    # ------------------------------------------------------------------ health

    @property
    def shared(self) -> bool:
        return not self._down

    def describe(self) -> str:
        state = "shared" if not self._down else "UNREACHABLE, per process until it is back"
        return f"Redis at {self._label} ({state})"

    async def ping(self) -> bool:
        """Check Redis now; logs the change (down, or back) like any operation."""
        try:
            await self._client.client.ping()
        except Exception as exc:
            self._went_down(exc)
            return False
        self._came_back()
        return True

    def _went_down(self, exc: BaseException) -> None:
        self._down_until = self._clock() + RETRY_S
        if not self._down:
            self._down = True
            self.outages += 1
            log.warning(
                "Redis at %s is unreachable (%s): cooldowns, de-duplication and locks are per process "
                "until it is back; retrying every %gs",
                self._label,
                _reason(exc),
                RETRY_S,
            )

    def _came_back(self) -> None:
        if self._down:
            self._down = False
            log.info("Redis at %s is reachable again: cooldowns and locks are shared again", self._label)

    async def _shared(self, op: Callable[[], Awaitable[T]], fallback: Callable[[], Awaitable[T]]) -> T:
        if self._down and self._clock() < self._down_until:
            return await fallback()
        try:
            result = await op()
        except Exception as exc:  # any Redis or socket failure: answer locally, never fail the request
            self._went_down(exc)
            return await fallback()
        self._came_back()
        return result

    # ------------------------------------------------------------------ the operations

    async def hit(self, key: str, rate: int, per_s: float) -> float | None:
        async def shared() -> float | None:
            left = await self._client.evalsha_or_eval(_HIT, KEY_PREFIX + key, _ms(per_s), rate)
            return None if int(left) < 0 else max(int(left), 1) / 1000.0

        return await self._shared(shared, lambda: self._local.hit(key, rate, per_s))

    async def claim(self, key: str, *, ttl_s: float, state: str = "handled") -> bool:
        async def shared() -> bool:
            return bool(await self._client.evalsha_or_eval(_CLAIM, KEY_PREFIX + key, state, _ms(ttl_s)))

        return await self._shared(shared, lambda: self._local.claim(key, ttl_s=ttl_s, state=state))

    @contextlib.asynccontextmanager
    async def lock(self, name: str, *, ttl_s: float, wait_s: float) -> AsyncIterator[None]:
        """This process's own lock first (so its tasks queue without polling Redis), then Redis's."""
        started = self._clock()
        async with self._local.lock(name, ttl_s=ttl_s, wait_s=wait_s):
            key, token = KEY_PREFIX + "lock:" + name, secrets.token_hex(16)
            held = await self._acquire(key, token, ttl_s, wait_s - (self._clock() - started))
            try:
                yield
            finally:
                if held:
                    with contextlib.suppress(Exception):
                        await self._client.evalsha_or_eval(_RELEASE, key, token)

    async def _acquire(self, key: str, token: str, ttl_s: float, wait_s: float) -> bool:
        """True when Redis holds the lock for us; False when Redis is away (the local lock must do)."""
        deadline = self._clock() + max(wait_s, 0.0)
        while True:
            got = await self._shared(lambda: self._set_new(key, token, ttl_s), _unreachable)
            if got is None:
                return False
            if got:
                return True
            if self._clock() >= deadline:
                raise ServiceUnavailable(BUSY)
            await asyncio.sleep(LOCK_POLL_S)

    async def _set_new(self, key: str, token: str, ttl_s: float) -> bool:
        """SET NX PX: True when the key was free and is now ours."""
        return bool(await self._client.client.set(key, token, nx=True, px=_ms(ttl_s)))

    async def try_lease(self, name: str, *, ttl_s: float) -> RedisLease | LocalLease | None:
        key, token = KEY_PREFIX + "lease:" + name, secrets.token_hex(16)
        got = await self._shared(lambda: self._set_new(key, token, ttl_s), _unreachable)
        if got is None:  # Redis away: this process's lease (the store's running-row check still guards)
            return await self._local.try_lease(name, ttl_s=ttl_s)
        return RedisLease(name, self, key, token, ttl_s) if got else None

    async def close(self) -> None:
        await self._local.close()
        with contextlib.suppress(Exception):
            await self._client.client.aclose()


async def _unreachable() -> None:
    return None


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:200] if text else type(exc).__name__
