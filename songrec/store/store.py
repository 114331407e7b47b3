"""The Store: the only place in songrec that speaks SQL.

Design, in short:

* One aiosqlite connection. Every use of it goes through an asyncio.Lock, so a coroutine never sees
  another coroutine's half-finished transaction.
* Writes are queued and run by one writer task, which takes everything queued so far and runs it in
  a single transaction (each job inside its own SAVEPOINT, so one bad job fails alone) and commits
  once: group commit. With synchronous=FULL every commit is an fsync, so batching is what lets
  hundreds of concurrent writers go fast without giving up durability. A caller's await returns
  only after the COMMIT that holds its write has returned.
* Transactions start with BEGIN IMMEDIATE. If another process holds the write lock we back off
  (releasing our lock so reads go on) and retry until a deadline, then raise StoreBusy.
* Callers that are cancelled cannot tear a transaction in half: the writer is its own task, and
  reads run in shielded tasks.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib.abc import Traversable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import aiosqlite

from songrec.store import _validate as v
from songrec.store import migrations as migrations_module
from songrec.store._sqlite import Backoff, dumps, is_busy, loads, rollback_quietly
from songrec.store.errors import (
    DatabaseTooNew,
    DatabaseTooOld,
    InvalidInput,
    NotFound,
    SessionAlreadyActive,
    StoreClosed,
    StoreError,
)
from songrec.store.records import (
    FEEDBACK_SOURCES,
    SESSION_STRATEGIES,
    SUGGESTION_KINDS,
    TRAINING_STATUSES,
    FeedbackRecord,
    GuildSettings,
    HistoryEntry,
    NewSuggestion,
    SessionMemberRecord,
    SessionRecord,
    SessionTrackRecord,
    SuggestionRecord,
    TrainingRunRecord,
    UserRecord,
)

T = TypeVar("T")
Conn = aiosqlite.Connection
Job = Callable[[Conn], Awaitable[T]]


@dataclass
class StoreStats:
    """Counters for tests, benchmarks and /stats."""

    write_jobs: int = 0
    write_batches: int = 0
    busy_retries: int = 0


# --------------------------------------------------------------------------- row mapping


@cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def _build(cls: type[T], row: sqlite3.Row, **overrides: Any) -> T:
    """Map a row onto a record by column name, so new columns added by later migrations do no harm."""
    return cls(**{name: overrides[name] if name in overrides else row[name] for name in _field_names(cls)})


def _feedback(row: sqlite3.Row) -> FeedbackRecord:
    return _build(FeedbackRecord, row)


def _suggestion(row: sqlite3.Row) -> SuggestionRecord:
    return _build(SuggestionRecord, row, score_parts=loads(row["score_parts"]))


def _session(row: sqlite3.Row) -> SessionRecord:
    return _build(SessionRecord, row)


def _member(row: sqlite3.Row) -> SessionMemberRecord:
    return _build(SessionMemberRecord, row)


def _session_track(row: sqlite3.Row) -> SessionTrackRecord:
    return _build(SessionTrackRecord, row)


def _training_run(row: sqlite3.Row) -> TrainingRunRecord:
    return _build(TrainingRunRecord, row, metrics=loads(row["metrics"]), promoted=bool(row["promoted"]))


async def _one(conn: Conn, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
    rows = list(await conn.execute_fetchall(sql, params))
    return rows[0] if rows else None


async def _all(conn: Conn, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
    return list(await conn.execute_fetchall(sql, params))


async def _ensure_user(conn: Conn, user_id: int, now: float) -> None:
    await conn.execute(
        "INSERT INTO users (user_id, created_at) VALUES (?, ?) ON CONFLICT (user_id) DO NOTHING",
        (user_id, now),
    )


# --------------------------------------------------------------------------- the store


class Store:
    """Async, typed access to songrec's SQLite database. Open with ``await Store.open(path)``."""

    def __init__(
        self,
        conn: Conn,
        path: str,
        *,
        readonly: bool,
        clock: Callable[[], float],
        busy_deadline_s: float,
        max_batch: int,
    ) -> None:
        self._conn = conn
        self.path = path
        self.readonly = readonly
        self._clock = clock
        self._busy_deadline_s = busy_deadline_s
        self._max_batch = max_batch
        self._lock = asyncio.Lock()
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
    ) -> Store:
        """Open (creating if needed) the database and apply pending migrations.

        ``busy_timeout_s`` is how long SQLite itself waits for a lock per attempt (it blocks our one
        connection thread, so keep it short); ``busy_deadline_s`` is how long we keep retrying, with
        backoff, before raising StoreBusy. ``readonly`` opens without migrating (for a training job
        reading the bot's live database) and refuses a database whose schema is not current.
        """
        label = os.fspath(path)
        memory = label == ":memory:"
        hint = "check that SONGREC_DB (or SONGREC_HOME) names a writable songrec database file"
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
            raise StoreError(f"cannot open the database {label}: {exc}; {hint}") from exc
        try:
            await cls._prepare(conn, label, memory, readonly, busy_timeout_s, busy_deadline_s, migrations_dir)
        except sqlite3.Error as exc:
            await conn.close()
            raise StoreError(f"cannot open the database {label}: {exc}; {hint}") from exc
        except BaseException:
            await conn.close()
            raise
        return cls(
            conn, label, readonly=readonly, clock=clock, busy_deadline_s=busy_deadline_s, max_batch=max_batch
        )

    @classmethod
    async def _prepare(
        cls,
        conn: Conn,
        label: str,
        memory: bool,
        readonly: bool,
        busy_timeout_s: float,
        busy_deadline_s: float,
        migrations_dir: Traversable | Path | None,
    ) -> None:
        """Connection pragmas, the version check and (read-write only) the migrations."""
        conn.row_factory = sqlite3.Row
        await conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000):d}")
        await conn.execute("PRAGMA foreign_keys = ON")
        migrations = migrations_module.discover(migrations_dir)
        version = await migrations_module.schema_version(conn)
        latest = migrations[-1].version
        if version > latest:  # before touching anything, not even the journal mode
            raise DatabaseTooNew(label, version, latest)
        if readonly:
            if version < latest:
                raise DatabaseTooOld(label, version, latest)
        else:
            await cls._configure(conn, label, memory, busy_deadline_s)
            await migrations_module.migrate(conn, label, migrations, busy_deadline_s)

    @staticmethod
    async def _configure(conn: Conn, label: str, memory: bool, busy_deadline_s: float) -> None:
        backoff = Backoff(busy_deadline_s, "switch to WAL")
        while True:
            try:
                row = await _one(conn, "PRAGMA journal_mode = WAL")
                break
            except sqlite3.OperationalError as exc:
                if not is_busy(exc):
                    raise
                await backoff.wait(exc)
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
        await self._conn.close()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosed(f"the store for {self.path} is closed; open a new one with Store.open()")

    # ----------------------------------------------------------------------- plumbing

    async def _write(self, job: Job[T]) -> T:
        """Queue a write job and wait until the transaction that ran it has committed."""
        self._check_open()
        if self._writer is None:
            raise StoreError(
                f"{self.path} was opened read-only; writes need Store.open(path) without readonly"
            )
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.append((job, future))
        self._wake.set()
        return await future

    async def _writer_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                batch: list[tuple[Job[Any], asyncio.Future[Any]]] = []
                stop = False
                while self._queue and len(batch) < self._max_batch:
                    item = self._queue.popleft()
                    if item is None:
                        stop = True
                        break
                    if not item[1].done():  # the caller gave up before we started: skip
                        batch.append(item)
                if batch:
                    try:
                        await self._run_batch(batch)
                    except Exception as exc:  # never let the writer die: fail this batch, keep serving
                        for _, future in batch:
                            if not future.done():
                                future.set_exception(exc)
                if stop:
                    return

    async def _run_batch(self, batch: list[tuple[Job[Any], asyncio.Future[Any]]]) -> None:
        backoff = Backoff(self._busy_deadline_s, "write")
        while True:
            busy: BaseException | None = None
            async with self._lock:
                try:
                    results = await self._attempt(batch)
                except asyncio.CancelledError:
                    await rollback_quietly(self._conn)
                    for _, future in batch:
                        future.cancel()
                    raise
                except Exception as exc:
                    await rollback_quietly(self._conn)
                    if not is_busy(exc):
                        for _, future in batch:
                            if not future.done():
                                future.set_exception(exc)
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
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                return
            except asyncio.CancelledError:
                for _, future in batch:
                    future.cancel()
                raise

    async def _attempt(self, batch: list[tuple[Job[Any], asyncio.Future[Any]]]) -> list[tuple[bool, Any]]:
        conn = self._conn
        await rollback_quietly(conn)  # defensive: never start inside a leftover transaction
        await conn.execute("BEGIN IMMEDIATE")
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

    async def _read(self, job: Job[T], *, snapshot: bool = False) -> T:
        """Run a read job; ``snapshot`` wraps it in one read transaction for a consistent view."""
        self._check_open()
        task = asyncio.ensure_future(self._read_inner(job, snapshot))
        self._inflight.add(task)
        task.add_done_callback(self._read_done)
        # Shielded: a cancelled caller must not leave a read transaction open on the shared connection.
        return await asyncio.shield(task)

    def _read_done(self, task: asyncio.Task[Any]) -> None:
        self._inflight.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved, so a read whose caller went away does not log "never retrieved"

    async def _read_inner(self, job: Job[T], snapshot: bool) -> T:
        backoff: Backoff | None = None
        while True:
            async with self._lock:
                try:
                    if not snapshot:
                        return await job(self._conn)
                    await self._conn.execute("BEGIN")
                    try:
                        return await job(self._conn)
                    finally:
                        await rollback_quietly(self._conn)
                except sqlite3.OperationalError as exc:
                    if not is_busy(exc):
                        raise
                    busy = exc
            backoff = backoff or Backoff(self._busy_deadline_s, "read")
            self.stats.busy_retries += 1
            await backoff.wait(busy)

    # ----------------------------------------------------------------------- users

    async def ensure_user(self, user_id: int) -> UserRecord:
        """Create the user row if needed (first contact); returns it."""
        uid = v.snowflake(user_id, "user_id")
        known = await self.get_user(uid)
        if known is not None:  # the common case costs a read, not a commit (an fsync)
            return known

        async def job(conn: Conn) -> UserRecord:
            await _ensure_user(conn, uid, self._clock())
            row = await _one(conn, "SELECT * FROM users WHERE user_id = ?", (uid,))
            assert row is not None
            return _build(UserRecord, row, settings=loads(row["settings"]))

        return await self._write(job)

    async def get_user(self, user_id: int) -> UserRecord | None:
        uid = v.snowflake(user_id, "user_id")
        row = await self._read(lambda c: _one(c, "SELECT * FROM users WHERE user_id = ?", (uid,)))
        return None if row is None else _build(UserRecord, row, settings=loads(row["settings"]))

    async def get_user_settings(self, user_id: int) -> dict[str, Any]:
        """The user's settings dict ({} for a user we have never seen)."""
        user = await self.get_user(user_id)
        return {} if user is None else user.settings

    async def set_user_settings(
        self, user_id: int, settings: dict[str, Any], *, replace: bool = False
    ) -> dict[str, Any]:
        """Merge ``settings`` into the user's settings (or replace them all); returns the result."""
        uid = v.snowflake(user_id, "user_id")
        v.json_object(settings, "settings")

        async def job(conn: Conn) -> dict[str, Any]:
            await _ensure_user(conn, uid, self._clock())
            row = await _one(conn, "SELECT settings FROM users WHERE user_id = ?", (uid,))
            merged = dict(settings) if replace or row is None else {**loads(row["settings"]), **settings}
            await conn.execute(
                "UPDATE users SET settings = ? WHERE user_id = ?", (dumps(merged, "settings"), uid)
            )
            return merged

        return await self._write(job)

    # ----------------------------------------------------------------------- feedback

    async def add_feedback(
        self,
        user_id: int,
        track_id: str,
        value: int,
        source: str,
        guild_id: int | None = None,
        channel_id: int | None = None,
        suggestion_id: int | None = None,
    ) -> FeedbackRecord:
        """Record a like (+1) or dislike (-1).

        One live vote per (user, track): repeating the same vote returns the existing record and
        writes nothing; the opposite vote tombstones the old one (undone_at, replaced_by) and becomes
        the live one.
        """
        uid = v.snowflake(user_id, "user_id")
        track = v.track(track_id)
        vote = v.vote(value)
        src = v.choice(source, FEEDBACK_SOURCES, "feedback source")
        gid = v.opt_snowflake(guild_id, "guild_id")
        cid = v.opt_snowflake(channel_id, "channel_id")
        sid = None if suggestion_id is None else v.row_id(suggestion_id, "suggestion_id")

        async def job(conn: Conn) -> FeedbackRecord:
            now = self._clock()
            if sid is not None:
                row = await _one(conn, "SELECT track_id FROM suggestions WHERE id = ?", (sid,))
                if row is None:
                    raise NotFound(f"suggestion {sid} does not exist (was it forgotten?)")
                if row["track_id"] != track:
                    raise InvalidInput(f"suggestion {sid} is for track {row['track_id']}, not {track}")
            await _ensure_user(conn, uid, now)
            live = await _one(
                conn,
                "SELECT * FROM feedback WHERE user_id = ? AND track_id = ? AND undone_at IS NULL",
                (uid, track),
            )
            if live is not None and live["value"] == vote:
                return _feedback(live)
            if live is not None:
                await conn.execute("UPDATE feedback SET undone_at = ? WHERE id = ?", (now, live["id"]))
            new = await _one(
                conn,
                "INSERT INTO feedback (user_id, track_id, value, source, guild_id, channel_id, suggestion_id, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
                (uid, track, vote, src, gid, cid, sid, now),
            )
            assert new is not None
            if live is not None:
                await conn.execute(
                    "UPDATE feedback SET replaced_by = ? WHERE id = ?", (new["id"], live["id"])
                )
            return _feedback(new)

        return await self._write(job)

    async def add_feedback_bulk(
        self, rows: Iterable[tuple[int, str, int, float]], source: str = "command"
    ) -> int:
        """Insert many (user_id, track_id, value, created_at) votes in one transaction: for benchmarks and
        imports, not the bot. Unlike add_feedback it does not tombstone earlier votes: give each
        (user, track) once. Returns how many rows were written."""
        src = v.choice(source, FEEDBACK_SOURCES, "feedback source")
        checked = [
            (v.snowflake(u, "user_id"), v.track(t), v.vote(value), src, v.finite_or_none(ts, "created_at"))
            for u, t, value, ts in rows
        ]

        async def job(conn: Conn) -> int:
            now = self._clock()
            users = sorted({r[0] for r in checked})
            await conn.executemany(
                "INSERT INTO users (user_id, created_at) VALUES (?, ?) ON CONFLICT (user_id) DO NOTHING",
                [(u, now) for u in users],
            )
            await conn.executemany(
                "INSERT INTO feedback (user_id, track_id, value, source, created_at) VALUES (?, ?, ?, ?, ?)",
                [(u, t, val, s, ts if ts is not None else now) for u, t, val, s, ts in checked],
            )
            return len(checked)

        return await self._write(job)

    async def undo_feedback(
        self, user_id: int, track_id: str | None = None, suggestion_id: int | None = None
    ) -> FeedbackRecord | None:
        """Tombstone the user's live vote on a track (given directly or via a suggestion), or their latest
        vote when neither is given. Returns the undone record, or None if there was nothing to undo."""
        uid = v.snowflake(user_id, "user_id")
        track = None if track_id is None else v.track(track_id)
        sid = None if suggestion_id is None else v.row_id(suggestion_id, "suggestion_id")

        async def job(conn: Conn) -> FeedbackRecord | None:
            target = track
            if sid is not None:
                row = await _one(conn, "SELECT track_id FROM suggestions WHERE id = ?", (sid,))
                if row is None:
                    return None
                if target is not None and row["track_id"] != target:
                    raise InvalidInput(f"suggestion {sid} is for track {row['track_id']}, not {target}")
                target = row["track_id"]
            if target is None:
                live = await _one(
                    conn,
                    "SELECT id FROM feedback WHERE user_id = ? AND undone_at IS NULL ORDER BY id DESC LIMIT 1",
                    (uid,),
                )
            else:
                live = await _one(
                    conn,
                    "SELECT id FROM feedback WHERE user_id = ? AND track_id = ? AND undone_at IS NULL",
                    (uid, target),
                )
            if live is None:
                return None
            row = await _one(
                conn,
                "UPDATE feedback SET undone_at = ? WHERE id = ? RETURNING *",
                (self._clock(), live["id"]),
            )
            return None if row is None else _feedback(row)

        return await self._write(job)

    async def live_feedback(self, user_id: int, track_id: str) -> FeedbackRecord | None:
        uid, track = v.snowflake(user_id, "user_id"), v.track(track_id)
        row = await self._read(
            lambda c: _one(
                c,
                "SELECT * FROM feedback WHERE user_id = ? AND track_id = ? AND undone_at IS NULL",
                (uid, track),
            )
        )
        return None if row is None else _feedback(row)

    async def feedback_for_user(self, user_id: int) -> list[FeedbackRecord]:
        """The user's live votes, oldest first."""
        uid = v.snowflake(user_id, "user_id")
        rows = await self._read(
            lambda c: _all(
                c, "SELECT * FROM feedback WHERE user_id = ? AND undone_at IS NULL ORDER BY id", (uid,)
            )
        )
        return [_feedback(r) for r in rows]

    async def all_feedback(self, since_id: int = 0, *, include_undone: bool = False) -> list[FeedbackRecord]:
        """Every vote with id > since_id, by id; live only unless include_undone.

        For incremental training note that an undo or a replacement changes rows *older* than
        since_id (their undone_at): pass include_undone=True and since_id=0 for a full rebuild.
        """
        return [r async for r in self.iter_feedback(since_id, include_undone=include_undone)]

    async def iter_feedback(
        self, since_id: int = 0, *, include_undone: bool = False, batch_size: int = 5000
    ) -> AsyncIterator[FeedbackRecord]:
        """Stream votes by id in pages (keyset pagination), so a big table never sits in memory at once."""
        since_id = v.non_negative(since_id, "since_id")
        size = v.positive_limit(batch_size, "batch_size")
        where = "" if include_undone else " AND undone_at IS NULL"
        cursor = since_id
        while True:
            rows = await self._read(
                lambda c, after=cursor: _all(
                    c, f"SELECT * FROM feedback WHERE id > ?{where} ORDER BY id LIMIT ?", (after, size)
                )
            )
            for row in rows:
                yield _feedback(row)
            if len(rows) < size:
                return
            cursor = rows[-1]["id"]

    async def feedback_count_since(self, since_id: int = 0, *, since_ts: float | None = None) -> int:
        """How many votes were recorded after ``since_id`` (and at or after ``since_ts`` if given), live
        or since undone: each is a change the last trained model has not seen."""
        since_id = v.non_negative(since_id, "since_id")
        ts = v.finite_or_none(since_ts, "since_ts")
        sql, params = "SELECT count(*) FROM feedback WHERE id > ?", [since_id]
        if ts is not None:
            sql += " AND created_at >= ?"
            params.append(ts)
        row = await self._read(lambda c: _one(c, sql, params))
        return int(row[0]) if row else 0

    async def last_feedback_id(self) -> int:
        """The newest vote id (0 when there is none): a cursor for feedback_count_since/all_feedback."""
        row = await self._read(lambda c: _one(c, "SELECT coalesce(max(id), 0) FROM feedback"))
        return int(row[0]) if row else 0

    # ----------------------------------------------------------------------- suggestions

    async def record_suggestions(self, suggestions: Iterable[NewSuggestion]) -> list[SuggestionRecord]:
        """Record a batch of suggestions in one transaction; returns them with ids, in input order."""
        items = list(suggestions)
        rows: list[tuple[Any, ...]] = []
        for s in items:
            if not isinstance(s, NewSuggestion):
                raise InvalidInput(f"record_suggestions takes NewSuggestion objects, got {type(s).__name__}")
            uid = v.opt_snowflake(s.user_id, "user_id")
            sess = None if s.session_id is None else v.row_id(s.session_id, "session_id")
            if uid is None and sess is None:
                raise InvalidInput("a suggestion needs a user_id (personal) or a session_id (group)")
            rank = v.non_negative(s.rank, "rank")
            if not isinstance(s.model_version, str) or not s.model_version:
                raise InvalidInput(f"model_version must be a non-empty string, got {s.model_version!r}")
            if not isinstance(s.reason, str):
                raise InvalidInput(f"reason must be a string, got {type(s.reason).__name__}")
            rows.append(
                (
                    uid,
                    sess,
                    v.track(s.track_id),
                    rank,
                    s.model_version,
                    v.finite_or_none(s.score, "score"),
                    v.json_object(s.score_parts, "score_parts"),
                    s.reason,
                    v.choice(s.kind, SUGGESTION_KINDS, "suggestion kind"),
                    v.opt_snowflake(s.channel_id, "channel_id"),
                    v.opt_snowflake(s.guild_id, "guild_id"),
                )
            )
        if not rows:
            return []

        async def job(conn: Conn) -> list[SuggestionRecord]:
            now = self._clock()
            for sess in {r[1] for r in rows if r[1] is not None}:
                if await _one(conn, "SELECT 1 FROM sessions WHERE id = ?", (sess,)) is None:
                    raise NotFound(f"session {sess} does not exist")
            for uid in {r[0] for r in rows if r[0] is not None}:
                await _ensure_user(conn, uid, now)
            out = []
            for r in rows:
                row = await _one(
                    conn,
                    "INSERT INTO suggestions (user_id, session_id, track_id, rank, model_version, score, score_parts,"
                    " reason, kind, channel_id, guild_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " RETURNING *",
                    (*r, now),
                )
                assert row is not None
                out.append(_suggestion(row))
            return out

        return await self._write(job)

    async def get_suggestion(self, suggestion_id: int) -> SuggestionRecord | None:
        sid = v.row_id(suggestion_id, "suggestion_id")
        row = await self._read(lambda c: _one(c, "SELECT * FROM suggestions WHERE id = ?", (sid,)))
        return None if row is None else _suggestion(row)

    async def attach_message(
        self, suggestion_ids: Sequence[int], message_id: int, channel_id: int, guild_id: int | None
    ) -> int:
        """Note where the suggestions were posted (so reactions/buttons map back); returns rows updated."""
        ids = [v.row_id(s, "suggestion_id") for s in suggestion_ids]
        mid = v.snowflake(message_id, "message_id")
        cid = v.snowflake(channel_id, "channel_id")
        gid = v.opt_snowflake(guild_id, "guild_id")
        if not ids:
            return 0

        async def job(conn: Conn) -> int:
            marks = ",".join("?" * len(ids))
            cursor = await conn.execute(
                f"UPDATE suggestions SET message_id = ?, channel_id = ?, guild_id = ?, posted_at = ? WHERE id IN ({marks})",
                (mid, cid, gid, self._clock(), *ids),
            )
            return cursor.rowcount

        return await self._write(job)

    async def suggestions_for_message(self, message_id: int) -> list[SuggestionRecord]:
        mid = v.snowflake(message_id, "message_id")
        rows = await self._read(
            lambda c: _all(c, "SELECT * FROM suggestions WHERE message_id = ? ORDER BY rank, id", (mid,))
        )
        return [_suggestion(r) for r in rows]

    async def last_suggestion(self, user_id: int, channel_id: int | None = None) -> SuggestionRecord | None:
        """The newest suggestion made to the user (in that channel, if given): the target of a bare /like."""
        uid = v.snowflake(user_id, "user_id")
        cid = v.opt_snowflake(channel_id, "channel_id")
        sql = "SELECT * FROM suggestions WHERE user_id = ?"
        params: list[Any] = [uid]
        if cid is not None:
            sql += " AND channel_id = ?"
            params.append(cid)
        row = await self._read(lambda c: _one(c, sql + " ORDER BY id DESC LIMIT 1", params))
        return None if row is None else _suggestion(row)

    async def recent_suggested_tracks(
        self, user_id: int, *, since_seconds: float | None = None, limit: int | None = None
    ) -> list[str]:
        """Distinct tracks suggested to the user recently, newest first (to avoid repeating ourselves)."""
        uid = v.snowflake(user_id, "user_id")
        window = v.finite_or_none(since_seconds, "since_seconds")
        sql = "SELECT track_id, max(id) AS last FROM suggestions WHERE user_id = ?"
        params: list[Any] = [uid]
        if window is not None:
            sql += " AND created_at >= ?"
            params.append(self._clock() - window)
        sql += " GROUP BY track_id ORDER BY last DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(v.positive_limit(limit))
        rows = await self._read(lambda c: _all(c, sql, params))
        return [r["track_id"] for r in rows]

    # ----------------------------------------------------------------------- sessions

    async def create_session(
        self,
        guild_id: int,
        channel_id: int,
        created_by: int,
        *,
        voice_channel_id: int | None = None,
        strategy: str = "average",
    ) -> SessionRecord:
        """Start a group session in a channel and add its creator as the first member."""
        gid, cid = v.snowflake(guild_id, "guild_id"), v.snowflake(channel_id, "channel_id")
        uid = v.snowflake(created_by, "created_by")
        vid = v.opt_snowflake(voice_channel_id, "voice_channel_id")
        strat = v.choice(strategy, SESSION_STRATEGIES, "session strategy")

        async def job(conn: Conn) -> SessionRecord:
            now = self._clock()
            active = await _one(
                conn, "SELECT id FROM sessions WHERE channel_id = ? AND ended_at IS NULL", (cid,)
            )
            if active is not None:
                raise SessionAlreadyActive(cid, active["id"])
            await _ensure_user(conn, uid, now)
            row = await _one(
                conn,
                "INSERT INTO sessions (guild_id, channel_id, voice_channel_id, created_by, strategy, started_at)"
                " VALUES (?, ?, ?, ?, ?, ?) RETURNING *",
                (gid, cid, vid, uid, strat, now),
            )
            assert row is not None
            await conn.execute(
                "INSERT INTO session_members (session_id, user_id, joined_at) VALUES (?, ?, ?)",
                (row["id"], uid, now),
            )
            return _session(row)

        return await self._write(job)

    async def get_session(self, session_id: int) -> SessionRecord | None:
        sid = v.row_id(session_id, "session_id")
        row = await self._read(lambda c: _one(c, "SELECT * FROM sessions WHERE id = ?", (sid,)))
        return None if row is None else _session(row)

    async def active_session(self, channel_id: int) -> SessionRecord | None:
        cid = v.snowflake(channel_id, "channel_id")
        row = await self._read(
            lambda c: _one(c, "SELECT * FROM sessions WHERE channel_id = ? AND ended_at IS NULL", (cid,))
        )
        return None if row is None else _session(row)

    async def active_session_for_voice(self, voice_channel_id: int) -> SessionRecord | None:
        """The running session tied to a voice channel (the newest, should there be several)."""
        vid = v.snowflake(voice_channel_id, "voice_channel_id")
        row = await self._read(
            lambda c: _one(
                c,
                "SELECT * FROM sessions WHERE voice_channel_id = ? AND ended_at IS NULL ORDER BY id DESC LIMIT 1",
                (vid,),
            )
        )
        return None if row is None else _session(row)

    async def add_member(self, session_id: int, user_id: int) -> SessionMemberRecord:
        """Join a running session; joining twice returns the existing membership."""
        sid, uid = v.row_id(session_id, "session_id"), v.snowflake(user_id, "user_id")

        async def job(conn: Conn) -> SessionMemberRecord:
            now = self._clock()
            session = await _one(conn, "SELECT ended_at FROM sessions WHERE id = ?", (sid,))
            if session is None:
                raise NotFound(f"session {sid} does not exist")
            if session["ended_at"] is not None:
                raise InvalidInput(f"session {sid} has ended; start a new one to listen together")
            await _ensure_user(conn, uid, now)
            row = await _one(
                conn,
                "SELECT * FROM session_members WHERE session_id = ? AND user_id = ? AND left_at IS NULL",
                (sid, uid),
            )
            if row is None:
                row = await _one(
                    conn,
                    "INSERT INTO session_members (session_id, user_id, joined_at) VALUES (?, ?, ?) RETURNING *",
                    (sid, uid, now),
                )
            assert row is not None
            return _member(row)

        return await self._write(job)

    async def remove_member(self, session_id: int, user_id: int) -> bool:
        """Leave a session; False if the user was not an active member."""
        sid, uid = v.row_id(session_id, "session_id"), v.snowflake(user_id, "user_id")

        async def job(conn: Conn) -> bool:
            cursor = await conn.execute(
                "UPDATE session_members SET left_at = ? WHERE session_id = ? AND user_id = ? AND left_at IS NULL",
                (self._clock(), sid, uid),
            )
            return cursor.rowcount > 0

        return await self._write(job)

    async def members(self, session_id: int, *, include_left: bool = False) -> list[SessionMemberRecord]:
        sid = v.row_id(session_id, "session_id")
        where = "" if include_left else " AND left_at IS NULL"
        rows = await self._read(
            lambda c: _all(
                c, f"SELECT * FROM session_members WHERE session_id = ?{where} ORDER BY id", (sid,)
            )
        )
        return [_member(r) for r in rows]

    async def add_session_tracks(
        self,
        session_id: int,
        track_ids: Sequence[str],
        *,
        suggestion_ids: Sequence[int | None] | None = None,
        played: bool = False,
    ) -> list[SessionTrackRecord]:
        """Note tracks suggested to (or played in) a session, so the group is not offered them again."""
        sid = v.row_id(session_id, "session_id")
        tracks = [v.track(t) for t in track_ids]
        links = list(suggestion_ids) if suggestion_ids is not None else [None] * len(tracks)
        if len(links) != len(tracks):
            raise InvalidInput(f"got {len(tracks)} track ids but {len(links)} suggestion ids")
        links = [None if s is None else v.row_id(s, "suggestion_id") for s in links]
        if not tracks:
            return []

        async def job(conn: Conn) -> list[SessionTrackRecord]:
            now = self._clock()
            if await _one(conn, "SELECT 1 FROM sessions WHERE id = ?", (sid,)) is None:
                raise NotFound(f"session {sid} does not exist")
            out = []
            for track, link in zip(tracks, links, strict=True):
                row = await _one(
                    conn,
                    "INSERT INTO session_tracks (session_id, track_id, suggestion_id, suggested_at, played_at)"
                    " VALUES (?, ?, ?, ?, ?) RETURNING *",
                    (sid, track, link, now, now if played else None),
                )
                assert row is not None
                out.append(_session_track(row))
            return out

        return await self._write(job)

    async def mark_played(self, session_id: int, track_id: str) -> bool:
        """Mark a session track as played; False if the track was never added to the session."""
        sid, track = v.row_id(session_id, "session_id"), v.track(track_id)

        async def job(conn: Conn) -> bool:
            cursor = await conn.execute(
                "UPDATE session_tracks SET played_at = ? WHERE session_id = ? AND track_id = ? AND played_at IS NULL",
                (self._clock(), sid, track),
            )
            return cursor.rowcount > 0

        return await self._write(job)

    async def session_tracks(self, session_id: int) -> list[SessionTrackRecord]:
        sid = v.row_id(session_id, "session_id")
        rows = await self._read(
            lambda c: _all(c, "SELECT * FROM session_tracks WHERE session_id = ? ORDER BY id", (sid,))
        )
        return [_session_track(r) for r in rows]

    async def end_session(self, session_id: int) -> SessionRecord | None:
        """End a session (and everyone's membership); ending twice keeps the first end time."""
        sid = v.row_id(session_id, "session_id")

        async def job(conn: Conn) -> SessionRecord | None:
            now = self._clock()
            await conn.execute(
                "UPDATE sessions SET ended_at = ? WHERE id = ? AND ended_at IS NULL", (now, sid)
            )
            await conn.execute(
                "UPDATE session_members SET left_at = ? WHERE session_id = ? AND left_at IS NULL", (now, sid)
            )
            row = await _one(conn, "SELECT * FROM sessions WHERE id = ?", (sid,))
            return None if row is None else _session(row)

        return await self._write(job)

    # ----------------------------------------------------------------------- guild settings

    async def get_guild_settings(self, guild_id: int) -> GuildSettings:
        """The guild's settings, or the defaults if it never changed any."""
        gid = v.snowflake(guild_id, "guild_id")
        row = await self._read(lambda c: _one(c, "SELECT * FROM guild_settings WHERE guild_id = ?", (gid,)))
        return GuildSettings(guild_id=gid) if row is None else _build(GuildSettings, row)

    async def set_guild_settings(
        self,
        guild_id: int,
        *,
        command_channel_id: int | None = v.UNSET,
        explore_rate: float = v.UNSET,
        session_strategy: str = v.UNSET,
    ) -> GuildSettings:
        """Change only the settings given (command_channel_id=None clears it); returns the result."""
        gid = v.snowflake(guild_id, "guild_id")
        changes: dict[str, Any] = {}
        if command_channel_id is not v.UNSET:
            changes["command_channel_id"] = v.opt_snowflake(command_channel_id, "command_channel_id")
        if explore_rate is not v.UNSET:
            rate = v.finite_or_none(explore_rate, "explore_rate")
            if rate is None or not 0.0 <= rate <= 1.0:
                raise InvalidInput(f"explore_rate must be between 0 and 1, got {explore_rate!r}")
            changes["explore_rate"] = rate
        if session_strategy is not v.UNSET:
            changes["session_strategy"] = v.choice(session_strategy, SESSION_STRATEGIES, "session strategy")

        async def job(conn: Conn) -> GuildSettings:
            now = self._clock()
            await conn.execute(
                "INSERT INTO guild_settings (guild_id, updated_at) VALUES (?, ?) ON CONFLICT (guild_id) DO NOTHING",
                (gid, now),
            )
            sets = "".join(f", {column} = ?" for column in changes)  # column names are ours, not the caller's
            row = await _one(
                conn,
                f"UPDATE guild_settings SET updated_at = ?{sets} WHERE guild_id = ? RETURNING *",
                (now, *changes.values(), gid),
            )
            assert row is not None
            return _build(GuildSettings, row)

        return await self._write(job)

    # ----------------------------------------------------------------------- training runs

    async def record_training_run(
        self, device: str, reason: str = "", *, status: str = "running", started_at: float | None = None
    ) -> TrainingRunRecord:
        if not isinstance(device, str) or not device:
            raise InvalidInput(f"device must be a non-empty string such as 'cpu' or 'cuda', got {device!r}")
        if not isinstance(reason, str):
            raise InvalidInput(f"reason must be a string, got {type(reason).__name__}")
        stat = v.choice(status, TRAINING_STATUSES, "training status")
        start = v.finite_or_none(started_at, "started_at")

        async def job(conn: Conn) -> TrainingRunRecord:
            row = await _one(
                conn,
                "INSERT INTO training_runs (started_at, status, device, reason) VALUES (?, ?, ?, ?) RETURNING *",
                (start if start is not None else self._clock(), stat, device, reason),
            )
            assert row is not None
            return _training_run(row)

        return await self._write(job)

    async def update_training_run(
        self,
        run_id: int,
        *,
        status: str = v.UNSET,
        finished_at: float | None = v.UNSET,
        metrics: dict[str, Any] = v.UNSET,
        artifact_version: str | None = v.UNSET,
        promoted: bool = v.UNSET,
        reason: str = v.UNSET,
    ) -> TrainingRunRecord:
        """Update the fields given. A status other than 'running' sets finished_at (unless given)."""
        rid = v.row_id(run_id, "run_id")
        changes: dict[str, Any] = {}
        auto_finish = status is not v.UNSET and status != "running" and finished_at is v.UNSET
        if status is not v.UNSET:
            changes["status"] = v.choice(status, TRAINING_STATUSES, "training status")
        if finished_at is not v.UNSET:
            changes["finished_at"] = v.finite_or_none(finished_at, "finished_at")
        if metrics is not v.UNSET:
            changes["metrics"] = v.json_object(metrics, "metrics")
        if artifact_version is not v.UNSET:
            if artifact_version is not None and not isinstance(artifact_version, str):
                raise InvalidInput(f"artifact_version must be a string, got {artifact_version!r}")
            changes["artifact_version"] = artifact_version
        if promoted is not v.UNSET:
            if not isinstance(promoted, bool):
                raise InvalidInput(f"promoted must be True or False, got {promoted!r}")
            changes["promoted"] = int(promoted)
        if reason is not v.UNSET:
            if not isinstance(reason, str):
                raise InvalidInput(f"reason must be a string, got {type(reason).__name__}")
            changes["reason"] = reason[:2000]

        async def job(conn: Conn) -> TrainingRunRecord:
            values = dict(changes)
            if auto_finish:
                values["finished_at"] = self._clock()
            if values:
                sets = ", ".join(f"{column} = ?" for column in values)  # column names are ours
                await conn.execute(f"UPDATE training_runs SET {sets} WHERE id = ?", (*values.values(), rid))
            row = await _one(conn, "SELECT * FROM training_runs WHERE id = ?", (rid,))
            if row is None:
                raise NotFound(f"training run {rid} does not exist")
            return _training_run(row)

        return await self._write(job)

    async def fail_stale_runs(self, older_than_s: float, reason: str) -> int:
        """Mark 'running' rows started more than ``older_than_s`` ago as failed; returns how many.

        A run whose parent died (a bot restart, a killed worker) is never finished by anyone; once it
        is older than any run may live, it can only be dead.
        """
        age = v.finite_or_none(older_than_s, "older_than_s")
        if age is None or age < 0:
            raise InvalidInput(f"older_than_s must be a non-negative number, got {older_than_s!r}")

        async def job(conn: Conn) -> int:
            now = self._clock()
            cursor = await conn.execute(
                "UPDATE training_runs SET status = 'failed', finished_at = ?, reason = ? "
                "WHERE status = 'running' AND started_at < ?",
                (now, reason[:2000], now - age),
            )
            return int(cursor.rowcount or 0)

        return await self._write(job)

    async def last_training_runs(self, limit: int = 10) -> list[TrainingRunRecord]:
        """Newest first."""
        n = v.positive_limit(limit)
        rows = await self._read(
            lambda c: _all(c, "SELECT * FROM training_runs ORDER BY id DESC LIMIT ?", (n,))
        )
        return [_training_run(r) for r in rows]

    async def last_promoted_run(self) -> TrainingRunRecord | None:
        row = await self._read(
            lambda c: _one(c, "SELECT * FROM training_runs WHERE promoted = 1 ORDER BY id DESC LIMIT 1")
        )
        return None if row is None else _training_run(row)

    # ----------------------------------------------------------------------- spotify cache

    async def get_spotify_track(
        self, track_id: str, *, max_age_s: float | None = None
    ) -> dict[str, Any] | None:
        """The cached Spotify payload, or None if absent (or older than max_age_s)."""
        track = v.track(track_id)
        age = v.finite_or_none(max_age_s, "max_age_s")
        row = await self._read(
            lambda c: _one(
                c, "SELECT payload, fetched_at FROM spotify_track_cache WHERE track_id = ?", (track,)
            )
        )
        if row is None or (age is not None and row["fetched_at"] < self._clock() - age):
            return None
        return loads(row["payload"])

    async def get_spotify_tracks(
        self, track_ids: Sequence[str], *, max_age_s: float | None = None
    ) -> dict[str, dict[str, Any]]:
        """Cached payloads for the ids we have (fresh enough); missing ids are simply absent."""
        tracks = sorted({v.track(t) for t in track_ids})
        age = v.finite_or_none(max_age_s, "max_age_s")
        out: dict[str, dict[str, Any]] = {}
        cutoff = None if age is None else self._clock() - age
        for start in range(0, len(tracks), 500):  # stay far below SQLite's bound-parameter limit
            chunk = tracks[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = await self._read(
                lambda c, ids=chunk, m=marks: _all(
                    c,
                    f"SELECT track_id, payload, fetched_at FROM spotify_track_cache WHERE track_id IN ({m})",
                    ids,
                )
            )
            out.update(
                {
                    r["track_id"]: loads(r["payload"])
                    for r in rows
                    if cutoff is None or r["fetched_at"] >= cutoff
                }
            )
        return out

    async def put_spotify_track(self, track_id: str, payload: dict[str, Any]) -> None:
        track = v.track(track_id)
        text = v.json_object(payload, "payload")

        async def job(conn: Conn) -> None:
            await conn.execute(
                "INSERT INTO spotify_track_cache (track_id, payload, fetched_at) VALUES (?, ?, ?)"
                " ON CONFLICT (track_id) DO UPDATE SET payload = excluded.payload, fetched_at = excluded.fetched_at",
                (track, text, self._clock()),
            )

        await self._write(job)

    # ----------------------------------------------------------------------- privacy

    async def forget_user(self, user_id: int) -> dict[str, int]:
        """Delete every row about the user in one transaction; returns rows removed per table.

        Sessions they started stay (they belong to the group) with created_by cleared. Deleted
        content is zeroed (secure_delete) and the WAL is checkpointed so it does not linger there.
        """
        uid = v.snowflake(user_id, "user_id")

        async def job(conn: Conn) -> dict[str, int]:
            counts: dict[str, int] = {}
            for table, sql in (
                ("feedback", "DELETE FROM feedback WHERE user_id = ?"),
                ("suggestions", "DELETE FROM suggestions WHERE user_id = ?"),
                ("session_members", "DELETE FROM session_members WHERE user_id = ?"),
                ("sessions", "UPDATE sessions SET created_by = NULL WHERE created_by = ?"),
                ("users", "DELETE FROM users WHERE user_id = ?"),
            ):
                counts[table] = (await conn.execute(sql, (uid,))).rowcount
            return counts

        counts = await self._write(job)

        async def checkpoint(conn: Conn) -> None:
            await conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # best effort: busy readers just delay it

        with contextlib.suppress(StoreError, sqlite3.Error):
            await self._read(checkpoint)
        return counts

    async def export_user(self, user_id: int) -> dict[str, Any]:
        """Everything we hold about the user, as JSON-serialisable data (for a data-access request)."""
        uid = v.snowflake(user_id, "user_id")

        async def job(conn: Conn) -> dict[str, Any]:
            user = await _one(conn, "SELECT * FROM users WHERE user_id = ?", (uid,))
            feedback = await _all(conn, "SELECT * FROM feedback WHERE user_id = ? ORDER BY id", (uid,))
            suggestions = await _all(conn, "SELECT * FROM suggestions WHERE user_id = ? ORDER BY id", (uid,))
            members = await _all(conn, "SELECT * FROM session_members WHERE user_id = ? ORDER BY id", (uid,))
            started = await _all(conn, "SELECT * FROM sessions WHERE created_by = ? ORDER BY id", (uid,))
            return {
                "user_id": uid,
                "user": None
                if user is None
                else {"created_at": user["created_at"], "settings": loads(user["settings"])},
                "feedback": [dataclasses.asdict(_feedback(r)) for r in feedback],
                "suggestions": [dataclasses.asdict(_suggestion(r)) for r in suggestions],
                "session_memberships": [dataclasses.asdict(_member(r)) for r in members],
                "sessions_started": [dataclasses.asdict(_session(r)) for r in started],
            }

        return await self._read(job, snapshot=True)

    async def history(self, user_id: int, limit: int = 20) -> list[HistoryEntry]:
        """The user's recent suggestions and votes, newest first."""
        uid, n = v.snowflake(user_id, "user_id"), v.positive_limit(limit)
        rows = await self._read(
            lambda c: _all(
                c,
                "SELECT created_at AS at, 'suggested' AS event, track_id, id AS suggestion_id, kind AS source,"
                " 0 AS undone, id AS tiebreak FROM suggestions WHERE user_id = ?"
                " UNION ALL"
                " SELECT created_at, CASE value WHEN 1 THEN 'liked' ELSE 'disliked' END, track_id, suggestion_id,"
                " source, undone_at IS NOT NULL, id FROM feedback WHERE user_id = ?"
                " ORDER BY at DESC, event, tiebreak DESC LIMIT ?",
                (uid, uid, n),
            ),
            snapshot=True,
        )
        return [_build(HistoryEntry, r, undone=bool(r["undone"])) for r in rows]

    # ----------------------------------------------------------------------- maintenance

    async def database_size(self) -> int:
        """Bytes used by the database pages (the WAL file comes on top until the next checkpoint)."""
        row = await self._read(
            lambda c: _one(c, "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()")
        )
        return int(row[0]) if row else 0

    async def integrity_check(self) -> list[str]:
        """Problems found by PRAGMA integrity_check and foreign_key_check; [] means healthy."""

        async def job(conn: Conn) -> list[str]:
            problems = [str(r[0]) for r in await _all(conn, "PRAGMA integrity_check") if r[0] != "ok"]
            for r in await _all(conn, "PRAGMA foreign_key_check"):
                problems.append(f"foreign key: {r[0]} rowid {r[1]} points at a missing {r[2]} row")
            return problems

        return await self._read(job, snapshot=True)

    async def pragmas(self) -> dict[str, Any]:
        """The connection settings that durability and safety depend on (for /stats and tests)."""

        async def job(conn: Conn) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout", "secure_delete"):
                row = await _one(conn, f"PRAGMA {name}")
                out[name] = row[0] if row else None
            return out

        return await self._read(job)

    async def schema_version(self) -> int:
        return await self._read(migrations_module.schema_version)
