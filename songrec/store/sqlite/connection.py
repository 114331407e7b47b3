"""The SQLite connection and its one writer: group commit, BEGIN IMMEDIATE with backoff, shielded reads.

Design, in short:

* Two aiosqlite connections to a file: the writer's, and one for reads (query_only), each behind an
  asyncio.Lock, so a coroutine never sees another coroutine's half-finished transaction. WAL lets the
  reads go on while a commit waits for its fsync; they see every write committed before they start
  (read-your-writes holds: a write's await returns after its COMMIT). An in-memory or read-only
  database has the one connection, for both.
* Writes are queued and run by one writer task, which takes everything queued so far and runs it in
  a single transaction (each job inside its own SAVEPOINT, so one bad job fails alone) and commits
  once: group commit. With synchronous=FULL every commit is an fsync, so batching is what lets
  hundreds of concurrent writers go fast without giving up durability. A caller's await returns
  only after the COMMIT that holds its write has returned.
* WAL checkpoints run beside the commits, on a connection of their own (checkpoints.py): a commit
  never stops to copy the WAL into the file, unless that falls far behind.
* Transactions start with BEGIN IMMEDIATE. If another process holds the write lock we back off
  (releasing our lock so reads go on) and retry until a deadline, then raise StoreBusy.
* Callers that are cancelled cannot tear a transaction in half: the writer is its own task, and
  reads run in shielded tasks.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterator
from importlib.abc import Traversable
from pathlib import Path
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import aiosqlite

from songrec.domain import DatabaseTooNew, DatabaseTooOld, NotFound, StoreClosed, StoreError
from songrec.store.contract import StoreStats
from songrec.store.group_commit import fail, writer_loop
from songrec.store.sqlite import checkpoints
from songrec.store.sqlite import migrations as migrations_module
from songrec.store.sqlite._driver import Backoff, is_busy, rollback_quietly, when_free
from songrec.store.sqlite.checkpoints import Checkpointer
from songrec.store.sqlite.rows import Conn, one

T = TypeVar("T")
Job = Callable[[Conn], Awaitable[T]]
_HINT = "check that SONGREC_DB (or SONGREC_HOME) names a writable songrec database file"


class InThread(Generic[T]):
    """A write job that awaits nothing but its connection's statements, run whole on SQLite's thread.

    Every statement of an ordinary job is one hop to aiosqlite's thread and back through the event
    loop (~0.1 ms each on a busy machine), so at a few hundred concurrent votes those hops, not the
    fsync, bounded group commit. A batch made only of these runs BEGIN, every job and COMMIT in one
    hop: the job's coroutine is driven there against the plain sqlite3 connection (_ThreadConn), and
    completes without ever suspending. Given any other connection (Postgres' adapter, which shares the
    SQLite parts) it is awaited as the ordinary job it is.
    """

    def __init__(self, job: Job[T]) -> None:
        self.job = job

    async def __call__(self, conn: Conn) -> T:
        if not isinstance(conn, aiosqlite.Connection):
            return await self.job(conn)
        return await conn._execute(_drive, self.job, conn._conn)  # noqa: SLF001 - its own thread and connection


class _ThreadConn:
    """The part of aiosqlite.Connection a statement-only job uses, on the sqlite3 connection itself."""

    def __init__(self, raw: sqlite3.Connection) -> None:
        self._raw = raw

    async def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        return self._raw.execute(sql, params)

    async def execute_fetchall(self, sql: str, params: Any = ()) -> list[sqlite3.Row]:
        return self._raw.execute(sql, params).fetchall()

    async def fetch_tuples(self, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
        cursor = self._raw.execute(sql, params)
        cursor.row_factory = None  # plain tuples: a Row per result costs more than the query
        return cursor.fetchall()


def _drive(job: Job[T], raw: sqlite3.Connection) -> T:
    """Run a statement-only job's coroutine to its end on this thread (it must never suspend)."""
    coro = job(_ThreadConn(raw))  # type: ignore[arg-type]
    try:
        coro.send(None)  # type: ignore[attr-defined]
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coro.close()  # type: ignore[attr-defined]
    raise RuntimeError("an InThread job awaited something other than its connection's statements")


class Database:
    """One SQLite file: the shared connection, the writer task and the counters. Open with ``open``."""

    def __init__(
        self,
        conn: Conn,
        path: str,
        *,
        readonly: bool,
        clock: Callable[[], float],
        busy_deadline_s: float,
        max_batch: int,
        reader: Conn | None = None,
        checkpointer: Checkpointer | None = None,
    ) -> None:
        self.conn = conn  # only the parts (and sqlite-only tests) touch it, always through read/write
        self.reader = conn if reader is None else reader  # what reads run on
        self.path = path
        self.readonly = readonly
        self.clock = clock
        self._busy_deadline_s = busy_deadline_s
        self._max_batch = max_batch
        self._lock = asyncio.Lock()
        self._read_lock = self._lock if reader is None else asyncio.Lock()
        self.checkpointer = checkpointer  # a file's WAL checkpoints, off the commit path
        self._queue: collections.deque[tuple[Job[Any], asyncio.Future[Any]] | None] = collections.deque()
        self._wake = asyncio.Event()
        self._inflight: set[asyncio.Task[Any]] = set()
        self._closed = False
        self.stats = StoreStats()
        self._writer = (
            None if readonly else asyncio.create_task(self._writer_loop(), name="songrec-store-writer")
        )

    # ----------------------------------------------------------------------- lifecycle

    @classmethod
    async def open(
        cls,
        path: str | os.PathLike[str],
        *,
        readonly: bool = False,
        busy_timeout_s: float = 0.1,
        busy_deadline_s: float = 10.0,
        migrations_dir: Traversable | Path | None = None,
        clock: Callable[[], float] = time.time,
        max_batch: int = 512,
        checkpoint_interval_s: float = checkpoints.INTERVAL_S,
    ) -> Database:
        """Open (creating if needed) the database and apply pending migrations (see Store.open)."""
        label = os.fspath(path)
        memory = label == ":memory:"
        try:
            if readonly:
                if memory or not Path(label).exists():
                    raise NotFound(f"cannot open {label} read-only: the database file does not exist")
                conn = await aiosqlite.connect(
                    f"file:{quote(str(Path(label).resolve()))}?mode=ro", uri=True, isolation_level=None
                )
            else:
                if not memory:
                    Path(label).parent.mkdir(parents=True, exist_ok=True)
                conn = await aiosqlite.connect(label, isolation_level=None)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open the database {label}: {exc}; {_HINT}") from exc
        try:
            await _prepare(conn, label, memory, readonly, busy_timeout_s, busy_deadline_s, migrations_dir)
        except sqlite3.Error as exc:
            await conn.close()
            raise StoreError(f"cannot open the database {label}: {exc}; {_HINT}") from exc
        except BaseException:
            await conn.close()
            raise
        reader = checkpointer = None
        if not readonly and not memory:
            try:
                reader = await _open_reader(label, busy_timeout_s)
                checkpointer = await checkpoints.Checkpointer.start(label, checkpoint_interval_s)
                await conn.execute(f"PRAGMA wal_autocheckpoint = {checkpoints.BACKSTOP_PAGES:d}")
            except (sqlite3.Error, OSError) as exc:
                for other in (reader, checkpointer):
                    if other is not None:
                        await other.close()
                await conn.close()
                raise StoreError(f"cannot open the database {label}: {exc}; {_HINT}") from exc
        return cls(
            conn,
            label,
            readonly=readonly,
            clock=clock,
            busy_deadline_s=busy_deadline_s,
            max_batch=max_batch,
            reader=reader,
            checkpointer=checkpointer,
        )

    async def close(self) -> None:
        """Finish every queued write, then close the connection. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        if self._writer is not None:
            self._queue.append(None)
            self._wake.set()
            await self._writer
        if self._inflight:
            await asyncio.gather(*self._inflight, return_exceptions=True)
        if self.checkpointer is not None:
            await self.checkpointer.close()
        if self.reader is not self.conn:
            await self.reader.close()
        await self.conn.close()  # the last connection: SQLite checkpoints what is left

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosed(f"the store for {self.path} is closed; open a new one with Store.open()")

    # ----------------------------------------------------------------------- writes

    async def write(self, job: Job[T]) -> T:
        """Queue a write job and wait until the transaction that ran it has committed."""
        self._check_open()
        if self._writer is None:
            raise StoreError(
                f"{self.path} was opened read-only; writes need Store.open(path) without readonly"
            )
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.append((job, future))
        self._wake.set()
        with _driver_errors(self.path):
            return await future

    async def _writer_loop(self) -> None:
        await writer_loop(self._queue, self._wake, self._max_batch, self._run_batch)

    async def _run_batch(self, batch: list[tuple[Job[Any], asyncio.Future[Any]]]) -> None:
        backoff = Backoff(self._busy_deadline_s, "write")
        while True:
            busy: BaseException | None = None
            async with self._lock:
                try:
                    results = await self._attempt(batch)
                except asyncio.CancelledError:
                    await rollback_quietly(self.conn)
                    for _, future in batch:
                        future.cancel()
                    raise
                except Exception as exc:
                    await rollback_quietly(self.conn)
                    if not is_busy(exc):
                        fail(batch, exc)
                        return
                    busy = exc
                else:
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
            self.stats.busy_retries += 1
            try:
                await backoff.wait(busy)  # outside the lock: reads keep going while we wait
            except StoreError as exc:
                fail(batch, exc)
                return
            except asyncio.CancelledError:
                for _, future in batch:
                    future.cancel()
                raise

    async def _attempt(self, batch: list[tuple[Job[Any], asyncio.Future[Any]]]) -> list[tuple[bool, Any]]:
        conn = self.conn
        await rollback_quietly(conn)  # defensive: never start inside a leftover transaction
        if all(isinstance(job, InThread) for job, _ in batch):
            self.stats.transactions += 1
            jobs = [job.job for job, _ in batch]  # type: ignore[attr-defined]
            return await conn._execute(_run_in_thread, conn._conn, jobs)  # noqa: SLF001
        await conn.execute("BEGIN IMMEDIATE")
        self.stats.transactions += 1
        results: list[tuple[bool, Any]] = []
        if len(batch) == 1:
            results.append((True, await batch[0][0](conn)))
        else:
            for job, _ in batch:
                await conn.execute("SAVEPOINT job")
                try:
                    value = await job(conn)
                except Exception as exc:
                    if is_busy(exc):
                        raise
                    await conn.execute("ROLLBACK TO job")
                    await conn.execute("RELEASE job")
                    results.append((False, exc))
                else:
                    await conn.execute("RELEASE job")
                    results.append((True, value))
        await conn.execute("COMMIT")
        return results

    # ----------------------------------------------------------------------- reads

    async def read(self, job: Job[T], *, snapshot: bool = False) -> T:
        """Run a read job; ``snapshot`` wraps it in one read transaction for a consistent view."""
        self._check_open()
        self.stats.reads += 1
        task = asyncio.ensure_future(self._read_inner(job, snapshot))
        self._inflight.add(task)
        task.add_done_callback(self._read_done)
        # Shielded: a cancelled caller must not leave a read transaction open on the shared connection.
        with _driver_errors(self.path):
            return await asyncio.shield(task)

    def _read_done(self, task: asyncio.Task[Any]) -> None:
        self._inflight.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved, so a read whose caller went away does not log "never retrieved"

    async def _read_inner(self, job: Job[T], snapshot: bool) -> T:
        backoff: Backoff | None = None
        conn = self.reader
        while True:
            async with self._read_lock:
                try:
                    if not snapshot:
                        return await job(conn)
                    await conn.execute("BEGIN")
                    try:
                        return await job(conn)
                    finally:
                        await rollback_quietly(conn)
                except sqlite3.OperationalError as exc:
                    if not is_busy(exc):
                        raise
                    busy = exc
            backoff = backoff or Backoff(self._busy_deadline_s, "read")
            self.stats.busy_retries += 1
            await backoff.wait(busy)


def _run_in_thread(conn: sqlite3.Connection, jobs: list[Job[Any]]) -> list[tuple[bool, Any]]:
    """Database._attempt for a batch of InThread jobs, on SQLite's thread: the same transaction."""
    conn.execute("BEGIN IMMEDIATE")
    results: list[tuple[bool, Any]] = []
    if len(jobs) == 1:
        results.append((True, _drive(jobs[0], conn)))
    else:
        for job in jobs:
            conn.execute("SAVEPOINT job")
            try:
                value = _drive(job, conn)
            except Exception as exc:
                if is_busy(exc):
                    raise
                conn.execute("ROLLBACK TO job")
                conn.execute("RELEASE job")
                results.append((False, exc))
            else:
                conn.execute("RELEASE job")
                results.append((True, value))
    conn.execute("COMMIT")
    return results


@contextlib.contextmanager
def _driver_errors(path: str) -> Iterator[None]:
    """Callers see songrec's errors only: a SQLite failure the store did not expect is a StoreError."""
    try:
        yield
    except sqlite3.Error as exc:
        raise StoreError(f"the database {path} failed: {exc}") from exc


async def _prepare(
    conn: Conn,
    label: str,
    memory: bool,
    readonly: bool,
    busy_timeout_s: float,
    busy_deadline_s: float,
    migrations_dir: Traversable | Path | None,
) -> None:
    """Connection pragmas, the version check and (read-write only) the migrations."""
    await _session_pragmas(conn, busy_timeout_s)
    migrations = migrations_module.discover(migrations_dir)
    # Another opener may hold the file's lock a while (switching it to WAL, migrating): wait it out.
    backoff = Backoff(busy_deadline_s, "read the schema version")
    version = await when_free(lambda: migrations_module.schema_version(conn), backoff)
    latest = migrations[-1].version
    if version > latest:  # before touching anything, not even the journal mode
        raise DatabaseTooNew(label, version, latest)
    if readonly:
        if version < latest:
            raise DatabaseTooOld(label, version, latest)
    else:
        await _configure(conn, label, memory, busy_deadline_s)
        await migrations_module.migrate(conn, label, migrations, busy_deadline_s)


async def _session_pragmas(conn: Conn, busy_timeout_s: float) -> None:
    """What every connection to the file sets for itself: rows by name, the lock wait, foreign keys."""
    conn.row_factory = sqlite3.Row
    await conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000):d}")
    await conn.execute("PRAGMA foreign_keys = ON")


async def _open_reader(label: str, busy_timeout_s: float) -> Conn:
    """The reads' connection to a file already prepared (WAL, migrated): it can only read."""
    reader = await aiosqlite.connect(label, isolation_level=None)
    try:
        await _session_pragmas(reader, busy_timeout_s)
        await reader.execute("PRAGMA query_only = ON")
    except BaseException:
        await reader.close()
        raise
    return reader


async def _configure(conn: Conn, label: str, memory: bool, busy_deadline_s: float) -> None:
    row = await when_free(
        lambda: one(conn, "PRAGMA journal_mode = WAL"), Backoff(busy_deadline_s, "switch to WAL")
    )
    mode = str(row[0]).lower() if row else "?"
    if mode != "wal" and not memory:
        raise StoreError(
            f"{label}: could not switch to WAL journal mode (got {mode!r}); is it on a network drive?"
        )
    # Durability: in WAL mode synchronous=NORMAL only fsyncs at checkpoints, so a commit we have
    # already acknowledged (say, a user's like) can vanish on power loss or an OS crash. FULL fsyncs
    # the WAL on every commit; the writer's group commit keeps that affordable.
    await conn.execute("PRAGMA synchronous = FULL")
    # forget_user must erase, not just unlink: overwrite freed content with zeros.
    await conn.execute("PRAGMA secure_delete = ON")
