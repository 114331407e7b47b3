"""SQLite only: what the file itself promises. Durability PRAGMAs on every connection, WAL readers beside
a writer, and forget_user erasing bytes (secure_delete + checkpoint), not just unlinking rows."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

import pytest

from songrec.store import Store
from songrec.store.sqlite import checkpoints
from songrec.store.sqlite.connection import Database
from songrec.store.sqlite.rows import one
from tests.store.people import populate

GONE = 987654321987654321
STAYS = 123456789123456789
SECRET = "zz_secret_marker_for_forget"


async def test_connection_pragmas_for_durability_and_safety(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "songrec.sqlite3") as store:
        pragmas = await store.pragmas()
    assert pragmas["journal_mode"] == "wal"
    assert pragmas["synchronous"] == 2  # FULL: every acknowledged commit is on disk
    assert pragmas["foreign_keys"] == 1
    assert pragmas["busy_timeout"] > 0
    assert pragmas["secure_delete"] == 1


async def test_forgotten_bytes_are_gone_from_the_files(tmp_path: Path) -> None:
    db = tmp_path / "songrec.sqlite3"
    async with await Store.open(db) as store:
        await populate(store, GONE, SECRET)
        await populate(store, STAYS, "keep")
        assert any(
            SECRET.encode() in p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith(db.name)
        )
        await store.forget_user(GONE)
    for path in db.parent.iterdir():
        if path.name.startswith(db.name):
            assert SECRET.encode() not in path.read_bytes(), path.name


async def test_a_plain_sqlite_reader_sees_committed_votes_while_the_store_is_open(tmp_path: Path) -> None:
    db = tmp_path / "songrec.sqlite3"
    async with await Store.open(db) as store:
        record = await store.add_feedback(STAYS, "t1", 1, "chat")
        with sqlite3.connect(db) as raw:  # WAL: another reader, while our connection stays open
            assert raw.execute("SELECT id, source FROM feedback").fetchall() == [(record.id, "chat")]


async def _fill(db: Database, pages: int) -> None:
    """About `pages` pages of WAL, over several commits."""
    await db.write(lambda conn: conn.execute("CREATE TABLE IF NOT EXISTS filler (b BLOB)"))
    for _ in range(pages // 100):
        await db.write(
            lambda conn: conn.executemany("INSERT INTO filler VALUES (randomblob(4000))", [()] * 100)
        )


async def test_commits_leave_wal_checkpoints_to_the_background(tmp_path: Path) -> None:
    """A commit no longer copies the WAL into the file at SQLite's 1,000 pages (a stall for every write
    queued behind it): the writer's own checkpoint is only a far backstop, and the background one does it."""
    path = tmp_path / "songrec.sqlite3"
    db = await Database.open(path, checkpoint_interval_s=3600)  # the background one waits: commits alone
    try:
        row = await db.write(lambda conn: one(conn, "PRAGMA wal_autocheckpoint"))
        assert row is not None and row[0] == checkpoints.BACKSTOP_PAGES
        await _fill(db, 1500)
        wal = Path(f"{path}-wal")
        assert wal.stat().st_size > 1200 * 4096  # no commit reset it at 1,000 pages
        assert db.checkpointer is not None
        copied = await db.checkpointer.checkpoint()
        assert copied > 1200 and db.checkpointer.stats.frames == copied
        await _fill(db, 300)  # the WAL is reused from its start once checkpointed: it grows no more
        assert wal.stat().st_size <= copied * 4200
    finally:
        await db.close()


async def test_the_background_checkpoint_runs_on_its_own_and_a_failure_loses_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "songrec.sqlite3"
    db = await Database.open(path, checkpoint_interval_s=0.05)
    try:
        await _fill(db, 200)
        checkpointer = db.checkpointer
        assert checkpointer is not None
        for _ in range(100):
            if checkpointer.stats.frames >= 200:
                break
            await asyncio.sleep(0.05)
        assert checkpointer.stats.frames >= 200 and checkpointer.stats.failures == 0
        await checkpointer._conn.close()  # noqa: SLF001 - its connection fails under it
        with caplog.at_level(logging.WARNING):
            for _ in range(100):
                if checkpointer.stats.failures >= 2:
                    break
                await asyncio.sleep(0.05)
        assert checkpointer.stats.failures >= 2
        assert sum("background WAL checkpoint" in r.getMessage() for r in caplog.records) == 1  # said once
        await _fill(db, 100)  # commits go on, and checkpoint themselves past the backstop if it comes to that
        count = await db.read(lambda conn: one(conn, "SELECT count(*) FROM filler"))
        assert count is not None and count[0] == 300
    finally:
        await db.close()
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT count(*) FROM filler").fetchone()[0] == 300


async def test_an_in_memory_or_read_only_database_has_no_checkpointer(tmp_path: Path) -> None:
    memory = await Database.open(":memory:")
    try:
        assert memory.checkpointer is None
    finally:
        await memory.close()
    path = tmp_path / "songrec.sqlite3"
    await (await Database.open(path)).close()
    readonly = await Database.open(path, readonly=True)
    try:
        assert readonly.checkpointer is None
    finally:
        await readonly.close()
