"""A user's data rights on PostgreSQL: the SQLite part's forget and export, and history in PG's types."""

from __future__ import annotations

from typing import Any

from songrec.domain import HistoryEntry
from songrec.store import _validate as v
from songrec.store.postgres.connection import Database, PgConn
from songrec.store.sqlite import rows
from songrec.store.sqlite.privacy import _FORGET, SqlitePrivacy


class PostgresPrivacy(SqlitePrivacy):
    """Same rows erased and exported; PostgreSQL has no WAL checkpoint to force and wants one type
    per UNION column (``undone`` is boolean on both sides here)."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)  # type: ignore[arg-type]
        self._pg = db

    async def forget_user(self, user_id: int) -> dict[str, int]:
        """Delete every row about the user in one transaction; returns rows removed per table.

        Sessions they started stay (they belong to the group) with created_by cleared. The freed
        space is reclaimed by autovacuum (docs/scaling.md says what that means for erasure).
        """
        uid = v.snowflake(user_id, "user_id")

        async def job(conn: PgConn) -> dict[str, int]:
            return {table: (await conn.execute(sql, (uid,))).rowcount for table, sql in _FORGET}

        return await self._pg.write(job)

    async def history(self, user_id: int, limit: int = 20) -> list[HistoryEntry]:
        """The user's recent suggestions and votes, newest first."""
        uid, n = v.snowflake(user_id, "user_id"), v.positive_limit(limit)

        async def job(conn: PgConn) -> list[Any]:
            return await conn.execute_fetchall(
                "SELECT created_at AS at, 'suggested' AS event, track_id, id AS suggestion_id, kind AS source,"
                " false AS undone, id AS tiebreak FROM suggestions WHERE user_id = ?"
                " UNION ALL"
                " SELECT created_at, CASE value WHEN 1 THEN 'liked' ELSE 'disliked' END, track_id, suggestion_id,"
                " source, undone_at IS NOT NULL, id FROM feedback WHERE user_id = ?"
                " ORDER BY at DESC, event, tiebreak DESC LIMIT ?",
                (uid, uid, n),
            )

        found = await self._pg.read(job, snapshot=True)
        return [rows.build(HistoryEntry, r, undone=bool(r["undone"])) for r in found]
