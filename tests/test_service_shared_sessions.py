"""One group session served by two processes at once: /session next takes the session's lock in Redis,
so two bot processes asking at the same moment never offer the same track twice. Two real Services on
one database, each with its own connection to one real redis-server (as two processes would be)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from songrec.coordination import LocalCoordination, open_coordination
from songrec.service import Service
from tests.support.redis_server import RedisServer
from tests.support.service_env import ServiceOpener

pytestmark = pytest.mark.timeout(120)

GUILD, CHANNEL, ALICE, BOB = 5, 6, 7, 8


async def _picks_from_two_processes(one: Service, two: Service, rounds: int) -> list[str]:
    await one.start_session(GUILD, CHANNEL, ALICE, members=[BOB])
    picked: list[str] = []
    for _ in range(rounds):
        batches = await asyncio.gather(
            one.session_next(CHANNEL, ALICE, k=3), two.session_next(CHANNEL, BOB, k=3)
        )
        picked += [s.track.track_id for batch in batches for s in batch]
    return picked


async def test_two_processes_never_offer_the_same_track(
    open_service: ServiceOpener, redis_server: RedisServer, tmp_path: Path
) -> None:
    url = redis_server.fresh_url()
    first, second = await open_coordination(url), await open_coordination(url)
    db = tmp_path / "songrec.sqlite3"
    try:
        async with (
            open_service(db, coordination=first) as one,
            open_service(db, coordination=second) as two,
        ):
            picked = await _picks_from_two_processes(one, two, rounds=4)
        assert len(picked) == 4 * 2 * 3
        assert len(set(picked)) == len(picked), "a track was offered twice"
    finally:
        await first.close()
        await second.close()


async def test_without_a_shared_lock_the_two_processes_collide(
    open_service: ServiceOpener, tmp_path: Path
) -> None:
    """The control: each process with only its own lock picks the same tracks (what Redis prevents)."""
    db = tmp_path / "songrec.sqlite3"
    async with (
        open_service(db, coordination=LocalCoordination()) as one,
        open_service(db, coordination=LocalCoordination()) as two,
    ):
        picked = await _picks_from_two_processes(one, two, rounds=2)
    assert len(set(picked)) < len(picked)
