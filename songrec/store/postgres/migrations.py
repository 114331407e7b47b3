"""Applies migrations/postgres/NNNN_name.sql in order, each in one transaction, and records them.

The PostgreSQL files carry the same versions and names as the SQLite ones in migrations/ (one schema
history, two dialects; tests/store/test_postgres_migrations.py keeps them in step). The bookkeeping
is the same too: ``schema_migrations`` (version, name, checksum, applied_at), a refusal when an
applied file changed, and DatabaseTooNew for a database migrated by a newer songrec. Concurrent
openers serialise on an advisory lock, so two bot processes starting at once migrate once.
"""

from __future__ import annotations

import time
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

import asyncpg

from songrec.domain import DatabaseTooNew, MigrationError
from songrec.store.sqlite.migrations import FILE_PATTERN, Migration
from songrec.store.sqlite.migrations import discover as discover_in

__all__ = ["Migration", "applied_versions", "discover", "migrate", "schema_version"]

#: pg_advisory_xact_lock key: 'songrec' in ASCII, so it is recognisable in pg_locks.
LOCK_KEY = 0x736F6E67726563

_BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    checksum    TEXT NOT NULL,
    applied_at  DOUBLE PRECISION NOT NULL
)
"""


def default_migrations_dir() -> Traversable:
    """The packaged songrec/store/sql/postgres folder, else the repository's migrations/postgres."""
    packaged = resources.files("songrec.store").joinpath("sql").joinpath("postgres")
    if packaged.is_dir() and any(FILE_PATTERN.match(p.name) for p in packaged.iterdir()):
        return packaged
    repo = Path(__file__).resolve().parents[3]
    if (repo / "migrations" / "postgres").is_dir() and (repo / "pyproject.toml").is_file():
        return repo / "migrations" / "postgres"
    raise MigrationError(
        f"no PostgreSQL migration files found: looked in {packaged} and {repo / 'migrations' / 'postgres'}; "
        "reinstall songrec (the wheel must include songrec/store/sql/postgres/*.sql)"
    )


def discover(directory: Traversable | Path | None = None) -> list[Migration]:
    """The PostgreSQL migration files, validated as the SQLite ones are (numbered without gaps)."""
    return discover_in(directory if directory is not None else default_migrations_dir())


async def applied_versions(conn: asyncpg.Connection) -> dict[int, tuple[str, str]]:
    """version -> (name, checksum) for every migration recorded in the database."""
    if not await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL"):
        return {}
    rows = await conn.fetch("SELECT version, name, checksum FROM schema_migrations")
    return {int(r["version"]): (str(r["name"]), str(r["checksum"])) for r in rows}


async def schema_version(conn: asyncpg.Connection) -> int:
    return max(await applied_versions(conn), default=0)


def _check_history(label: str, applied: dict[int, tuple[str, str]], migrations: list[Migration]) -> None:
    latest = migrations[-1].version
    db_version = max(applied, default=0)
    if db_version > latest:
        raise DatabaseTooNew(label, db_version, latest)
    for migration in migrations:
        if migration.version in applied and applied[migration.version][1] != migration.checksum:
            raise MigrationError(
                f"postgres/{migration.filename} was changed after it was applied to {label}; migrations "
                "are append-only: restore the file and put the change in a new numbered migration"
            )


async def migrate(
    conn: asyncpg.Connection, label: str, migrations: list[Migration] | None = None
) -> list[int]:
    """Bring the database up to the newest migration; returns the versions applied now (empty if none)."""
    migrations = migrations if migrations is not None else discover()
    applied = await applied_versions(conn)
    _check_history(label, applied, migrations)
    if all(m.version in applied for m in migrations):
        return []
    done: list[int] = []
    for migration in migrations:
        statements = migration.statements()  # refuses BEGIN/COMMIT/... before anything runs
        try:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock($1)", LOCK_KEY)
                await conn.execute(_BOOKKEEPING)
                applied = await applied_versions(conn)  # re-read under the lock: another opener may have won
                _check_history(label, applied, migrations)
                if migration.version in applied:
                    continue
                for statement in statements:
                    await conn.execute(statement)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)",
                    migration.version,
                    migration.name,
                    migration.checksum,
                    time.time(),
                )
            done.append(migration.version)
        except asyncpg.PostgresError as exc:
            raise MigrationError(
                f"postgres/{migration.filename} failed on {label} and was rolled back: {exc}"
            ) from exc
    return done
