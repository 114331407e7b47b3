"""/settings permissions, the command-channel restriction, configuration and explicit command sync."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.app import BotConfig, load_config, run_bot, sync_commands
from songrec.cli.serve import main as serve_main
from songrec.domain import BotConfigError
from tests.support.bot_harness import TOKEN, bounded, running_bot, shown_suggestions, wait_suggestions, world
from tests.support.discord_server import ADMIN_PERMISSIONS, EPHEMERAL, Channel, FakeDiscord
from tests.support.service_double import ServiceDouble


@bounded(20)
async def test_settings_need_manage_server(monkeypatch: pytest.MonkeyPatch) -> None:
    async with world(monkeypatch) as w:
        ix = await w.fake.slash(w.alice, "settings", explore_rate=0.9)
        (reply,) = await w.fake.wait_reply(ix)
        assert reply["flags"] & EPHEMERAL and "Manage Server" in reply["content"]
        assert w.service.calls_to("update_guild_settings") == []

        ix = await w.fake.slash(
            w.bob,
            "settings",
            permissions=ADMIN_PERMISSIONS,
            explore_rate=0.9,
            session_strategy="least_misery",
        )
        (reply,) = await w.fake.wait_reply(ix)
        assert reply["flags"] & EPHEMERAL and "Saved" in reply["content"]
        settings = await w.service.get_guild_settings(w.fake.guild_id)
        assert (settings.explore_rate, settings.session_strategy) == (0.9, "least_misery")
        fields = {f["name"]: f["value"] for f in reply["embeds"][0]["fields"]}
        assert fields["Default explore rate"] == "0.90" and fields["Commands allowed in"] == "any channel"


@bounded(20)
async def test_command_channel_restriction(monkeypatch: pytest.MonkeyPatch) -> None:
    async with world(monkeypatch) as w:
        fake = w.fake
        ix = await fake.slash(
            w.bob, "settings", permissions=ADMIN_PERMISSIONS, command_channel=Channel(fake.channel_id)
        )
        await fake.wait_reply(ix)
        assert (await w.service.get_guild_settings(fake.guild_id)).command_channel_id == fake.channel_id

        ix = await fake.slash(w.alice, "recommend", channel_id=fake.other_channel_id)
        (reply,) = await fake.wait_reply(ix)
        assert reply["flags"] & EPHEMERAL and f"<#{fake.channel_id}>" in reply["content"]
        assert w.service.calls_to("recommend") == []

        ix = await fake.slash(w.alice, "recommend", count=1)  # in the command channel
        assert len(shown_suggestions(await wait_suggestions(fake, ix, 1))) == 1

        # /settings itself works anywhere, so an admin can always lift the restriction.
        ix = await fake.slash(
            w.bob,
            "settings",
            channel_id=fake.other_channel_id,
            permissions=ADMIN_PERMISSIONS,
            any_channel=True,
        )
        (reply,) = await fake.wait_reply(ix)
        assert "Saved" in reply["content"]
        ix = await fake.slash(w.alice, "recommend", channel_id=fake.other_channel_id, count=1)
        assert len(shown_suggestions(await wait_suggestions(fake, ix, 1))) == 1


def test_missing_token_is_explained(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(BotConfigError, match="DISCORD_TOKEN is not set.*developers/applications"):
        load_config({})
    with pytest.raises(BotConfigError, match="DEV_GUILD_ID must be a server id"):
        load_config({"DISCORD_TOKEN": "x", "DEV_GUILD_ID": "my server"})
    assert load_config({"DISCORD_TOKEN": " tok ", "DEV_GUILD_ID": "42"}) == BotConfig(
        "tok", 42, monthly_mix=True
    ), "a real bot posts the monthly mixes"

    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    with pytest.raises(BotConfigError, match="DISCORD_TOKEN is not set"):
        asyncio.run(asyncio.wait_for(run_bot(ServiceDouble()), 5))

    assert serve_main([]) == 2
    err = capsys.readouterr().err
    assert err.startswith("songrec bot: DISCORD_TOKEN is not set") and "Traceback" not in err


@bounded(20)
async def test_sync_is_explicit_and_targets_a_guild_or_global(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async with FakeDiscord() as fake:
        fake.patch(monkeypatch)
        config = BotConfig(TOKEN, dev_guild_id=fake.guild_id)
        with caplog.at_level(logging.WARNING, logger="songrec.bot"):
            async with running_bot(fake, ServiceDouble(), config=config):
                pass
        assert "not registered with Discord" in caplog.text and f"--guild {fake.guild_id}" in caplog.text
        assert not fake.requests_to("PUT", r"/commands$"), "starting the bot never syncs"

        names = await sync_commands(fake.guild_id, config=config)
        expected = {
            "recommend",
            "search",
            "like",
            "dislike",
            "why",
            "history",
            "forget-me",
            "session",
            "settings",
            "explore",
            "admin",
            "export",
            "privacy",
            "taste",
            "compat",
            "neighbours",
            "mix",
            "charts",
        }
        assert set(names) == expected
        (put,) = fake.requests_to("PUT", rf"/guilds/{fake.guild_id}/commands$")
        by_name = {c["name"]: c for c in put.body}
        assert str(by_name["settings"]["default_member_permissions"]) == "32"  # manage_guild
        assert str(by_name["admin"]["default_member_permissions"]) == "32"
        assert {o["name"] for o in by_name["session"]["options"]} == {"start", "join", "leave", "next", "end"}
        assert {o["name"] for o in by_name["mix"]["options"]} == {"now", "export"}
        assert {o["name"] for o in by_name["privacy"]["options"]} == {
            "show",
            "opt-out",
            "opt-in",
            "export",
            "forget-me",
        }
        song = next(o for o in by_name["recommend"]["options"] if o["name"] == "song")
        assert song["autocomplete"] is True

        assert set(await sync_commands(None, config=config)) == expected
        assert fake.requests_to("PUT", rf"/applications/{fake.app_id}/commands$")
        assert fake.violations == [] and fake.unhandled == []

        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="songrec.bot"):
            async with running_bot(fake, ServiceDouble(), config=config):
                pass
        assert "not registered" not in caplog.text
