"""Small SQLite helpers shared by the migration runner and the connection: busy detection and retries."""

from __future__ import annotations

import asyncio
import random
import sqlite3
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import aiosqlite

from songrec.domain import StoreBusy

T = TypeVar("T")

SQLITE_BUSY = 5
SQLITE_LOCKED = 6


def is_busy(exc: BaseException) -> bool:
    """True for SQLITE_BUSY / SQLITE_LOCKED (including extended codes such as BUSY_SNAPSHOT)."""
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (SQLITE_BUSY, SQLITE_LOCKED)
    text = str(exc).lower()
    return "locked" in text or "busy" in text


class Backoff:
    """Exponential backoff with jitter until a deadline; raises StoreBusy when the deadline passes."""

    def __init__(self, deadline_s: float, what: str, first_s: float = 0.02, cap_s: float = 0.5) -> None:
        self.deadline = time.monotonic() + deadline_s
        self.deadline_s = deadline_s
        self.what = what
        self.delay = first_s
        self.cap = cap_s
        self.attempts = 0

    async def wait(self, cause: BaseException) -> None:
        """Sleep before the next attempt, or raise StoreBusy if another attempt would pass the deadline."""
        self.attempts += 1
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise StoreBusy(
                f"the database stayed locked by another process for more than {self.deadline_s:.1f}s "
                f"({self.attempts} attempts to {self.what}); is a second bot or a long training export "
                "holding a write transaction? Try again shortly"
            ) from cause
        await asyncio.sleep(min(self.delay * (0.5 + random.random()), remaining))
        self.delay = min(self.delay * 2, self.cap)


async def when_free(call: Callable[[], Awaitable[T]], backoff: Backoff) -> T:
    """`call()`, tried again while the database is busy (another connection holds a lock) until the
    backoff's deadline; any other error at once."""
    while True:
        try:
            return await call()
        except sqlite3.OperationalError as exc:
            if not is_busy(exc):
                raise
            await backoff.wait(exc)


async def begin_immediate(conn: aiosqlite.Connection, backoff: Backoff) -> None:
    """BEGIN IMMEDIATE takes the write lock up front, so a transaction never fails half-way on BUSY."""
    await when_free(lambda: conn.execute("BEGIN IMMEDIATE"), backoff)


async def rollback_quietly(conn: aiosqlite.Connection) -> None:
    """Roll back if a transaction is open; never raises (used on error paths)."""
    try:
        if conn.in_transaction:
            await conn.execute("ROLLBACK")
    except sqlite3.Error:
        pass
