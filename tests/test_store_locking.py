"""Another process holding the write lock: we retry with backoff, keep reading, then raise StoreBusy."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from songrec.store import Store, StoreBusy

USER = 555555555555555501

LOCKER = textwrap.dedent(
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


class Locker:
    """A separate process that holds a write transaction on the database until released."""

    def __init__(self, tmp_path: Path, db: Path) -> None:
        script = tmp_path / "locker.py"
        script.write_text(LOCKER)
        self.proc = subprocess.Popen(
            [sys.executable, str(script), str(db)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline() == "locked\n"

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


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "songrec.sqlite3"


@pytest.fixture
def locker_factory(tmp_path: Path) -> Iterator[list[Locker]]:
    lockers: list[Locker] = []
    yield lockers
    for locker in lockers:
        locker.stop()


async def test_busy_database_retries_then_raises_store_busy(
    db: Path, tmp_path: Path, locker_factory: list[Locker]
) -> None:
    async with await Store.open(db, busy_timeout_s=0.02, busy_deadline_s=0.6) as store:
        await store.add_feedback(USER, "before", 1, "command")
        locker = Locker(tmp_path, db)
        locker_factory.append(locker)

        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(StoreBusy, match="locked by another process") as info:
            await store.add_feedback(USER, "during", 1, "command")
        assert loop.time() - started >= 0.5  # it waited (retried) rather than failing at once
        assert store.stats.busy_retries >= 2
        assert "Try again" in str(info.value)
        # Readers are not blocked by another process's write lock (WAL).
        assert [r.track_id for r in await store.feedback_for_user(USER)] == ["before"]

        locker.release()
        record = await store.add_feedback(USER, "after", 1, "command")
        assert record.live
        tracks = {r.track_id for r in await store.feedback_for_user(USER)}
        assert tracks == {"before", "after"}  # the refused write was not half-applied
        assert await store.get_spotify_track("locker") == {}  # the other process's commit is visible


async def test_lock_released_within_deadline_means_success(
    db: Path, tmp_path: Path, locker_factory: list[Locker]
) -> None:
    async with await Store.open(db, busy_timeout_s=0.02, busy_deadline_s=20) as store:
        locker = Locker(tmp_path, db)
        locker_factory.append(locker)
        asyncio.get_running_loop().call_later(0.4, locker.release)
        results = await asyncio.gather(*(store.add_feedback(USER, f"t{i}", 1, "button") for i in range(30)))
        assert len({r.id for r in results}) == 30
        assert store.stats.busy_retries >= 1
        assert len(await store.feedback_for_user(USER)) == 30
