"""Votes: one live like/dislike per (user, track), tombstones for undone and replaced votes, cursors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence, Sized
from typing import Any

from songrec.domain import FEEDBACK_SOURCES, FeedbackRecord, InvalidInput, NotFound, VotePage
from songrec.store import _validate as v
from songrec.store.sqlite import rows
from songrec.store.sqlite.connection import Database, InThread
from songrec.store.sqlite.rows import Conn
from songrec.store.sqlite.suggestions import recent_query

_LIVE = "SELECT * FROM feedback WHERE user_id = ? AND track_id = ? AND undone_at IS NULL"
_FOR_USER = "SELECT * FROM feedback WHERE user_id = ? AND undone_at IS NULL ORDER BY id"


class SqliteFeedback:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def vote(
        self,
        user_id: int,
        value: int,
        source: str,
        *,
        track_id: str | None = None,
        suggestion_id: int | None = None,
        guild_id: int | None = None,
        channel_id: int | None = None,
    ) -> tuple[FeedbackRecord, bool]:
        """Record a like (+1) or dislike (-1) in ONE write transaction; returns (live record, changed).

        The target is the track, or the suggestion's track when only ``suggestion_id`` is given (both:
        they must agree). One live vote per (user, track): repeating the same vote returns the existing
        record with changed=False and writes nothing; the opposite vote tombstones the old one
        (undone_at, replaced_by) and becomes the live one (changed=True, as is a first vote).
        """
        uid = v.snowflake(user_id, "user_id")
        track = None if track_id is None else v.track(track_id)
        vote = v.vote(value)
        src = v.choice(source, FEEDBACK_SOURCES, "feedback source")
        gid = v.opt_snowflake(guild_id, "guild_id")
        cid = v.opt_snowflake(channel_id, "channel_id")
        sid = None if suggestion_id is None else v.row_id(suggestion_id, "suggestion_id")
        if track is None and sid is None:
            raise InvalidInput("a vote needs a track_id or a suggestion_id")

        async def job(conn: Conn) -> tuple[FeedbackRecord, bool]:
            now = self._db.clock()
            target = track
            if sid is not None:
                row = await rows.one(conn, "SELECT track_id FROM suggestions WHERE id = ?", (sid,))
                if row is None:
                    raise NotFound(f"suggestion {sid} does not exist (was it forgotten?)")
                if target is not None and row["track_id"] != target:
                    raise InvalidInput(f"suggestion {sid} is for track {row['track_id']}, not {target}")
                target = row["track_id"]
            live = await rows.one(conn, _LIVE, (uid, target))
            if live is not None and live["value"] == vote:
                return rows.feedback(live), False  # the same vote again: write nothing at all
            await rows.ensure_user(conn, uid, now)
            if live is not None:
                await conn.execute("UPDATE feedback SET undone_at = ? WHERE id = ?", (now, live["id"]))
            new = await rows.one(
                conn,
                "INSERT INTO feedback (user_id, track_id, value, source, guild_id, channel_id, suggestion_id, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
                (uid, target, vote, src, gid, cid, sid, now),
            )
            assert new is not None
            if live is not None:
                await conn.execute(
                    "UPDATE feedback SET replaced_by = ? WHERE id = ?", (new["id"], live["id"])
                )
            return rows.feedback(new), True

        # Statements only (no other awaits): a batch of votes runs in one hop to SQLite's thread.
        return await self._db.write(InThread(job))

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
        """Record a like (+1) or dislike (-1) on a track: ``vote`` without the changed flag."""
        record, _ = await self.vote(
            user_id,
            value,
            source,
            track_id=v.track(track_id),
            suggestion_id=suggestion_id,
            guild_id=guild_id,
            channel_id=channel_id,
        )
        return record

    async def add_feedback_bulk(
        self, votes: Iterable[tuple[int, str, int, float]], source: str = "command"
    ) -> int:
        """Insert many (user_id, track_id, value, created_at) votes in one transaction: for benchmarks and
        imports, not the bot. Unlike add_feedback it does not tombstone earlier votes: give each
        (user, track) once. Returns how many rows were written."""
        src = v.choice(source, FEEDBACK_SOURCES, "feedback source")
        checked = [
            (v.snowflake(u, "user_id"), v.track(t), v.vote(value), src, v.finite_or_none(ts, "created_at"))
            for u, t, value, ts in votes
        ]

        async def job(conn: Conn) -> int:
            now = self._db.clock()
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

        return await self._db.write(job)

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
                row = await rows.one(conn, "SELECT track_id FROM suggestions WHERE id = ?", (sid,))
                if row is None:
                    return None
                if target is not None and row["track_id"] != target:
                    raise InvalidInput(f"suggestion {sid} is for track {row['track_id']}, not {target}")
                target = row["track_id"]
            if target is None:
                live = await rows.one(
                    conn,
                    "SELECT id FROM feedback WHERE user_id = ? AND undone_at IS NULL ORDER BY id DESC LIMIT 1",
                    (uid,),
                )
            else:
                live = await rows.one(conn, _LIVE, (uid, target))
            if live is None:
                return None
            row = await rows.one(
                conn,
                "UPDATE feedback SET undone_at = ? WHERE id = ? RETURNING *",
                (self._db.clock(), live["id"]),
            )
            return None if row is None else rows.feedback(row)

        return await self._db.write(job)

    async def live_feedback(self, user_id: int, track_id: str) -> FeedbackRecord | None:
        uid, track = v.snowflake(user_id, "user_id"), v.track(track_id)
        row = await self._db.read(lambda c: rows.one(c, _LIVE, (uid, track)))
        return None if row is None else rows.feedback(row)

    async def feedback_for_user(self, user_id: int) -> list[FeedbackRecord]:
        """The user's live votes, oldest first."""
        uid = v.snowflake(user_id, "user_id")
        found = await self._db.read(lambda c: rows.all_rows(c, _FOR_USER, (uid,)))
        return [rows.feedback(r) for r in found]

    async def voted_in_guild(self, guild_id: int, user_ids: Sequence[int]) -> list[int]:
        """Those of `user_ids` with a live vote given in that guild (the members /neighbours may name)."""
        gid = v.snowflake(guild_id, "guild_id")
        uids = sorted({v.snowflake(u, "user_id") for u in user_ids})
        if not uids:
            return []
        marks = ", ".join("?" * len(uids))
        sql = (
            f"SELECT DISTINCT user_id FROM feedback WHERE undone_at IS NULL AND guild_id = ?"
            f" AND user_id IN ({marks}) ORDER BY user_id"
        )
        found = await self._db.read(lambda c: rows.all_rows(c, sql, (gid, *uids)))
        return [int(r["user_id"]) for r in found]

    async def feedback_and_recent(
        self, user_id: int, *, since_seconds: float | None = None, limit: int | None = None
    ) -> tuple[list[FeedbackRecord], list[str]]:
        """feedback_for_user and recent_suggested_tracks(since_seconds, limit) in one read: what every
        recommend needs, in one trip to the database instead of two."""
        uid = v.snowflake(user_id, "user_id")
        recent_sql, recent_params = recent_query(uid, since_seconds, limit, self._db.clock())

        async def job(conn: Conn) -> tuple[list[Any], list[Any]]:
            votes = await rows.all_rows(conn, _FOR_USER, (uid,))
            return votes, await rows.all_rows(conn, recent_sql, recent_params)

        votes, recent = await self._db.read(InThread(job))
        return [rows.feedback(r) for r in votes], [r["track_id"] for r in recent]

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

        async def page_of(conn: Conn, sql: str, params: tuple[int, int]) -> list[FeedbackRecord]:
            # Records built on SQLite's thread (InThread): a page of thousands is not one long loop callback.
            return [rows.feedback(r) for r in await rows.all_rows(conn, sql, params)]

        async for page in self._pages("*", page_of, since_id, include_undone, batch_size):
            for record in page:
                yield record

    async def iter_vote_pages(
        self, since_id: int = 0, *, include_undone: bool = False, batch_size: int = 20000
    ) -> AsyncIterator[VotePage]:
        """The same votes as iter_feedback, as columns: a page is one query and one transpose in C."""

        async def page_of(conn: Conn, sql: str, params: tuple[int, int]) -> VotePage:
            found = await rows.all_tuples(conn, sql, params)
            if not found:
                return VotePage((), (), (), (), ())
            ids, users, tracks, values, undone = zip(*found, strict=True)
            return VotePage(ids, users, tracks, values, tuple(map(bool, undone)))

        columns = "id, user_id, track_id, value, undone_at IS NOT NULL"
        async for page in self._pages(columns, page_of, since_id, include_undone, batch_size):
            if len(page):
                yield page

    async def _pages(
        self,
        columns: str,
        page_of: Callable[[Conn, str, tuple[int, int]], Awaitable[Sized]],
        since_id: int,
        include_undone: bool,
        batch_size: int,
    ) -> AsyncIterator[Any]:
        """Keyset pagination by id, each page read on SQLite's thread; a page's first column is the id."""
        since_id = v.non_negative(since_id, "since_id")
        size = v.positive_limit(batch_size, "batch_size")
        where = "" if include_undone else " AND undone_at IS NULL"
        sql = f"SELECT {columns} FROM feedback WHERE id > ?{where} ORDER BY id LIMIT ?"
        cursor = since_id
        while True:
            page: Any = await self._db.read(InThread(lambda c, after=cursor: page_of(c, sql, (after, size))))
            yield page
            if len(page) < size:
                return
            cursor = page.ids[-1] if isinstance(page, VotePage) else page[-1].id

    async def feedback_count_since(self, since_id: int = 0, *, since_ts: float | None = None) -> int:
        """How many votes were recorded after ``since_id`` (and at or after ``since_ts`` if given), live
        or since undone: each is a change the last trained model has not seen."""
        since_id = v.non_negative(since_id, "since_id")
        ts = v.finite_or_none(since_ts, "since_ts")
        sql, params = "SELECT count(*) FROM feedback WHERE id > ?", [since_id]
        if ts is not None:
            sql += " AND created_at >= ?"
            params.append(ts)
        row = await self._db.read(lambda c: rows.one(c, sql, params))
        return int(row[0]) if row else 0

    async def last_feedback_id(self) -> int:
        """The newest vote id (0 when there is none): a cursor for feedback_count_since/all_feedback."""
        row = await self._db.read(lambda c: rows.one(c, "SELECT coalesce(max(id), 0) FROM feedback"))
        return int(row[0]) if row else 0
