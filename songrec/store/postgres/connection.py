"""The PostgreSQL connection pool and its one writer: group commit over asyncpg, retried when the server goes.

The same design as the SQLite backend (songrec/store/sqlite/connection.py), so both keep one contract:

* Writes are queued and run by one writer task on its own connection. It takes everything queued so
  far and runs it in one transaction, each job in its own SAVEPOINT (so one bad job fails alone), and
  commits once: group commit. PostgreSQL flushes its WAL at every commit (synchronous_commit=on), so
  batching is what lets hundreds of concurrent writers go fast without giving up durability. A
  caller's await returns only after the COMMIT that holds its write has returned.
* Reads use a pool (asyncpg.create_pool) and never wait for the writer.
* ``lock_timeout`` (busy_timeout_s) bounds each wait for another process's lock; the batch is then
  rolled back and retried with backoff until busy_deadline_s, then StoreBusy, as on SQLite.
* Two processes may race for the same row (a unique index): the losing job is re-run in its savepoint
  and sees the winner's row, which is what a check-then-insert job would have seen had it run later.
* A lost connection is retried (reconnect with backoff, up to connect_deadline_s) and then reported
  as a StoreError with a plain message. A batch is retried only if it was lost before COMMIT was sent:
  when the connection dies during COMMIT nobody knows whether it landed, so its callers are told so.
* Callers that are cancelled cannot tear a transaction in half: the writer is its own task, and reads
  run in shielded tasks.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib.abc import Traversable
from pathlib import Path
from typing import Any, TypeVar

import asyncpg

from songrec.domain import DatabaseTooNew, DatabaseTooOld, StoreClosed, StoreError
from songrec.store.contract import StoreStats
from songrec.store.group_commit import fail, writer_loop
from songrec.store.postgres import migrations as migrations_module
from songrec.store.postgres._driver import (
    Backoff,
    busy_error,
    is_conflict,
    is_locked,
    is_lost,
    lost_error,
    redact,
    unreachable_error,
)

T = TypeVar("T")
log = logging.getLogger("songrec.store.postgres")

#: Errors that mean the URL or the account is wrong: retrying cannot help.
_FATAL_CONNECT = (
    asyncpg.exceptions.InvalidAuthorizationSpecificationError,
    asyncpg.exceptions.InvalidPasswordError,
    asyncpg.exceptions.InvalidCatalogNameError,
    asyncpg.exceptions.ClientConfigurationError,
    ValueError,
)
_CONFLICT_RETRIES = 5


@dataclass(frozen=True, slots=True)
class Result:
    """What ``PgConn.execute`` returns: the affected row count, as a DB-API cursor would say."""

    rowcount: int


@lru_cache(maxsize=1024)
def numbered(sql: str) -> str:
    """``?`` placeholders (the store's portable spelling) as PostgreSQL's ``$1, $2, ...``."""
    out: list[str] = []
    n = 0
    for piece in re.split(r"('(?:[^']|'')*')", sql):  # leave string literals alone
        if piece.startswith("'"):
            out.append(piece)
            continue
        parts = piece.split("?")
        for i, part in enumerate(parts):
            if i:
                n += 1
                out.append(f"${n}")
            out.append(part)
    return "".join(out)


def _count(status: str) -> int:
    """asyncpg's command tag ("UPDATE 3", "INSERT 0 1") as a row count."""
    tail = status.rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else 0


class PgConn:
    """The few connection calls the store's parts make (execute, execute_fetchall, executemany), on asyncpg.

    The parts' SQL is portable between SQLite and PostgreSQL; only the placeholder spelling differs,
    and this adapter changes it, so each concern's SQL stays in one place beside its method.
    """

    def __init__(self, raw: asyncpg.Connection) -> None:
        self.raw = raw

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> Result:
        return Result(_count(await self.raw.execute(numbered(sql), *params)))

    async def fetch_tuples(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in await self.execute_fetchall(sql, params)]

    async def execute_fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[asyncpg.Record]:
        return await self.raw.fetch(numbered(sql), *params)

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        rows = list(rows)
        if rows:
            await self.raw.executemany(numbered(sql), rows)


Job = Callable[[PgConn], Awaitable[T]]


class _CommitUncertain(Exception):
    """The connection died while COMMIT was in flight: the batch may or may not have landed."""


class Database:
    """One PostgreSQL database: the pool, the writer task and its connection, the counters."""

    def __init__(
        self,
        url: str,
        *,
        pool: asyncpg.Pool,
        writer_conn: asyncpg.Connection | None,
        readonly: bool,
        clock: Callable[[], float],
        settings: dict[str, str],
        busy_deadline_s: float,
        connect_timeout_s: float,
        connect_deadline_s: float,
        max_batch: int,
    ) -> None:
        self.url = url
        self.path = redact(url)
        self.readonly = readonly
        self.clock = clock
        self.pool = pool
        self._writer_conn = writer_conn
        self._settings = settings
        self._busy_deadline_s = busy_deadline_s
        self._connect_timeout_s = connect_timeout_s
        self._connect_deadline_s = connect_deadline_s
        self._max_batch = max_batch
        self._queue: collections.deque[tuple[Job[Any], asyncio.Future[Any]] | None] = collections.deque()
        self._wake = asyncio.Event()
        self._inflight: set[asyncio.Task[Any]] = set()
        self._closed = False
        self.stats = StoreStats()
        self._writer = (
            None if readonly else asyncio.create_task(self._writer_loop(), name="songrec-pg-writer")
        )

    # ----------------------------------------------------------------------- lifecycle

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        readonly: bool = False,
        busy_timeout_s: float = 1.0,
        busy_deadline_s: float = 10.0,
        connect_timeout_s: float = 5.0,
        connect_deadline_s: float = 30.0,
        command_timeout_s: float = 60.0,
        pool_size: int = 10,
        migrations_dir: Traversable | Path | None = None,
        clock: Callable[[], float] = time.time,
        max_batch: int = 512,
    ) -> Database:
        """Connect (retrying while the server is down, up to connect_deadline_s), check or apply the
        migrations, and open the pool. See songrec.store.open.open_store for the options."""
        label = redact(url)
        settings = {
            "lock_timeout": f"{max(1, int(busy_timeout_s * 1000))}ms",
            # A client that hangs inside a transaction must not hold locks forever.
            "idle_in_transaction_session_timeout": "120s",
            "application_name": "songrec",
            "timezone": "UTC",
        }
        if readonly:
            settings["default_transaction_read_only"] = "on"
        migrations = migrations_module.discover(migrations_dir)
        conn = await connect(url, settings, connect_timeout_s, connect_deadline_s)
        try:
            await _prepare(conn, label, readonly, migrations)
            pool = await _retrying(
                label,
                connect_deadline_s,
                lambda: asyncpg.create_pool(
                    url,
                    min_size=1,
                    max_size=pool_size,
                    timeout=connect_timeout_s,
                    command_timeout=command_timeout_s,
                    server_settings=settings,
                ),
            )
        except BaseException:
            await _close_quietly(conn)
            raise
        writer_conn = None
        if readonly:
            await _close_quietly(conn)
        else:
            writer_conn = conn
        return cls(
            url,
            pool=pool,
            writer_conn=writer_conn,
            readonly=readonly,
            clock=clock,
            settings=settings,
            busy_deadline_s=busy_deadline_s,
            connect_timeout_s=connect_timeout_s,
            connect_deadline_s=connect_deadline_s,
            max_batch=max_batch,
        )

    async def close(self) -> None:
        """Finish every queued write, then close the connections. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        if self._writer is not None:
            self._queue.append(None)
            self._wake.set()
            await self._writer
        if self._inflight:
            await asyncio.gather(*self._inflight, return_exceptions=True)
        if self._writer_conn is not None:
            await _close_quietly(self._writer_conn)
            self._writer_conn = None
        try:
            await asyncio.wait_for(self.pool.close(), timeout=10)
        except (TimeoutError, *_LOST_TYPES):
            self.pool.terminate()

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosed(f"the store for {self.path} is closed; open a new one with open_store()")

    # ----------------------------------------------------------------------- writes

    async def write(self, job: Job[T]) -> T:
        """Queue a write job and wait until the transaction that ran it has committed."""
        self._check_open()
        if self._writer is None:
            raise StoreError(f"{self.path} was opened read-only; writes need a store opened without readonly")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.append((job, future))
        self._wake.set()
        with _driver_errors(self.path):
            return await future

    async def _writer_loop(self) -> None:
        await writer_loop(self._queue, self._wake, self._max_batch, self._run_batch)

    async def _run_batch(self, batch: list[tuple[Job[Any], asyncio.Future[Any]]]) -> None:
        busy = Backoff(self._busy_deadline_s)
        lost = Backoff(self._connect_deadline_s, first_s=0.05, cap_s=2.0)
        while True:
            try:
                conn = await self._writer_connection()
                results = await self._attempt(conn, batch)
            except asyncio.CancelledError:
                for _, future in batch:
                    future.cancel()
                raise
            except _CommitUncertain as exc:
                await self._drop_writer_connection()
                fail(
                    batch,
                    StoreError(
                        f"the connection to {self.path} was lost while committing; the change may or may "
                        "not have been saved (check, then repeat it if it is missing)"
                    ),
                )
                log.warning("connection lost during COMMIT on %s: %s", self.path, exc.__cause__)
                return
            except Exception as exc:
                if is_locked(exc):
                    await self._rollback_quietly()
                    self.stats.busy_retries += 1
                    if not await busy.sleep():
                        fail(batch, busy_error(self.path, busy, "write", exc))
                        return
                    continue
                if is_lost(exc):
                    await self._drop_writer_connection()
                    if not await lost.sleep():
                        fail(batch, lost_error(self.path, lost, "write", exc))
                        return
                    log.warning("lost the connection to %s (%s); reconnecting", self.path, exc)
                    continue
                await self._rollback_quietly()
                fail(batch, exc)
                return
            self.stats.write_batches += 1
            self.stats.write_jobs += len(batch)
            for (_, future), (ok, value) in zip(batch, results, strict=True):
                if future.done():
                    continue
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)
            return

    async def _attempt(
        self, raw: asyncpg.Connection, batch: list[tuple[Job[Any], asyncio.Future[Any]]]
    ) -> list[tuple[bool, Any]]:
        conn = PgConn(raw)
        await raw.execute("BEGIN; SAVEPOINT job")
        self.stats.transactions += 1
        results: list[tuple[bool, Any]] = []
        for index, (job, _) in enumerate(batch):
            if index:
                await raw.execute("RELEASE SAVEPOINT job; SAVEPOINT job")
            for attempt in range(_CONFLICT_RETRIES):
                try:
                    value = await job(conn)
                except Exception as exc:
                    if is_locked(exc) or is_lost(exc):
                        raise
                    await raw.execute("ROLLBACK TO SAVEPOINT job")
                    if is_conflict(exc) and attempt + 1 < _CONFLICT_RETRIES:
                        continue  # another process won a race for this row: run the job again
                    results.append((False, _as_store_error(exc, self.path)))
                    break
                else:
                    results.append((True, value))
                    break
        try:
            await raw.execute("COMMIT")
        except Exception as exc:
            if is_lost(exc):
                raise _CommitUncertain() from exc
            raise
        return results

    async def _writer_connection(self) -> asyncpg.Connection:
        if self._writer_conn is None or self._writer_conn.is_closed():
            self._writer_conn = await asyncpg.connect(
                self.url, timeout=self._connect_timeout_s, server_settings=self._settings
            )
        return self._writer_conn

    async def _drop_writer_connection(self) -> None:
        conn, self._writer_conn = self._writer_conn, None
        if conn is not None:
            conn.terminate()

    async def _rollback_quietly(self) -> None:
        conn = self._writer_conn
        if conn is None or conn.is_closed():
            return
        try:
            if conn.is_in_transaction():
                await conn.execute("ROLLBACK")
        except Exception:
            await self._drop_writer_connection()

    # ----------------------------------------------------------------------- reads

    async def read(self, job: Job[T], *, snapshot: bool = False) -> T:
        """Run a read job on a pooled connection; ``snapshot`` gives it one consistent view."""
        self._check_open()
        self.stats.reads += 1
        task = asyncio.ensure_future(self._read_inner(job, snapshot))
        self._inflight.add(task)
        task.add_done_callback(self._read_done)
        with _driver_errors(self.path):
            return await asyncio.shield(task)

    def _read_done(self, task: asyncio.Task[Any]) -> None:
        self._inflight.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved, so a read whose caller went away does not log "never retrieved"

    async def _read_inner(self, job: Job[T], snapshot: bool) -> T:
        busy: Backoff | None = None
        lost: Backoff | None = None
        while True:
            try:
                async with self.pool.acquire(timeout=self._connect_timeout_s) as raw:
                    if not snapshot:
                        return await job(PgConn(raw))
                    async with raw.transaction(isolation="repeatable_read", readonly=True):
                        return await job(PgConn(raw))
            except Exception as exc:
                if is_locked(exc):
                    busy = busy or Backoff(self._busy_deadline_s)
                    self.stats.busy_retries += 1
                    if not await busy.sleep():
                        raise busy_error(self.path, busy, "read", exc) from exc
                    continue
                if not is_lost(exc):
                    raise
                lost = lost or Backoff(self._connect_deadline_s, first_s=0.05, cap_s=2.0)
                if not await lost.sleep():
                    raise lost_error(self.path, lost, "read", exc) from exc


_LOST_TYPES = (asyncpg.exceptions.InterfaceError, OSError, asyncpg.exceptions.PostgresConnectionError)


async def connect(
    url: str, settings: dict[str, str], timeout_s: float, deadline_s: float
) -> asyncpg.Connection:
    """One connection, retried with backoff while the server is down or starting (up to deadline_s)."""
    return await _retrying(
        redact(url), deadline_s, lambda: asyncpg.connect(url, timeout=timeout_s, server_settings=settings)
    )


async def _retrying(label: str, deadline_s: float, attempt: Callable[[], Awaitable[T]]) -> T:
    backoff = Backoff(deadline_s, first_s=0.1, cap_s=2.0)
    warned = False
    while True:
        try:
            return await attempt()
        except _FATAL_CONNECT as exc:
            raise StoreError(
                f"cannot open the PostgreSQL database {label}: {exc}; check SONGREC_DATABASE_URL "
                "(user, password, host, port and database name)"
            ) from exc
        except Exception as exc:
            if not is_lost(exc):
                raise StoreError(f"cannot open the PostgreSQL database {label}: {exc}") from exc
            if not warned:
                log.warning(
                    "the PostgreSQL server for %s is not reachable (%s); retrying for up to %.0fs",
                    label,
                    exc,
                    deadline_s,
                )
                warned = True
            if not await backoff.sleep():
                raise unreachable_error(label, backoff, exc) from exc


async def _prepare(
    conn: asyncpg.Connection, label: str, readonly: bool, migrations: list[migrations_module.Migration]
) -> None:
    """The version check and (read-write only) the migrations."""
    try:
        version = await migrations_module.schema_version(conn)
        latest = migrations[-1].version
        if version > latest:  # before touching anything
            raise DatabaseTooNew(label, version, latest)
        if readonly:
            if version < latest:
                raise DatabaseTooOld(label, version, latest)
        else:
            await migrations_module.migrate(conn, label, migrations)
    except asyncpg.PostgresError as exc:
        raise StoreError(f"cannot open the PostgreSQL database {label}: {exc}") from exc


async def _close_quietly(conn: asyncpg.Connection) -> None:
    try:
        await asyncio.wait_for(conn.close(), timeout=5)
    except Exception:
        conn.terminate()


def _as_store_error(exc: BaseException, label: str) -> BaseException:
    """A PostgreSQL error the job did not expect becomes a StoreError; songrec's own errors pass."""
    if isinstance(exc, asyncpg.PostgresError):
        error = StoreError(f"the database {label} refused a write: {exc}")
        error.__cause__ = exc
        return error
    return exc


@contextlib.contextmanager
def _driver_errors(label: str) -> Iterator[None]:
    """Callers see songrec's errors only: a driver failure the store did not expect is a StoreError."""
    try:
        yield
    except (asyncpg.PostgresError, asyncpg.exceptions.InterfaceError) as exc:
        raise StoreError(f"the database {label} failed: {exc}") from exc
