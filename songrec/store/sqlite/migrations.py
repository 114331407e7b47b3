"""Applies the numbered SQL files in migrations/ in order, each in one transaction, and records them.

Where the files are found: the package ships them as ``songrec/store/sql/`` (in a checkout that is a
symlink to the repository's ``migrations/`` folder, so there is one copy of the schema); if that
resource is missing (a checkout without symlinks), the repository's ``migrations/`` folder is used.
Bookkeeping lives in ``schema_migrations`` (version, name, checksum, applied_at), mirrored in
``PRAGMA user_version`` for people poking at the file with the sqlite3 shell.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import time
from dataclasses import dataclass
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

import aiosqlite

from songrec.domain import DatabaseTooNew, MigrationError
from songrec.store.sqlite._driver import Backoff, begin_immediate, is_busy, rollback_quietly

FILE_PATTERN = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
#: Statements a migration file may not contain: the runner owns transactions and connection pragmas.
_FORBIDDEN = re.compile(r"^(BEGIN|COMMIT|END|ROLLBACK|SAVEPOINT|RELEASE|PRAGMA|VACUUM|ATTACH|DETACH)\b", re.I)
_LEADING_COMMENTS = re.compile(r"^(\s+|--[^\n]*(\n|$)|/\*.*?\*/)*", re.S)

_BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    checksum    TEXT NOT NULL,
    applied_at  REAL NOT NULL
)
"""


@dataclass(frozen=True, slots=True)
class Migration:
    """One NNNN_name.sql file."""

    version: int
    name: str
    sql: str

    @property
    def filename(self) -> str:
        return f"{self.version:04d}_{self.name}.sql"

    @property
    def checksum(self) -> str:
        """sha256 of the text with normalised line endings, so a CRLF checkout is not a 'changed' file."""
        return hashlib.sha256(self.sql.replace("\r\n", "\n").encode()).hexdigest()

    def statements(self) -> list[str]:
        return split_statements(self.sql, self.filename)


def split_statements(sql: str, filename: str = "<sql>") -> list[str]:
    """Split a script into complete statements (sqlite3.complete_statement copes with strings and triggers)."""
    statements: list[str] = []
    buffer = ""
    *pieces, tail = sql.split(";")
    for piece in pieces:
        buffer += piece + ";"
        if sqlite3.complete_statement(buffer):
            statement = buffer.strip()
            body = _LEADING_COMMENTS.sub("", statement, count=1)
            if body.strip(" \t\r\n;"):
                keyword = _FORBIDDEN.match(body)
                if keyword:
                    raise MigrationError(
                        f"{filename}: {keyword.group(1).upper()} is not allowed in a migration file "
                        "(the runner wraps each file in its own transaction and sets pragmas itself)"
                    )
                statements.append(statement)
            buffer = ""
    # What is left is the text after the last ';': fine if it is only whitespace and comments.
    leftover = _LEADING_COMMENTS.sub("", buffer + tail, count=1).strip()
    if leftover:
        raise MigrationError(f"{filename}: the last statement is not terminated by ';': {leftover[:60]!r}")
    return statements


def default_migrations_dir() -> Traversable:
    """The packaged songrec/store/sql folder, else the repository's migrations/ folder."""
    packaged = resources.files("songrec.store").joinpath("sql")
    if packaged.is_dir() and any(FILE_PATTERN.match(p.name) for p in packaged.iterdir()):
        return packaged
    repo = Path(__file__).resolve().parents[3]
    if (repo / "migrations").is_dir() and (repo / "pyproject.toml").is_file():
        return repo / "migrations"
    raise MigrationError(
        f"no migration files found: looked in {packaged} and {repo / 'migrations'}; reinstall songrec "
        "(the wheel must include songrec/store/sql/*.sql)"
    )


def discover(directory: Traversable | Path | None = None) -> list[Migration]:
    """Read and validate the migration files: numbered 0001.. without gaps or duplicates."""
    folder: Traversable = directory if directory is not None else default_migrations_dir()
    found: dict[int, Migration] = {}
    for entry in folder.iterdir():
        match = FILE_PATTERN.match(entry.name)
        if not match:
            if entry.name.endswith(".sql"):
                raise MigrationError(f"{entry.name}: migration files must be named NNNN_snake_name.sql")
            continue
        version = int(match.group(1))
        if version in found:
            raise MigrationError(
                f"two migration files share version {version:04d}: {found[version].filename}, {entry.name}"
            )
        found[version] = Migration(version, match.group(2), entry.read_text(encoding="utf-8"))
    ordered = [found[v] for v in sorted(found)]
    for expected, migration in enumerate(ordered, start=1):
        if migration.version != expected:
            raise MigrationError(f"migration {expected:04d} is missing (found {migration.filename} instead)")
    if not ordered:
        raise MigrationError(f"no migration files in {folder}")
    return ordered


async def applied_versions(conn: aiosqlite.Connection) -> dict[int, tuple[str, str]]:
    """version -> (name, checksum) for every migration recorded in the database."""
    exists = await conn.execute_fetchall(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
    )
    if not list(exists):
        return {}
    rows = await conn.execute_fetchall("SELECT version, name, checksum FROM schema_migrations")
    return {int(r[0]): (str(r[1]), str(r[2])) for r in rows}


def _check_history(label: str, applied: dict[int, tuple[str, str]], migrations: list[Migration]) -> None:
    latest = migrations[-1].version
    db_version = max(applied, default=0)
    if db_version > latest:
        raise DatabaseTooNew(label, db_version, latest)
    for migration in migrations:
        if migration.version in applied and applied[migration.version][1] != migration.checksum:
            raise MigrationError(
                f"{migration.filename} was changed after it was applied to {label}; migrations are "
                "append-only: restore the file and put the change in a new numbered migration"
            )


async def schema_version(conn: aiosqlite.Connection) -> int:
    return max(await applied_versions(conn), default=0)


async def migrate(
    conn: aiosqlite.Connection,
    label: str,
    migrations: list[Migration] | None = None,
    busy_deadline_s: float = 10.0,
) -> list[int]:
    """Bring the database up to the newest migration; returns the versions applied now (empty if none).

    Safe to run from two processes at once: each file's transaction re-reads the history under the
    write lock and skips versions another process applied in the meantime.
    """
    migrations = migrations if migrations is not None else discover()
    applied = await applied_versions(conn)
    _check_history(label, applied, migrations)
    pending = [m for m in migrations if m.version not in applied]
    if not pending:
        return []
    backoff = Backoff(busy_deadline_s, "apply migrations")
    while True:
        try:
            await conn.execute(_BOOKKEEPING)
            break
        except sqlite3.OperationalError as exc:
            if not is_busy(exc):
                raise
            await backoff.wait(exc)
    # Table rebuilds (the SQLite 12-step ALTER) need foreign keys off; we check them before each commit.
    await conn.execute("PRAGMA foreign_keys = OFF")
    done: list[int] = []
    try:
        for migration in pending:
            await begin_immediate(conn, backoff)
            try:
                applied = await applied_versions(conn)
                _check_history(label, applied, migrations)
                if migration.version in applied:
                    await conn.execute("ROLLBACK")
                    continue
                for statement in migration.statements():
                    await conn.execute(statement)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)",
                    (migration.version, migration.name, migration.checksum, time.time()),
                )
                await conn.execute(f"PRAGMA user_version = {migration.version:d}")
                violations = list(await conn.execute_fetchall("PRAGMA foreign_key_check"))
                if violations:
                    raise MigrationError(
                        f"{migration.filename} leaves {len(violations)} foreign-key violations, e.g. {tuple(violations[0])}"
                    )
                await conn.execute("COMMIT")
                done.append(migration.version)
            except sqlite3.Error as exc:
                await rollback_quietly(conn)
                raise MigrationError(
                    f"{migration.filename} failed on {label} and was rolled back: {exc}"
                ) from exc
            except BaseException:
                await rollback_quietly(conn)
                raise
    finally:
        await conn.execute("PRAGMA foreign_keys = ON")
    return done
