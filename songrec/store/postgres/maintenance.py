"""Health and housekeeping on PostgreSQL: size, integrity (amcheck when available), settings, version."""

from __future__ import annotations

from typing import Any

from songrec.store.postgres import migrations
from songrec.store.postgres.connection import Database, PgConn

#: The tables songrec's schema must have; a missing one is a problem integrity_check reports.
TABLES = (
    "users",
    "sessions",
    "suggestions",
    "feedback",
    "session_members",
    "session_tracks",
    "guild_settings",
    "training_runs",
    "spotify_track_cache",
    "schema_migrations",
)
#: The server settings that durability and safety depend on (the PostgreSQL side of SQLite's PRAGMAs).
_SETTINGS = (
    "fsync",
    "synchronous_commit",
    "full_page_writes",
    "lock_timeout",
    "default_transaction_read_only",
)


class PostgresMaintenance:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def database_size(self) -> int:
        """Bytes on disk for this database (tables, indexes and their free space)."""
        return int(
            await self._db.read(lambda c: c.raw.fetchval("SELECT pg_database_size(current_database())"))
        )

    async def integrity_check(self) -> list[str]:
        """Problems found; [] means healthy. Every table present, every index valid, and, when the
        amcheck extension is installed in the database, each B-tree index checked against its table."""

        async def job(conn: PgConn) -> list[str]:
            raw = conn.raw
            problems = [
                f"table {name} is missing"
                for name in TABLES
                if not await raw.fetchval("SELECT to_regclass($1) IS NOT NULL", name)
            ]
            for row in await raw.fetch(
                "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
                " JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = current_schema() AND NOT (i.indisvalid AND i.indisready)"
            ):
                problems.append(f"index {row['relname']} is invalid (rebuild it with REINDEX)")
            if await raw.fetchval("SELECT count(*) FROM pg_extension WHERE extname = 'amcheck'"):
                for row in await raw.fetch(
                    "SELECT c.oid, c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
                    " JOIN pg_am a ON a.oid = c.relam JOIN pg_namespace n ON n.oid = c.relnamespace"
                    " WHERE a.amname = 'btree' AND n.nspname = current_schema() AND i.indisvalid"
                ):
                    try:
                        await raw.execute("SELECT bt_index_check($1::oid::regclass, true)", row["oid"])
                    except Exception as exc:  # amcheck reports corruption as an error
                        problems.append(f"index {row['relname']}: {exc}")
            return problems

        return await self._db.read(job)

    async def pragmas(self) -> dict[str, Any]:
        """The server settings durability and safety depend on (for /stats and tests)."""

        async def job(conn: PgConn) -> dict[str, Any]:
            found = await conn.raw.fetch(
                "SELECT name, setting FROM pg_settings WHERE name = ANY($1::text[])", list(_SETTINGS)
            )
            return {r["name"]: r["setting"] for r in found}

        return await self._db.read(job)

    async def schema_version(self) -> int:
        return await self._db.read(lambda c: migrations.schema_version(c.raw))
