"""`songrec db copy --from sqlite:///path --to postgresql://...`: move an install to PostgreSQL.

Every table is copied in id order, one transaction per table, with ON CONFLICT DO NOTHING, so a copy
that was interrupted is finished by running it again with --resume (rows already there are kept).
A target that already holds data is refused unless --resume or --replace (empty it first) says what
to do. Afterwards the row counts of every table must match, and each id sequence is moved past the
highest id the source ever handed out (SQLite's AUTOINCREMENT high-water mark, which survives
deleted rows), so ids keep growing and training cursors stay valid.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from songrec.domain import SongrecError, StoreError

#: Parents before children, so every foreign key finds its row.
TABLES = (
    "users",
    "sessions",
    "suggestions",
    "feedback",
    "session_members",
    "session_tracks",
    "guild_settings",
    "server_mixes",
    "training_runs",
    "spotify_track_cache",
)
KEYS = {"users": "user_id", "guild_settings": "guild_id", "spotify_track_cache": "track_id"}
BATCH = 5000


@dataclass
class TableCopy:
    table: str
    source_rows: int
    target_rows: int = 0

    @property
    def ok(self) -> bool:
        return self.source_rows == self.target_rows


def add_parser(sub: Any) -> None:
    """Register `songrec db ...` on the `songrec` command's subparsers."""
    p = sub.add_parser("db", help="database tools: `db copy` moves a SQLite install to PostgreSQL")
    db_sub = p.add_subparsers(dest="db_command", required=True, metavar="DB_COMMAND")
    c = db_sub.add_parser("copy", help="copy every table from one database to another, verified")
    c.add_argument(
        "--from", dest="source", required=True, help="sqlite:///path/to/songrec.sqlite3 (or a path)"
    )
    c.add_argument("--to", dest="target", required=True, help="postgresql://user@host:port/database")
    mode = c.add_mutually_exclusive_group()
    mode.add_argument(
        "--resume", action="store_true", help="the target holds an earlier, unfinished copy: finish it"
    )
    mode.add_argument("--replace", action="store_true", help="empty the target's tables first")
    c.set_defaults(func=cmd_copy)


def cmd_copy(args: argparse.Namespace) -> int:
    try:
        copies = asyncio.run(
            copy_database(args.source, args.target, resume=args.resume, replace=args.replace)
        )
    except (SongrecError, StoreError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    width = max(len(c.table) for c in copies)
    print(f"{'table':<{width}}  {'source':>9}  {'target':>9}")
    for c in copies:
        print(f"{c.table:<{width}}  {c.source_rows:>9}  {c.target_rows:>9}  {'ok' if c.ok else 'MISMATCH'}")
    if not all(c.ok for c in copies):
        print(
            "error: row counts differ; run again with --resume, or --replace to start over", file=sys.stderr
        )
        return 1
    print(f"copied {sum(c.target_rows for c in copies)} rows; point SONGREC_DATABASE_URL at the target")
    return 0


async def copy_database(
    source: str, target: str, *, resume: bool = False, replace: bool = False
) -> list[TableCopy]:
    """Copy every table from a SQLite database to a PostgreSQL one; returns the counts per table."""
    import asyncpg

    from songrec.store import Store, parse_target
    from songrec.store.postgres import PostgresStore

    src, dst = parse_target(source, setting="--from"), parse_target(target, setting="--to")
    if src.engine != "sqlite" or dst.engine != "postgresql":
        raise StoreError(
            "db copy copies from a SQLite database (--from sqlite:///...) to PostgreSQL (--to postgresql://...)"
        )
    async with await Store.open(src.location, readonly=True):  # refuses a missing, too-old or too-new file
        pass
    async with await PostgresStore.open(dst.location):  # creates or checks the schema on the target
        pass
    conn = await asyncpg.connect(dst.location)
    try:
        existing = {t: int(await conn.fetchval(f"SELECT count(*) FROM {t}")) for t in TABLES}
        if any(existing.values()) and not (resume or replace):
            held = ", ".join(f"{t} {n}" for t, n in existing.items() if n)
            raise StoreError(
                f"the target {dst.label} is not empty ({held} rows); run with --resume to finish an "
                "interrupted copy (rows already there are kept) or --replace to empty it first"
            )
        if replace:
            await conn.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY")
        copies = []
        with sqlite3.connect(f"file:{quote(str(Path(src.location).resolve()))}?mode=ro", uri=True) as lite:
            lite.row_factory = sqlite3.Row
            lite.execute("BEGIN")  # one snapshot of the source for every table
            for table in TABLES:
                copies.append(await _copy_table(lite, conn, table))
            marks = dict(lite.execute("SELECT name, seq FROM sqlite_sequence").fetchall())
        for table in TABLES:
            if table not in KEYS:
                high = max(
                    int(marks.get(table) or 0),
                    int(await conn.fetchval(f"SELECT coalesce(max(id), 0) FROM {table}")),
                )
                await conn.execute(
                    "SELECT setval(pg_get_serial_sequence($1, 'id'), $2, $3)", table, max(high, 1), high > 0
                )
        return copies
    finally:
        await conn.close()


async def _copy_table(lite: sqlite3.Connection, conn: Any, table: str) -> TableCopy:
    key = KEYS.get(table, "id")
    target_columns = {
        r["column_name"]
        for r in await conn.fetch(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1",
            table,
        )
    }
    cursor = lite.execute(f"SELECT * FROM {table} ORDER BY {key}")
    columns = [d[0] for d in cursor.description if d[0] in target_columns]
    later = "replaced_by" if table == "feedback" else None  # points at newer rows: set after they exist
    insert_columns = [c for c in columns if c != later]
    sql = (
        f"INSERT INTO {table} ({', '.join(insert_columns)}) VALUES "
        f"({', '.join(f'${i}' for i in range(1, len(insert_columns) + 1))}) ON CONFLICT DO NOTHING"
    )
    links: list[tuple[int, int]] = []
    source_rows = 0
    async with conn.transaction():
        while rows := cursor.fetchmany(BATCH):
            source_rows += len(rows)
            await conn.executemany(sql, [_values(r, insert_columns) for r in rows])
            if later:
                links += [(r["id"], r[later]) for r in rows if r[later] is not None]
        if links:
            await conn.executemany(
                f"UPDATE {table} SET {later} = $2 WHERE id = $1 AND {later} IS NULL", links
            )
    return TableCopy(table, source_rows, int(await conn.fetchval(f"SELECT count(*) FROM {table}")))


def _values(row: sqlite3.Row, columns: Sequence[str]) -> tuple[Any, ...]:
    return tuple(row[c] for c in columns)
