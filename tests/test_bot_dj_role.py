"""The server's DJ role through the fake Discord: /settings sets, shows and clears it; while set, only its
members (and Manage Server) start, skip and end sessions and post or export the mix; personal commands
are never gated; and the command-channel setting holds for the newer commands too."""

from __future__ import annotations

import time
from typing import Any

import pytest

from bot.mix_posts import MIX_OFF
from songrec.service.server_mix import month_span, previous_month
from tests.support.bot_harness import World, all_text, bounded, custom_ids, world
from tests.support.discord_server import ADMIN_PERMISSIONS, EPHEMERAL, Channel, Role, User


async def ask(
    w: World, user: int, name: str, subcommand: str | None = None, **options: Any
) -> dict[str, Any]:
    """Run a command and return its first visible reply."""
    ix = await w.fake.slash(user, name, subcommand, **options)
    return (await w.fake.wait_reply(ix))[0]


async def choose_dj(w: World, name: str = "DJ") -> int:
    """An admin (bob) makes a new role the server's DJ role; carol holds it."""
    role = await w.fake.add_role(name)
    w.fake.give_role(w.carol, role)
    reply = await ask(w, w.bob, "settings", permissions=ADMIN_PERMISSIONS, dj_role=Role(role))
    assert "Saved" in reply["content"]
    return role


@bounded(20)
async def test_settings_set_show_and_clear_the_dj_role(monkeypatch: pytest.MonkeyPatch) -> None:
    async with world(monkeypatch) as w:
        reply = await ask(w, w.bob, "settings", permissions=ADMIN_PERMISSIONS)
        fields = {f["name"]: f["value"] for f in reply["embeds"][0]["fields"]}
        assert fields["DJ role"] == "none: anyone runs sessions"

        role = await choose_dj(w)
        assert (await w.service.get_guild_settings(w.fake.guild_id)).dj_role_id == role
        reply = await ask(w, w.bob, "settings", permissions=ADMIN_PERMISSIONS)
        fields = {f["name"]: f["value"] for f in reply["embeds"][0]["fields"]}
        assert fields["DJ role"] == f"<@&{role}>"

        reply = await ask(w, w.alice, "settings", dj_role=Role(role))  # not an admin: refused
        assert reply["flags"] & EPHEMERAL and "Manage Server" in reply["content"]

        reply = await ask(w, w.bob, "settings", permissions=ADMIN_PERMISSIONS, no_dj_role=True)
        assert "Saved" in reply["content"]
        assert (await w.service.get_guild_settings(w.fake.guild_id)).dj_role_id is None

        await choose_dj(w, "Selectors")
        await ask(w, w.bob, "settings", permissions=ADMIN_PERMISSIONS, dj_role=Role(w.fake.guild_id))
        assert (await w.service.get_guild_settings(w.fake.guild_id)).dj_role_id is None, (
            "@everyone as the DJ role is no DJ role"
        )


@bounded(30)
async def test_the_dj_role_gates_starting_skipping_and_ending_sessions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with world(monkeypatch) as w:
        service, fake = w.service, w.fake
        await service.like(w.carol, "Thunder Road")
        await choose_dj(w)

        reply = await ask(w, w.alice, "session", "start")
        assert reply["flags"] & EPHEMERAL
        assert reply["content"] == "⚠️ Only members with the @DJ role can start a session here."
        assert service.calls_to("start_session") == []

        started = await ask(w, w.carol, "session", "start")
        assert not started["flags"] & EPHEMERAL and await service.active_session(fake.channel_id)
        joined = await ask(w, w.alice, "session", "join")  # joining and leaving are anyone's
        assert "2 listening" in joined["content"]

        reply = await ask(w, w.alice, "session", "next", count=1)
        assert (
            reply["content"] == "⚠️ Only members with the @DJ role can ask for the session's next songs here."
        )
        reply = await ask(w, w.alice, "session", "end")
        assert reply["content"] == "⚠️ Only members with the @DJ role can end a session here."
        assert service.calls_to("session_next") == [] and service.calls_to("end_session") == []

        # A personal command is never gated: alice's own /recommend answers while the session runs.
        reply = await ask(w, w.alice, "recommend", count=1)
        assert "Only members" not in all_text(reply)
        assert service.calls_to("recommend"), "/recommend is never gated by the DJ role"

        ix = await fake.slash(w.bob, "session", "next", count=1, permissions=ADMIN_PERMISSIONS)
        await fake.wait_reply(ix)  # Manage Server always passes
        assert [c["user_id"] for c in service.calls_to("session_next")] == [w.bob]
        ix = await fake.slash(w.carol, "session", "next", count=1)
        await fake.wait_reply(ix)
        assert [c["user_id"] for c in service.calls_to("session_next")] == [w.bob, w.carol]
        summary = await ask(w, w.carol, "session", "end")
        assert summary["embeds"] and await service.active_session(fake.channel_id) is None

        await ask(w, w.bob, "settings", permissions=ADMIN_PERMISSIONS, no_dj_role=True)
        started = await ask(w, w.alice, "session", "start")  # no DJ role: anyone starts, as before
        assert (
            not started["flags"] & EPHEMERAL
            and service.calls_to("start_session")[-1]["created_by"] == w.alice
        )


@bounded(40)
async def test_the_dj_role_may_post_the_mix_and_only_it_exports_it(monkeypatch: pytest.MonkeyPatch) -> None:
    async with world(monkeypatch) as w:
        fake, service, guild = w.fake, w.service, w.fake.guild_id
        reply = await ask(w, w.carol, "mix", "export")  # no DJ role yet: anyone exports, as before
        assert service.calls_to("export_mix") and "Only members" not in reply["content"]
        await choose_dj(w)

        reply = await ask(w, w.carol, "mix", "now")  # no Manage Server, but the DJ role
        assert reply["content"] == MIX_OFF
        reply = await ask(w, w.alice, "mix", "now")
        assert reply["flags"] & EPHEMERAL
        assert reply["content"] == "⚠️ Only members with the @DJ role can post the server's mix here."

        exports = len(service.calls_to("export_mix"))
        reply = await ask(w, w.alice, "mix", "export")
        assert reply["content"] == "⚠️ Only members with the @DJ role can export the server's mix here."
        assert len(service.calls_to("export_mix")) == exports

        # The export button under a posted mix asks the same.
        await ask(
            w,
            w.bob,
            "settings",
            permissions=ADMIN_PERMISSIONS,
            mix=True,
            mix_channel=Channel(fake.channel_id),
        )
        month = previous_month(time.time())
        service.mix.clock = lambda: month_span(month)[0] + 3600
        for user in (w.alice, w.bob):
            await service.like(user, next(iter(service.tracks)), guild_id=guild)
        service.mix.clock = time.time
        await ask(w, w.carol, "mix", "now")
        (post,) = await fake.wait_for(
            lambda: [
                m for m in fake.messages.values() if custom_ids(m) == [f"songrec:mixexport:{guild}:{month}"]
            ]
        )
        click = await fake.click(w.alice, int(post["id"]), custom_ids(post)[0])
        (reply,) = await fake.wait_reply(click)
        assert reply["flags"] & EPHEMERAL and "Only members with the @DJ role" in reply["content"]
        assert len(service.calls_to("export_mix")) == exports
        click = await fake.click(w.carol, int(post["id"]), custom_ids(post)[0])
        (reply,) = await fake.wait_reply(click)
        assert "spotify-login" in reply["content"] and len(service.calls_to("export_mix")) == exports + 1

        # Personal and server-reading commands stay open to everyone.
        reply = await ask(w, w.alice, "charts")
        assert "Top of Test Server" in all_text(reply)


@bounded(30)
async def test_the_command_channel_holds_for_the_newer_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    async with world(monkeypatch) as w:
        fake = w.fake
        await ask(
            w, w.bob, "settings", permissions=ADMIN_PERMISSIONS, command_channel=Channel(fake.channel_id)
        )
        commands: list[tuple[str, str | None, dict[str, Any]]] = [
            ("charts", None, {}),
            ("mix", "export", {}),
            ("mix", "now", {}),
            ("search", None, {"query": "ring of fire"}),
            ("explore", None, {}),
            ("taste", None, {}),
            ("compat", None, {"member": User(w.bob)}),
            ("neighbours", None, {}),
        ]
        before = len(w.service.calls)
        for name, subcommand, options in commands:
            ix = await fake.slash(w.alice, name, subcommand, channel_id=fake.other_channel_id, **options)
            (reply,) = await fake.wait_reply(ix)
            assert reply["flags"] & EPHEMERAL, name
            assert (
                reply["content"]
                == f"⚠️ On this server I take commands in <#{fake.channel_id}>; see you there!"
            ), name
        assert [call for call, _ in w.service.calls[before:] if call != "get_guild_settings"] == []

        reply = await ask(w, w.alice, "search", query="ring of fire")  # in the command channel: answered
        assert "take commands in" not in all_text(reply)
