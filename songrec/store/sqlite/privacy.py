"""A user's data rights: forget (erase every row about them), export (all of it), history (recent events)."""

from __future__ import annotations

import contextlib
import dataclasses
import sqlite3
from typing import Any

from songrec.domain import HistoryEntry, StoreError
from songrec.store import _validate as v
from songrec.store._json import loads
from songrec.store.sqlite import rows
from songrec.store.sqlite.connection import Database
from songrec.store.sqlite.rows import Conn

#: What forget_user does, table by table (sessions a user started belong to the group: they stay).
_FORGET = (
    ("feedback", "DELETE FROM feedback WHERE user_id = ?"),
    ("suggestions", "DELETE FROM suggestions WHERE user_id = ?"),
    ("session_members", "DELETE FROM session_members WHERE user_id = ?"),
    ("sessions", "UPDATE sessions SET created_by = NULL WHERE created_by = ?"),
    ("users", "DELETE FROM users WHERE user_id = ?"),
)


class SqlitePrivacy:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def forget_user(self, user_id: int) -> dict[str, int]:
        """Delete every row about the user in one transaction; returns rows removed per table.

        Sessions they started stay (they belong to the group) with created_by cleared. Deleted
        content is zeroed (secure_delete) and the WAL is checkpointed so it does not linger there.
        """
        uid = v.snowflake(user_id, "user_id")

        async def job(conn: Conn) -> dict[str, int]:
            return {table: (await conn.execute(sql, (uid,))).rowcount for table, sql in _FORGET}

        counts = await self._db.write(job)

        async def checkpoint(conn: Conn) -> None:
            await conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # best effort: busy readers just delay it

        with contextlib.suppress(StoreError, sqlite3.Error):
            await self._db.read(checkpoint)
        return counts

    async def export_user(self, user_id: int) -> dict[str, Any]:
        """Everything we hold about the user, as JSON-serialisable data (for a data-access request)."""
        uid = v.snowflake(user_id, "user_id")

        async def job(conn: Conn) -> dict[str, Any]:
            user = await rows.one(conn, "SELECT * FROM users WHERE user_id = ?", (uid,))
            feedback = await rows.all_rows(
                conn, "SELECT * FROM feedback WHERE user_id = ? ORDER BY id", (uid,)
            )
            suggestions = await rows.all_rows(
                conn, "SELECT * FROM suggestions WHERE user_id = ? ORDER BY id", (uid,)
            )
            members = await rows.all_rows(
                conn, "SELECT * FROM session_members WHERE user_id = ? ORDER BY id", (uid,)
            )
            started = await rows.all_rows(
                conn, "SELECT * FROM sessions WHERE created_by = ? ORDER BY id", (uid,)
            )
            return {
                "user_id": uid,
                "user": None
                if user is None
                else {
                    "created_at": user["created_at"],
                    "settings": loads(user["settings"]),
                    "explore_rate": user["explore_rate"],
                },
                "feedback": [dataclasses.asdict(rows.feedback(r)) for r in feedback],
                "suggestions": [dataclasses.asdict(rows.suggestion(r)) for r in suggestions],
                "session_memberships": [dataclasses.asdict(rows.member(r)) for r in members],
                "sessions_started": [dataclasses.asdict(rows.session(r)) for r in started],
            }

        return await self._db.read(job, snapshot=True)

    async def history(self, user_id: int, limit: int = 20) -> list[HistoryEntry]:
        """The user's recent suggestions and votes, newest first."""
        uid, n = v.snowflake(user_id, "user_id"), v.positive_limit(limit)
        found = await self._db.read(
            lambda c: rows.all_rows(
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
        return [rows.build(HistoryEntry, r, undone=bool(r["undone"])) for r in found]
