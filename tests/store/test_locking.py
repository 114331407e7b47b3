"""Another process holding the write lock: we retry with backoff, keep reading, then raise StoreBusy
(against every backend: each says in tests/store/backends.py how another process takes its lock)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from songrec.domain import StoreBusy
from tests.store.backends import BackendFactory, WriteLock

USER = 555555555555555501


@pytest.fixture
def lockers() -> Iterator[list[WriteLock]]:
    held: list[WriteLock] = []
    yield held
    for lock in held:
        lock.stop()


async def test_busy_database_retries_then_raises_store_busy(
    store_backend: BackendFactory, lockers: list[WriteLock]
) -> None:
    async with await store_backend.open(busy_timeout_s=0.02, busy_deadline_s=0.6) as store:
        await store.add_feedback(USER, "before", 1, "command")
        locker = store_backend.hold_write_lock()
        lockers.append(locker)

        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(StoreBusy, match="locked by another process") as info:
            await store.add_feedback(USER, "during", 1, "command")
        assert loop.time() - started >= 0.5  # it waited (retried) rather than failing at once
        assert store.stats.busy_retries >= 2
        assert "Try again" in str(info.value)
        # Readers are not blocked by another process's write lock (WAL, MVCC).
        assert [r.track_id for r in await store.feedback_for_user(USER)] == ["before"]

        locker.release()
        record = await store.add_feedback(USER, "after", 1, "command")
        assert record.live
        tracks = {r.track_id for r in await store.feedback_for_user(USER)}
        assert tracks == {"before", "after"}  # the refused write was not half-applied
        assert await store.get_spotify_track("locker") == {}  # the other process's commit is visible


async def test_lock_released_within_deadline_means_success(
    store_backend: BackendFactory, lockers: list[WriteLock]
) -> None:
    async with await store_backend.open(busy_timeout_s=0.02, busy_deadline_s=20) as store:
        locker = store_backend.hold_write_lock()
        lockers.append(locker)
        asyncio.get_running_loop().call_later(0.4, locker.release)
        results = await asyncio.gather(*(store.add_feedback(USER, f"t{i}", 1, "button") for i in range(30)))
        assert len({r.id for r in results}) == 30
        assert store.stats.busy_retries >= 1
        assert len(await store.feedback_for_user(USER)) == 30
