"""How the contract suite opens each store backend, and the few things a test needs that only the
backend itself can do (another process holding the write lock, a scan of every stored value, a
child process that opens the same database). A new backend adds one class here and one entry in
BACKENDS (tests/store/conftest.py)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Protocol

from songrec.store import Store, StoreBackend, open_store
from tests.support.postgres_server import PostgresServer, run_sync


class Clock:
    """A controllable clock (the store's ``clock`` option), so time windows are tested without sleeping."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


class WriteLock(Protocol):
    """Another process holding the database's write lock until released (or stopped)."""

    def release(self) -> None: ...
    def stop(self) -> None: ...


class BackendFactory(Protocol):
    name: str

    async def open(self, **options: Any) -> StoreBackend:
        """Open (or reopen) this test's database. Options: clock, busy_timeout_s, busy_deadline_s,
        readonly, max_batch (a backend without one of these knobs ignores it)."""
        ...

    def hold_write_lock(self) -> WriteLock:
        """Start another process that takes the write lock, caches track 'locker' as {} inside its
        transaction, and commits when released."""
        ...

    def rows_mentioning(self, needle: str) -> dict[str, int]:
        """For every table and column: how many rows hold ``needle`` in their value, as text."""
        ...

    def child_source(self) -> str:
        """Python source defining ``async def open_store()`` that opens this database in a child process."""
        ...

    def check_recovered(self) -> None:
        """After a crashed writer: the database is whole as the database engine itself sees it."""
        ...


_SQLITE_LOCKER = textwrap.dedent(
    """
    import sqlite3, sys
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")          # take the write lock and sit on it
    conn.execute("INSERT INTO spotify_track_cache VALUES ('locker', '{}', 0)")
    print("locked", flush=True)
    sys.stdin.readline()                     # until the test says so
    conn.execute("COMMIT")
    print("released", flush=True)
    """
)


class SqliteLocker:
    """A separate process that holds a write transaction on the SQLite file until released."""

    def __init__(self, script: Path, db: Path) -> None:
        script.write_text(self.source())
        self.proc = subprocess.Popen(
            [sys.executable, str(script), str(db)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline() == "locked\n"

    @staticmethod
    def source() -> str:
        return _SQLITE_LOCKER

    def release(self) -> None:
        if self.proc.poll() is None and self.proc.stdin is not None and not self.proc.stdin.closed:
            self.proc.stdin.write("go\n")
            self.proc.stdin.flush()
            assert self.proc.stdout is not None
            assert self.proc.stdout.readline() == "released\n"

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=30)
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()


class SqliteBackend:
    name = "sqlite"

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.db = folder / "songrec.sqlite3"

    async def open(self, **options: Any) -> StoreBackend:
        return await Store.open(self.db, **options)

    def hold_write_lock(self) -> WriteLock:
        return SqliteLocker(self.folder / "locker.py", self.db)

    def rows_mentioning(self, needle: str) -> dict[str, int]:
        found: dict[str, int] = {}
        with sqlite3.connect(self.db) as conn:
            tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            assert "feedback" in tables and "users" in tables
            for table in tables:
                for column in [r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')]:
                    n = conn.execute(
                        f'SELECT count(*) FROM "{table}" WHERE CAST("{column}" AS TEXT) LIKE ?',
                        (f"%{needle}%",),
                    ).fetchone()[0]
                    if n:
                        found[f"{table}.{column}"] = n
        return found

    def child_source(self) -> str:
        return f"from songrec.store import Store\n\nasync def open_store():\n    return await Store.open({str(self.db)!r})\n"

    def check_recovered(self) -> None:
        with sqlite3.connect(self.db) as raw:  # a plain connection: recovery + integrity as SQLite sees it
            assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


_PG_LOCKER = textwrap.dedent(
    """
    import asyncio, sys
    import asyncpg

    async def main(url: str) -> None:
        conn = await asyncpg.connect(url)
        tx = conn.transaction()
        await tx.start()
        # PostgreSQL has no database-wide write lock: lock every table against other writers (readers
        # go on), which is what SQLite's BEGIN IMMEDIATE does to another process.
        names = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'schema_migrations'"
        )
        await conn.execute("LOCK TABLE " + ", ".join(r[0] for r in names) + " IN EXCLUSIVE MODE")
        await conn.execute("INSERT INTO spotify_track_cache VALUES ('locker', '{}', 0)")
        print("locked", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        await tx.commit()
        print("released", flush=True)

    asyncio.run(main(sys.argv[1]))
    """
)


class PostgresLocker(SqliteLocker):
    """A separate process that holds every table's write lock on the PostgreSQL database until released."""

    def __init__(self, script: Path, url: str) -> None:
        super().__init__(script, url)  # type: ignore[arg-type]

    @staticmethod
    def source() -> str:
        return _PG_LOCKER


class PostgresBackend:
    name = "postgres"

    def __init__(self, server: PostgresServer, folder: Path) -> None:
        self.server = server
        self.folder = folder
        self.url = server.create_database()

    async def open(self, **options: Any) -> StoreBackend:
        return await open_store(self.url, **options)

    def hold_write_lock(self) -> WriteLock:
        return PostgresLocker(self.folder / "locker.py", self.url)

    def rows_mentioning(self, needle: str) -> dict[str, int]:
        async def scan() -> dict[str, int]:
            import asyncpg

            conn = await asyncpg.connect(self.url)
            try:
                columns = await conn.fetch(
                    "SELECT table_name, column_name FROM information_schema.columns"
                    " WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
                )
                tables = {r["table_name"] for r in columns}
                assert "feedback" in tables and "users" in tables
                found: dict[str, int] = {}
                for r in columns:
                    table, column = r["table_name"], r["column_name"]
                    n = await conn.fetchval(
                        f'SELECT count(*) FROM "{table}" WHERE CAST("{column}" AS TEXT) LIKE $1',
                        f"%{needle}%",
                    )
                    if n:
                        found[f"{table}.{column}"] = n
                return found
            finally:
                await conn.close()

        return run_sync(scan)

    def child_source(self) -> str:
        return (
            "from songrec.store import open_store as _open\n\n"
            f"async def open_store():\n    return await _open({self.url!r})\n"
        )

    def check_recovered(self) -> None:
        async def check() -> None:
            import asyncpg

            conn = await asyncpg.connect(self.url)
            try:
                await conn.execute("CREATE EXTENSION IF NOT EXISTS amcheck")
                # Every B-tree index agrees with its table (the live-vote index above all).
                for row in await conn.fetch(
                    "SELECT c.oid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
                    " JOIN pg_am a ON a.oid = c.relam WHERE a.amname = 'btree'"
                    " AND c.relnamespace = current_schema()::regnamespace"
                ):
                    await conn.execute("SELECT bt_index_check($1::oid::regclass, true)", row["oid"])
            finally:
                await conn.close()

        run_sync(check)
