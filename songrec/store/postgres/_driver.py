"""asyncpg failures sorted into what the store does about them: wait (locked), reconnect (lost), give up.

Kept apart from the connection so the migration runner, the connection and the tests share one
reading of PostgreSQL's error codes.
"""

from __future__ import annotations

import asyncio
import random
import time
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from songrec.domain import StoreBusy, StoreError

_HINT = "check SONGREC_DATABASE_URL and that the PostgreSQL server is running and reachable"

#: Another transaction holds a lock we need (lock_timeout ran out) or PostgreSQL broke a deadlock.
_LOCKED = (asyncpg.exceptions.LockNotAvailableError,)
#: Two writers raced for the same row (another process): re-run the job, it will see the winner's row.
_CONFLICT = (
    asyncpg.exceptions.UniqueViolationError,
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.DeadlockDetectedError,
)
#: The server went away, restarts, or refuses connections for now: reconnect and try again.
_LOST = (
    asyncpg.exceptions.PostgresConnectionError,  # class 08
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.InterfaceError,  # "connection is closed", "another operation is in progress"
    asyncpg.exceptions.InternalClientError,
    ConnectionError,
    OSError,
    asyncio.TimeoutError,
)


def is_locked(exc: BaseException) -> bool:
    return isinstance(exc, _LOCKED)


def is_conflict(exc: BaseException) -> bool:
    return isinstance(exc, _CONFLICT)


def is_lost(exc: BaseException) -> bool:
    """True when the connection (not the statement) failed: worth a reconnect and a retry."""
    return isinstance(exc, _LOST) and not isinstance(exc, asyncpg.exceptions.InterfaceWarning)


def redact(url: str) -> str:
    """The URL without its password: what logs, status pages and error messages show."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{parts.username}@" if parts.username else ""
    netloc += host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


class Backoff:
    """Exponential backoff with jitter until a deadline; ``fail`` builds the error raised after it."""

    def __init__(self, deadline_s: float, first_s: float = 0.02, cap_s: float = 0.5) -> None:
        self.deadline = time.monotonic() + deadline_s
        self.deadline_s = deadline_s
        self.delay = first_s
        self.cap = cap_s
        self.attempts = 0

    @property
    def expired(self) -> bool:
        return time.monotonic() >= self.deadline

    async def sleep(self) -> bool:
        """Sleep before the next attempt; False (without sleeping) when the deadline has passed."""
        self.attempts += 1
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            return False
        await asyncio.sleep(min(self.delay * (0.5 + random.random()), remaining))
        self.delay = min(self.delay * 2, self.cap)
        return True


def busy_error(label: str, backoff: Backoff, what: str, cause: BaseException) -> StoreBusy:
    error = StoreBusy(
        f"the database {label} stayed locked by another process for more than {backoff.deadline_s:.1f}s "
        f"({backoff.attempts} attempts to {what}); is a second bot or a long training export holding a "
        "lock? Try again shortly"
    )
    error.__cause__ = cause
    return error


def lost_error(label: str, backoff: Backoff, what: str, cause: BaseException) -> StoreError:
    error = StoreError(
        f"lost the connection to the PostgreSQL database {label} and could not get it back within "
        f"{backoff.deadline_s:.0f}s ({backoff.attempts} attempts to {what}): {_reason(cause)}; {_HINT}"
    )
    error.__cause__ = cause
    return error


def unreachable_error(label: str, backoff: Backoff, cause: BaseException) -> StoreError:
    error = StoreError(
        f"cannot reach the PostgreSQL database {label}: still failing after {backoff.deadline_s:.0f}s "
        f"({backoff.attempts} attempts): {_reason(cause)}; {_HINT}"
    )
    error.__cause__ = cause
    return error


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
