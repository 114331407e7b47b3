"""Two real `songrec serve` processes (tests/support/serve_process.py: the real composition root, only
pointed at the fake Discord) with disjoint shard ranges of SONGREC_SHARDS=2, on one real PostgreSQL and
one real Redis, each with its own gateway connection to the fake Discord run by this test.

Checked: both record feedback into the one database; a user's cooldown holds across both processes; a
reaction delivered to both is counted once; one retrain (their two schedulers race for it) serves both,
each swapping the promoted ranker in through its RankerWatcher. This is the deployment docker-compose.yml
describes (docs/scaling.md), minus Docker.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from songrec.content.artifacts import ArtifactStore
from songrec.content.engine import Engine
from songrec.models.ranker import RANKER_KIND
from songrec.store import open_store
from tests.support import ranker_env
from tests.support.bot_harness import TOKEN, suggestion_id, suggestion_messages, wait_suggestions
from tests.support.discord_server import EPHEMERAL, FakeDiscord
from tests.support.postgres_server import PostgresServer
from tests.support.redis_server import RedisServer

pytestmark = pytest.mark.timeout(240)

REPO = Path(__file__).resolve().parent.parent
SHARDS = 2
START_TIMEOUT_S = 90.0  # two cold Python processes importing torch on a busy 2-core machine
TRAIN_TIMEOUT_S = 120.0


@dataclass
class BotProcess:
    shard: int
    proc: asyncio.subprocess.Process
    lines: list[str] = field(default_factory=list)
    reader: asyncio.Task[None] | None = None

    def said(self, pattern: str) -> list[str]:
        return [line for line in self.lines if re.search(pattern, line)]

    def tail(self) -> str:
        return "\n".join(self.lines[-40:])


async def _read(bot: BotProcess) -> None:
    assert bot.proc.stdout is not None
    async for raw in bot.proc.stdout:
        bot.lines.append(raw.decode("utf-8", "replace").rstrip())


async def until(predicate: Callable[[], object], seconds: float, what: str, bots: list[BotProcess]) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        dead = [b for b in bots if b.proc.returncode is not None]
        if dead or time.monotonic() > deadline:
            logs = "\n".join(f"--- shard {b.shard} (exit {b.proc.returncode}):\n{b.tail()}" for b in bots)
            raise AssertionError(
                f"{'a bot process exited' if dead else 'timed out'} waiting for {what}\n{logs}"
            )
        await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def bot_processes(env: dict[str, str], homes: list[Path], port: int) -> AsyncIterator[list[BotProcess]]:
    bots: list[BotProcess] = []
    try:
        for shard, home in enumerate(homes):
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "tests.support.serve_process", str(port),
                env={**env, "SONGREC_HOME": str(home), "SONGREC_SHARD_IDS": str(shard)},
                cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            )  # fmt: skip
            bot = BotProcess(shard, proc)
            bot.reader = asyncio.create_task(_read(bot))
            bots.append(bot)
        yield bots
    finally:
        for bot in bots:
            if bot.proc.returncode is None:
                bot.proc.send_signal(signal.SIGINT)  # Ctrl-C: songrec serve stops cleanly
        for bot in bots:
            try:
                await asyncio.wait_for(bot.proc.wait(), 20)
            except TimeoutError:
                bot.proc.kill()
                await bot.proc.wait()
            if bot.reader is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(bot.reader, 5)


def child_env(database_url: str, redis_url: str, threshold: int) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("SONGREC_", "DISCORD_", "SPOTIFY_"))}
    return {
        **keep,
        "PYTHONPATH": str(REPO),
        "DISCORD_TOKEN": TOKEN,
        "SONGREC_DATABASE_URL": database_url,
        "SONGREC_REDIS_URL": redis_url,
        "SONGREC_SHARDS": str(SHARDS),
        "SONGREC_LOG_LEVEL": "INFO",
        "SONGREC_RETRAIN_CHECK_S": "0.5",
        "SONGREC_RETRAIN_MIN_FEEDBACK": str(threshold),
        "SONGREC_RETRAIN_INTERVAL_S": "3600",
        "SONGREC_TRAINING_THREADS": "1",
    }


async def test_two_bot_processes_share_one_database_one_redis_and_one_retrain(
    postgres_server: PostgresServer,
    redis_server: RedisServer,
    small_artifact: Path,
    small_engine: Engine,
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    database_url = postgres_server.create_database("two_bots")
    # Planted listeners' votes, enough for the schedulers' feedback trigger to fire at start-up.
    votes = ranker_env.planted_votes(small_engine, ranker_env.TRAINED_USERS)
    async with await open_store(database_url) as store:
        await store.add_feedback_bulk(votes)
    # The artifacts volume: one folder both processes see as $SONGREC_HOME/artifacts.
    shared = ranker_env.fresh_root(tmp_path / "volume", small_artifact)
    homes = [tmp_path / f"home{shard}" for shard in range(SHARDS)]
    for home in homes:
        home.mkdir()
        (home / "artifacts").symlink_to(shared, target_is_directory=True)
    env = child_env(database_url, redis_server.fresh_url(), threshold=len(votes) // 2)

    async with FakeDiscord(deadline_s=15.0) as fake, bot_processes(env, homes, fake.port) as bots:
        alice, bob, carol, dave = (fake.add_user(n) for n in ("alice", "bob", "carol", "dave"))
        guild_shard = fake.guild_shard(SHARDS)
        other = 1 - guild_shard
        await until(
            lambda: len(fake.identifies) == SHARDS, START_TIMEOUT_S, "both processes to identify", bots
        )
        assert sorted(tuple(i["shard"]) for i in fake.identifies) == [(0, SHARDS), (1, SHARDS)]
        await until(lambda: all(b.said("songrec bot ready") for b in bots), 30, "both bots ready", bots)
        ready_s = time.monotonic() - started

        # The guild's process answers /recommend; alice's allowance is spent there...
        from bot.cogs.recommend import RECOMMEND_RATE

        rate, _ = RECOMMEND_RATE
        posted: list[dict] = []
        for _ in range(rate):
            ix = await fake.slash(alice, "recommend", count=1)
            posted += suggestion_messages(await wait_suggestions(fake, ix, 1, timeout=30))
        # ...and holds on the other process: her next command arrives there (as from a server on its shard).
        ix = await fake.slash(alice, "recommend", count=1, shards=(other,))
        (refused,) = await fake.wait_reply(ix, timeout=30)
        assert refused["flags"] & EPHEMERAL and re.search(r"try again in \d+s", refused["content"])
        ix = await fake.slash(bob, "recommend", count=1, shards=(other,))  # bob is not limited by alice
        posted += suggestion_messages(await wait_suggestions(fake, ix, 1, timeout=30))

        # Feedback through both processes lands in the one database.
        first, second = posted[0], posted[-1]
        click = await fake.click(carol, int(first["id"]), f"songrec:like:{suggestion_id(first)}")
        await fake.wait_reply(click, timeout=30)  # on the guild's process
        await fake.react(bob, int(second["id"]), "👎", shards=(other,))  # on the other process
        # One reaction delivered to both processes: counted once.
        await fake.react(dave, int(first["id"]), "👍", shards=(0, 1))

        async def live(user: int) -> list[tuple[str, int]]:
            async with await open_store(database_url) as db:
                return [(v.track_id, v.value) for v in await db.feedback_for_user(user)]

        deadline = time.monotonic() + 30
        while not (await live(carol) and await live(bob) and await live(dave)):
            assert time.monotonic() < deadline, "feedback did not reach the database"
            await asyncio.sleep(0.2)
        assert [v for _, v in await live(carol)] == [1] and [v for _, v in await live(bob)] == [-1]
        assert [v for _, v in await live(dave)] == [1]
        duplicate = rf"reaction add by {dave} on message {first['id']} was already handled"
        await until(lambda: sum(len(b.said(duplicate)) for b in bots) == 1, 10, "the duplicate skipped", bots)

        # One retrain for both: their schedulers raced for it at start-up; one ran it, and both swap in
        # the promoted ranker.
        def promoted() -> str | None:
            return ArtifactStore(shared, RANKER_KIND).current_version()

        await until(lambda: promoted() is not None, TRAIN_TIMEOUT_S, "a promoted ranker", bots)
        version = promoted()
        await until(
            lambda: all(b.said(f"serving ranker {version}") for b in bots), 30, "both to serve it", bots
        )
        await asyncio.sleep(1.5)  # three more feedback checks on each: nothing new to train on
        async with await open_store(database_url) as db:
            runs = await db.last_training_runs(10)
        assert len(runs) == 1, [(r.id, r.status, r.reason) for r in runs]
        assert runs[0].status == "succeeded" and runs[0].promoted and runs[0].artifact_version == version
        assert sum(len(b.said(r"training run \d+ \(.*\): starting")) for b in bots) == 1
        assert fake.violations == [], fake.violations
    total_s = time.monotonic() - started
    print(f"two-process test: both ready after {ready_s:.1f}s, done after {total_s:.1f}s")
