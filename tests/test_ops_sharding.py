"""Sharding: a plain bot by default; AutoShardedBot when SONGREC_SHARDS / SONGREC_SHARD_IDS say so, with
each process identifying only its own shard range. End to end against the fake gateway."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from discord.ext import commands

from bot.app import BotConfig, ShardedSongrecBot, SongrecBot, load_config, make_bot
from bot.sharding import ShardConfig, shard_config
from songrec.domain import BotConfigError
from tests.support.bot_harness import STEP_TIMEOUT_S, TOKEN, bounded, shown_suggestions, wait_suggestions
from tests.support.discord_server import FakeDiscord
from tests.support.service_double import ServiceDouble


def test_shard_config_from_the_environment() -> None:
    assert shard_config({}) is None
    assert shard_config({"SONGREC_SHARDS": "auto"}) == ShardConfig(count=None)
    assert shard_config({"SONGREC_SHARDS": "4"}) == ShardConfig(count=4)
    assert shard_config({"SONGREC_SHARDS": "16", "SONGREC_SHARD_IDS": "4-7"}) == ShardConfig(16, (4, 5, 6, 7))
    assert shard_config({"SONGREC_SHARDS": "16", "SONGREC_SHARD_IDS": "9, 0-1,1"}) == ShardConfig(
        16, (0, 1, 9)
    )
    assert ShardConfig(16, (4, 5)).describe() == "shards 4, 5 of 16"
    for env, message in (
        ({"SONGREC_SHARD_IDS": "0-3"}, "needs SONGREC_SHARDS"),
        ({"SONGREC_SHARDS": "auto", "SONGREC_SHARD_IDS": "0"}, "fixed SONGREC_SHARDS"),
        ({"SONGREC_SHARDS": "0"}, "1-4096"),
        ({"SONGREC_SHARDS": "-2"}, "1-4096"),
        ({"SONGREC_SHARDS": "②"}, "1-4096"),
        ({"SONGREC_SHARDS": "4", "SONGREC_SHARD_IDS": "4"}, "shard 4 does not exist"),
        ({"SONGREC_SHARDS": "4", "SONGREC_SHARD_IDS": "3-1"}, "runs backwards"),
        ({"SONGREC_SHARDS": "4", "SONGREC_SHARD_IDS": "one"}, "neither"),
        ({"SONGREC_SHARDS": "4", "SONGREC_SHARD_IDS": ","}, "names no shard"),
    ):
        with pytest.raises(BotConfigError, match=message):
            shard_config(env)
    config = load_config({"DISCORD_TOKEN": "t", "SONGREC_SHARDS": "8", "SONGREC_SHARD_IDS": "0-3"})
    assert config.shards == ShardConfig(8, (0, 1, 2, 3))


def test_plain_bot_unless_configured() -> None:
    plain = make_bot(ServiceDouble(), BotConfig(token=TOKEN))
    assert type(plain) is SongrecBot and not isinstance(plain, commands.AutoShardedBot)
    sharded = make_bot(ServiceDouble(), BotConfig(token=TOKEN, shards=ShardConfig(4, (2, 3))))
    assert isinstance(sharded, ShardedSongrecBot) and isinstance(sharded, commands.AutoShardedBot)
    assert sharded.shard_count == 4 and sharded.shard_ids == [2, 3]


@contextlib.asynccontextmanager
async def running_sharded(fake: FakeDiscord, shards: ShardConfig) -> AsyncIterator[SongrecBot]:
    bot = make_bot(ServiceDouble(), BotConfig(token=TOKEN, shards=shards), guild_ready_timeout=0.05)

    async def no_wait(shard_id: int | None, *, initial: bool = False) -> None:
        """discord.py waits 5 s between IDENTIFYs (Discord's max_concurrency 1); the fake needs no wait."""

    bot.before_identify_hook = no_wait  # type: ignore[method-assign]
    connector: asyncio.Task[Any] | None = None
    try:
        await asyncio.wait_for(bot.login(TOKEN), STEP_TIMEOUT_S)
        connector = asyncio.create_task(bot.connect(reconnect=False))
        await asyncio.wait_for(bot.wait_until_ready(), 3 * STEP_TIMEOUT_S)
        yield bot
    finally:
        await asyncio.wait_for(bot.close(), STEP_TIMEOUT_S)
        if connector is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(connector, STEP_TIMEOUT_S)


@bounded(60)
async def test_one_process_runs_every_shard(monkeypatch: pytest.MonkeyPatch) -> None:
    async with FakeDiscord() as fake:
        fake.patch(monkeypatch)
        alice = fake.add_user("alice")
        async with running_sharded(fake, ShardConfig(count=2)) as bot:
            assert sorted(tuple(i["shard"]) for i in fake.identifies) == [(0, 2), (1, 2)]
            guild = bot.get_guild(fake.guild_id)
            assert guild is not None and guild.shard_id == fake.guild_shard(2)
            ix = await fake.slash(alice, "recommend", count=1)  # through the guild's shard
            assert len(shown_suggestions(await wait_suggestions(fake, ix, 1))) == 1
        assert fake.violations == [] and fake.unhandled == []


@bounded(60)
async def test_auto_asks_discord_and_a_range_identifies_only_its_shards(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with FakeDiscord() as fake:
        fake.patch(monkeypatch)
        fake.recommended_shards = 3
        async with running_sharded(fake, ShardConfig(count=None)) as bot:
            assert fake.requests_to("GET", r"^/gateway/bot$"), "auto-sharding asks Discord for the count"
            assert bot.shard_count == 3 and len(fake.identifies) == 3
    async with FakeDiscord() as fake:
        fake.patch(monkeypatch)
        other = 1 - fake.guild_shard(2)  # the shard that does not hold the test guild
        async with running_sharded(fake, ShardConfig(count=2, ids=(other,))) as bot:
            assert [tuple(i["shard"]) for i in fake.identifies] == [(other, 2)]
            assert bot.get_guild(fake.guild_id) is None, "another process owns that guild"
