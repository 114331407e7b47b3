"""What we suggested, to whom, where it was posted, and what we suggested lately (to avoid repeats)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from songrec.domain import SUGGESTION_KINDS, InvalidInput, NewSuggestion, NotFound, SuggestionRecord
from songrec.store import _validate as v
from songrec.store._json import as_read
from songrec.store.sqlite import rows
from songrec.store.sqlite.connection import Database, InThread
from songrec.store.sqlite.rows import Conn


def _checked_all(batch: Iterable[NewSuggestion]) -> list[tuple[Any, ...]]:
    """Each suggestion's column values, validated. A batch is one answer: its listener, channel, server
    and model are checked once, where the next suggestion holds the very same objects."""
    out: list[tuple[Any, ...]] = []
    last: tuple[Any, ...] | None = None
    shared: tuple[Any, ...] = ()
    for s in batch:
        if not isinstance(s, NewSuggestion):
            raise InvalidInput(f"record_suggestions takes NewSuggestion objects, got {type(s).__name__}")
        mine = (s.user_id, s.session_id, s.model_version, s.channel_id, s.guild_id)
        if last is None or any(a is not b for a, b in zip(mine, last, strict=True)):
            shared, last = _checked_shared(s), mine
        uid, sess, version, channel, guild = shared
        if not isinstance(s.reason, str):
            raise InvalidInput(f"reason must be a string, got {type(s.reason).__name__}")
        out.append(
            (
                uid,
                sess,
                v.track(s.track_id),
                v.non_negative(s.rank, "rank"),
                version,
                v.finite_or_none(s.score, "score"),
                v.json_object(s.score_parts, "score_parts"),
                s.reason,
                v.choice(s.kind, SUGGESTION_KINDS, "suggestion kind"),
                channel,
                guild,
            )
        )
    return out


def _checked_shared(s: NewSuggestion) -> tuple[Any, ...]:
    """The columns an answer's suggestions share, validated: user, session, model, channel, server."""
    uid = v.opt_snowflake(s.user_id, "user_id")
    sess = None if s.session_id is None else v.row_id(s.session_id, "session_id")
    if uid is None and sess is None:
        raise InvalidInput("a suggestion needs a user_id (personal) or a session_id (group)")
    if not isinstance(s.model_version, str) or not s.model_version:
        raise InvalidInput(f"model_version must be a non-empty string, got {s.model_version!r}")
    return (
        uid,
        sess,
        s.model_version,
        v.opt_snowflake(s.channel_id, "channel_id"),
        v.opt_snowflake(s.guild_id, "guild_id"),
    )


_INSERT = (
    "INSERT INTO suggestions (user_id, session_id, track_id, rank, model_version, score, score_parts,"
    " reason, kind, channel_id, guild_id, created_at) VALUES "
)
_ROW_MARKS = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
#: 12 parameters a row: well inside both engines' limits on one statement's parameters.
_ROWS_PER_INSERT = 500


def _record(row_id: int, values: tuple[Any, ...], now: float, parts: Any) -> SuggestionRecord:
    """The row just inserted, from what was written rather than read back; its parts (`parts`, as given)
    as the stored JSON reads back, so they are what a later read gives."""
    uid, sess, track, rank, version, score, parts_json, reason, kind, cid, gid = values
    return SuggestionRecord(
        id=row_id,
        user_id=uid,
        session_id=sess,
        track_id=track,
        rank=rank,
        model_version=version,
        score=score,
        score_parts=as_read(parts_json, parts),
        reason=reason,
        kind=kind,
        message_id=None,
        channel_id=cid,
        guild_id=gid,
        created_at=now,
        posted_at=None,
    )


def recent_query(
    user_id: int, since_seconds: float | None, limit: int | None, now: float
) -> tuple[str, list[Any]]:
    """recent_suggested_tracks' query (validated): distinct tracks, newest first, returning track_id."""
    uid = v.snowflake(user_id, "user_id")
    window = v.finite_or_none(since_seconds, "since_seconds")
    sql = "SELECT track_id, max(id) AS last FROM suggestions WHERE user_id = ?"
    params: list[Any] = [uid]
    if window is not None:
        sql += " AND created_at >= ?"
        params.append(now - window)
    sql += " GROUP BY track_id ORDER BY last DESC"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(v.positive_limit(limit))
    return sql, params


class SqliteSuggestions:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def record_suggestions(self, suggestions: Iterable[NewSuggestion]) -> list[SuggestionRecord]:
        """Record a batch of suggestions in one transaction; returns them with ids, in input order."""
        batch = list(suggestions)
        values = _checked_all(batch)
        if not values:
            return []

        async def job(conn: Conn) -> list[SuggestionRecord]:
            now = self._db.clock()
            for sess in {r[1] for r in values if r[1] is not None}:
                if await rows.one(conn, "SELECT 1 FROM sessions WHERE id = ?", (sess,)) is None:
                    raise NotFound(f"session {sess} does not exist")
            for uid in {r[0] for r in values if r[0] is not None}:
                await rows.ensure_user(conn, uid, now)
            ids: list[int] = []
            for start in range(0, len(values), _ROWS_PER_INSERT):
                chunk = values[start : start + _ROWS_PER_INSERT]
                # One statement per chunk: its rows take ascending ids in VALUES order, while RETURNING
                # may list them in any order (SQLite says so), hence the sort.
                found = await rows.all_tuples(
                    conn,
                    _INSERT + ", ".join([_ROW_MARKS] * len(chunk)) + " RETURNING id",
                    [x for r in chunk for x in (*r, now)],
                )
                ids += sorted(int(f[0]) for f in found)
            return [_record(i, r, now, s.score_parts) for i, r, s in zip(ids, values, batch, strict=True)]

        return await self._db.write(InThread(job))  # statements only: one hop to SQLite's thread

    async def get_suggestion(self, suggestion_id: int) -> SuggestionRecord | None:
        sid = v.row_id(suggestion_id, "suggestion_id")
        row = await self._db.read(lambda c: rows.one(c, "SELECT * FROM suggestions WHERE id = ?", (sid,)))
        return None if row is None else rows.suggestion(row)

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
                (mid, cid, gid, self._db.clock(), *ids),
            )
            return cursor.rowcount

        return await self._db.write(job)

    async def suggestions_for_message(self, message_id: int) -> list[SuggestionRecord]:
        mid = v.snowflake(message_id, "message_id")
        found = await self._db.read(
            lambda c: rows.all_rows(
                c, "SELECT * FROM suggestions WHERE message_id = ? ORDER BY rank, id", (mid,)
            )
        )
        return [rows.suggestion(r) for r in found]

    async def last_suggestion(self, user_id: int, channel_id: int | None = None) -> SuggestionRecord | None:
        """The newest suggestion made to the user (in that channel, if given): the target of a bare /like."""
        uid = v.snowflake(user_id, "user_id")
        cid = v.opt_snowflake(channel_id, "channel_id")
        sql = "SELECT * FROM suggestions WHERE user_id = ?"
        params: list[Any] = [uid]
        if cid is not None:
            sql += " AND channel_id = ?"
            params.append(cid)
        row = await self._db.read(lambda c: rows.one(c, sql + " ORDER BY id DESC LIMIT 1", params))
        return None if row is None else rows.suggestion(row)

    async def recent_suggested_tracks(
        self, user_id: int, *, since_seconds: float | None = None, limit: int | None = None
    ) -> list[str]:
        """Distinct tracks suggested to the user recently, newest first (to avoid repeating ourselves)."""
        sql, params = recent_query(user_id, since_seconds, limit, self._db.clock())
        found = await self._db.read(lambda c: rows.all_rows(c, sql, params))
        return [r["track_id"] for r in found]
