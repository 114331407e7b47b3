"""/explore: a listener's own explore share, through the fake Discord; no Manage Server needed."""

from __future__ import annotations

import pytest

from bot.app import BotConfig, sync_commands
from tests.support.bot_harness import TOKEN, bounded, world
from tests.support.discord_server import EPHEMERAL, FakeDiscord


@bounded(20)
async def test_anyone_sets_their_own_explore_share(monkeypatch: pytest.MonkeyPatch) -> None:
    async with world(monkeypatch) as w:
        ix = await w.fake.slash(w.alice, "explore")
        (reply,) = await w.fake.wait_reply(ix)
        assert reply["flags"] & EPHEMERAL
        assert "20% of your suggestions" in reply["content"] and "the default" in reply["content"]

        await w.service.update_guild_settings(w.fake.guild_id, explore_rate=0.1)
        ix = await w.fake.slash(w.alice, "explore", share=35)
        (reply,) = await w.fake.wait_reply(ix)
        assert (
            reply["content"].startswith("Saved: 35% of your suggestions")
            and "your choice" in reply["content"]
        )
        assert (await w.service.explore_share(w.alice, guild_id=w.fake.guild_id)).rate == 0.35
        assert (await w.service.explore_share(w.bob, guild_id=w.fake.guild_id)).rate == 0.1  # only hers

        ix = await w.fake.slash(w.alice, "explore", reset=True)
        (reply,) = await w.fake.wait_reply(ix)
        assert "10% of your suggestions" in reply["content"] and "this server's share" in reply["content"]
        assert (await w.service.explore_share(w.alice)).own is None


@bounded(20)
async def test_the_explore_option_stops_at_the_listeners_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    async with FakeDiscord() as fake:
        fake.patch(monkeypatch)
        await sync_commands(fake.guild_id, config=BotConfig(TOKEN, dev_guild_id=fake.guild_id))
        (put,) = fake.requests_to("PUT", rf"/guilds/{fake.guild_id}/commands$")
        explore = {c["name"]: c for c in put.body}["explore"]
        share = {o["name"]: o for o in explore["options"]}["share"]
        assert (share["min_value"], share["max_value"]) == (0, 50)
        assert explore.get("default_member_permissions") is None, "every member may choose their own"
