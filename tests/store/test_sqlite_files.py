"""SQLite only: what the file itself promises. Durability PRAGMAs on every connection, WAL readers beside
a writer, and forget_user erasing bytes (secure_delete + checkpoint), not just unlinking rows."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from songrec.store import Store
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
