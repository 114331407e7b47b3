"""Group listening sessions: one running session per channel, its members, and the tracks it has had."""

from __future__ import annotations

from collections.abc import Sequence

from songrec.domain import (
    SESSION_STRATEGIES,
    InvalidInput,
    NotFound,
    SessionAlreadyActive,
    SessionMemberRecord,
    SessionRecord,
    SessionTrackRecord,
)
from songrec.store import _validate as v
from songrec.store.sqlite import rows
from songrec.store.sqlite.connection import Database
from songrec.store.sqlite.rows import Conn


class SqliteSessions:
    def __init__(self, db: Database) -> None:
        self._db = db

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
            now = self._db.clock()
            active = await rows.one(
                conn, "SELECT id FROM sessions WHERE channel_id = ? AND ended_at IS NULL", (cid,)
            )
            if active is not None:
                raise SessionAlreadyActive(cid, active["id"])
            await rows.ensure_user(conn, uid, now)
            row = await rows.one(
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
            return rows.session(row)

        return await self._db.write(job)

    async def get_session(self, session_id: int) -> SessionRecord | None:
        sid = v.row_id(session_id, "session_id")
        row = await self._db.read(lambda c: rows.one(c, "SELECT * FROM sessions WHERE id = ?", (sid,)))
        return None if row is None else rows.session(row)

    async def active_session(self, channel_id: int) -> SessionRecord | None:
        cid = v.snowflake(channel_id, "channel_id")
        row = await self._db.read(
            lambda c: rows.one(c, "SELECT * FROM sessions WHERE channel_id = ? AND ended_at IS NULL", (cid,))
        )
        return None if row is None else rows.session(row)

    async def active_session_for_voice(self, voice_channel_id: int) -> SessionRecord | None:
        """The running session tied to a voice channel (the newest, should there be several)."""
        vid = v.snowflake(voice_channel_id, "voice_channel_id")
        row = await self._db.read(
            lambda c: rows.one(
                c,
                "SELECT * FROM sessions WHERE voice_channel_id = ? AND ended_at IS NULL ORDER BY id DESC LIMIT 1",
                (vid,),
            )
        )
        return None if row is None else rows.session(row)

    async def add_member(self, session_id: int, user_id: int) -> SessionMemberRecord:
        """Join a running session; joining twice returns the existing membership."""
        sid, uid = v.row_id(session_id, "session_id"), v.snowflake(user_id, "user_id")

        async def job(conn: Conn) -> SessionMemberRecord:
            now = self._db.clock()
            session = await rows.one(conn, "SELECT ended_at FROM sessions WHERE id = ?", (sid,))
            if session is None:
                raise NotFound(f"session {sid} does not exist")
            if session["ended_at"] is not None:
                raise InvalidInput(f"session {sid} has ended; start a new one to listen together")
            await rows.ensure_user(conn, uid, now)
            row = await rows.one(
                conn,
                "SELECT * FROM session_members WHERE session_id = ? AND user_id = ? AND left_at IS NULL",
                (sid, uid),
            )
            if row is None:
                row = await rows.one(
                    conn,
                    "INSERT INTO session_members (session_id, user_id, joined_at) VALUES (?, ?, ?) RETURNING *",
                    (sid, uid, now),
                )
            assert row is not None
            return rows.member(row)

        return await self._db.write(job)

    async def remove_member(self, session_id: int, user_id: int) -> bool:
        """Leave a session; False if the user was not an active member."""
        sid, uid = v.row_id(session_id, "session_id"), v.snowflake(user_id, "user_id")

        async def job(conn: Conn) -> bool:
            cursor = await conn.execute(
                "UPDATE session_members SET left_at = ? WHERE session_id = ? AND user_id = ? AND left_at IS NULL",
                (self._db.clock(), sid, uid),
            )
            return cursor.rowcount > 0

        return await self._db.write(job)

    async def members(self, session_id: int, *, include_left: bool = False) -> list[SessionMemberRecord]:
        sid = v.row_id(session_id, "session_id")
        where = "" if include_left else " AND left_at IS NULL"
        found = await self._db.read(
            lambda c: rows.all_rows(
                c, f"SELECT * FROM session_members WHERE session_id = ?{where} ORDER BY id", (sid,)
            )
        )
        return [rows.member(r) for r in found]

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
            now = self._db.clock()
            if await rows.one(conn, "SELECT 1 FROM sessions WHERE id = ?", (sid,)) is None:
                raise NotFound(f"session {sid} does not exist")
            out = []
            for track, link in zip(tracks, links, strict=True):
                row = await rows.one(
                    conn,
                    "INSERT INTO session_tracks (session_id, track_id, suggestion_id, suggested_at, played_at)"
                    " VALUES (?, ?, ?, ?, ?) RETURNING *",
                    (sid, track, link, now, now if played else None),
                )
                assert row is not None
                out.append(rows.session_track(row))
            return out

        return await self._db.write(job)

    async def mark_played(self, session_id: int, track_id: str) -> bool:
        """Mark a session track as played; False if the track was never added to the session."""
        sid, track = v.row_id(session_id, "session_id"), v.track(track_id)

        async def job(conn: Conn) -> bool:
            cursor = await conn.execute(
                "UPDATE session_tracks SET played_at = ? WHERE session_id = ? AND track_id = ? AND played_at IS NULL",
                (self._db.clock(), sid, track),
            )
            return cursor.rowcount > 0

        return await self._db.write(job)

    async def session_tracks(self, session_id: int) -> list[SessionTrackRecord]:
        sid = v.row_id(session_id, "session_id")
        found = await self._db.read(
            lambda c: rows.all_rows(
                c, "SELECT * FROM session_tracks WHERE session_id = ? ORDER BY id", (sid,)
            )
        )
        return [rows.session_track(r) for r in found]

    async def end_session(self, session_id: int) -> SessionRecord | None:
        """End a session (and everyone's membership); ending twice keeps the first end time."""
        sid = v.row_id(session_id, "session_id")

        async def job(conn: Conn) -> SessionRecord | None:
            now = self._db.clock()
            await conn.execute(
                "UPDATE sessions SET ended_at = ? WHERE id = ? AND ended_at IS NULL", (now, sid)
            )
            await conn.execute(
                "UPDATE session_members SET left_at = ? WHERE session_id = ? AND left_at IS NULL", (now, sid)
            )
            row = await rows.one(conn, "SELECT * FROM sessions WHERE id = ?", (sid,))
            return None if row is None else rows.session(row)

        return await self._db.write(job)
