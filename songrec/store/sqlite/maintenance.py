"""Health and housekeeping: size on disk, integrity, the connection's PRAGMAs, the schema version."""

from __future__ import annotations

from typing import Any

from songrec.store.sqlite import migrations, rows
from songrec.store.sqlite.connection import Database
from songrec.store.sqlite.rows import Conn

#: The connection settings that durability and safety depend on.
_PRAGMAS = ("journal_mode", "synchronous", "foreign_keys", "busy_timeout", "secure_delete")


class SqliteMaintenance:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def database_size(self) -> int:
        """Bytes used by the database pages (the WAL file comes on top until the next checkpoint)."""
        row = await self._db.read(
            lambda c: rows.one(
                c, "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()"
            )
        )
        return int(row[0]) if row else 0

    async def integrity_check(self) -> list[str]:
        """Problems found by PRAGMA integrity_check and foreign_key_check; [] means healthy."""

        async def job(conn: Conn) -> list[str]:
            problems = [
                str(r[0]) for r in await rows.all_rows(conn, "PRAGMA integrity_check") if r[0] != "ok"
            ]
            for r in await rows.all_rows(conn, "PRAGMA foreign_key_check"):
                problems.append(f"foreign key: {r[0]} rowid {r[1]} points at a missing {r[2]} row")
            return problems

        return await self._db.read(job, snapshot=True)

    async def pragmas(self) -> dict[str, Any]:
        """The connection settings that durability and safety depend on (for /stats and tests)."""

        async def job(conn: Conn) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for name in _PRAGMAS:
                row = await rows.one(conn, f"PRAGMA {name}")
                out[name] = row[0] if row else None
            return out

        return await self._db.read(job)

    async def schema_version(self) -> int:
        return await self._db.read(migrations.schema_version)
