"""Group commit: concurrent votes share transactions, a bad one fails alone, and (SQLite) a batch of
statement-only jobs runs whole on the database thread (InThread) with the same all-or-nothing rules."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from songrec.domain import InvalidInput
from songrec.store import Store, StoreBackend
from songrec.store.sqlite.connection import InThread
from songrec.store.sqlite.rows import Conn

USERS = [555555555555556000 + i for i in range(200)]


async def test_concurrent_votes_share_commits_and_a_bad_one_fails_alone(store: StoreBackend) -> None:
    before_batches, before_jobs = store.stats.write_batches, store.stats.write_jobs
    votes = [store.vote(u, 1, "reaction", track_id=f"t{i % 7}") for i, u in enumerate(USERS)]
    bad = store.vote(USERS[0], 1, "reaction", suggestion_id=987654)  # no such suggestion
    results = await asyncio.gather(*votes, bad, return_exceptions=True)
    assert all(not isinstance(r, BaseException) and r[1] for r in results[:-1])
    assert isinstance(results[-1], Exception) and "does not exist" in str(results[-1])
    assert await store.feedback_count_since(0) == len(USERS)
    jobs = store.stats.write_jobs - before_jobs
    batches = store.stats.write_batches - before_batches
    assert jobs >= len(USERS) and batches <= 20, (jobs, batches)  # hundreds of writes, a few commits


async def test_in_thread_jobs_keep_the_transaction_rules(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "g.sqlite3") as store:
        db = store.db

        async def insert(conn: Conn, user: int) -> int:
            await conn.execute("INSERT INTO users (user_id, created_at) VALUES (?, 0)", (user,))
            rows = await conn.execute_fetchall("SELECT count(*) FROM users")
            return int(list(rows)[0][0])

        async def failing(conn: Conn) -> None:
            await conn.execute("INSERT INTO users (user_id, created_at) VALUES (1, 0)")
            raise InvalidInput("no")

        async def suspends(conn: Conn) -> None:
            await asyncio.sleep(0)

        ok = [db.write(InThread(lambda c, u=u: insert(c, u))) for u in (11, 12, 13)]
        results = await asyncio.gather(
            *ok, db.write(InThread(failing)), db.write(InThread(suspends)), return_exceptions=True
        )
        assert sorted(results[:3]) == [1, 2, 3]  # type: ignore[type-var]
        assert isinstance(results[3], InvalidInput)
        assert isinstance(results[4], RuntimeError) and "awaited something other" in str(results[4])
        count = await db.read(lambda c: c.execute_fetchall("SELECT user_id FROM users ORDER BY user_id"))
        assert [r[0] for r in count] == [11, 12, 13], "the failed jobs rolled back to their savepoints"
        with pytest.raises(RuntimeError):
            await db.write(InThread(suspends))  # alone in its batch: the transaction is rolled back
        assert await db.write(InThread(lambda c: insert(c, 14))) == 4
