"""Coordination inside one process: dictionaries and asyncio locks (the default, and Redis's stand-in).

Entries expire lazily (checked on use) and are swept when the tables grow, so a long-running bot's
memory stays bounded by the users and events of the last few minutes.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from songrec.domain import ServiceUnavailable

SWEEP_AT = 10_000  # entries in a table before expired ones are dropped
BUSY = "Someone else's request for this is still running; try again in a moment."


@dataclass
class _Window:
    count: int
    ends_at: float


@dataclass
class _Lock:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


class LocalLease:
    def __init__(self, name: str, owner: LocalCoordination) -> None:
        self.name = name
        self._owner = owner

    async def release(self) -> None:
        if self._owner._leases.get(self.name) is self:
            del self._owner._leases[self.name]


class LocalCoordination:
    """Implements Coordination for this process alone."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._windows: dict[str, _Window] = {}
        self._claims: dict[str, tuple[str, float]] = {}
        self._locks: dict[str, _Lock] = {}
        self._leases: dict[str, LocalLease] = {}

    @property
    def shared(self) -> bool:
        return False

    def describe(self) -> str:
        return "in-process (SONGREC_REDIS_URL unset): cooldowns, de-duplication and locks are per process"

    async def hit(self, key: str, rate: int, per_s: float) -> float | None:
        now = self._clock()
        window = self._windows.get(key)
        if window is None or window.ends_at <= now:
            if len(self._windows) >= SWEEP_AT:
                self._windows = {k: w for k, w in self._windows.items() if w.ends_at > now}
            window = self._windows[key] = _Window(0, now + per_s)
        window.count += 1
        return None if window.count <= rate else window.ends_at - now

    async def claim(self, key: str, *, ttl_s: float, state: str = "handled") -> bool:
        now = self._clock()
        held = self._claims.get(key)
        if held is not None and held[1] > now and held[0] == state:
            return False
        if len(self._claims) >= SWEEP_AT:
            self._claims = {k: c for k, c in self._claims.items() if c[1] > now}
        self._claims[key] = (state, now + ttl_s)
        return True

    @contextlib.asynccontextmanager
    async def lock(self, name: str, *, ttl_s: float, wait_s: float) -> AsyncIterator[None]:
        entry = self._locks.setdefault(name, _Lock())
        entry.users += 1  # counted, so the entry goes when nobody holds or waits for it
        try:
            try:
                async with asyncio.timeout(
                    wait_s
                ):  # not wait_for: a cancelled acquire must not leak the lock
                    await entry.lock.acquire()
            except TimeoutError:
                raise ServiceUnavailable(BUSY) from None
            try:
                yield
            finally:
                entry.lock.release()
        finally:
            entry.users -= 1
            if entry.users == 0:
                self._locks.pop(name, None)

    async def try_lease(self, name: str, *, ttl_s: float) -> LocalLease | None:
        if name in self._leases:
            return None
        lease = self._leases[name] = LocalLease(name, self)
        return lease

    async def close(self) -> None:
        self._leases.clear()
