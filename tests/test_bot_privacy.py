"""/privacy end to end through the fake Discord: show, opt out (of helping others, of everything), opt
back in, export as a JSON file, and forget-me under the same command; ephemeral throughout, and allowed
in every channel even when a server restricts songrec to one."""

from __future__ import annotations

import json

import pytest

from tests.support.bot_harness import all_text, bounded, custom_ids, world
from tests.support.discord_server import EPHEMERAL


@bounded(20)
async def test_privacy_show_opt_out_opt_in(monkeypatch: pytest.MonkeyPatch) -> None:
    async with world(monkeypatch) as w:
        await w.service.like(w.alice, "Take Five")
        await w.service.dislike(w.alice, "Bad Guy")
        ix = await w.fake.slash(w.alice, "privacy", subcommand="show")
        (reply,) = await w.fake.wait_reply(ix)
        text = all_text(reply)
        assert reply["flags"] & EPHEMERAL
        assert "1 likes · 1 dislikes" in text and "shared" in text and "steer your own suggestions" in text

        ix = await w.fake.slash(w.alice, "privacy", subcommand="opt-out")
        (reply,) = await w.fake.wait_reply(ix)
        assert reply["flags"] & EPHEMERAL and "opted out" in all_text(reply)
        assert w.service.privacy_choices[w.alice] == "private"
        assert "only your own" in all_text(reply)

        ix = await w.fake.slash(w.alice, "privacy", subcommand="opt-out", scope="everything")
        (reply,) = await w.fake.wait_reply(ix)
        assert w.service.privacy_choices[w.alice] == "off" and "learns nothing" in all_text(reply)

        ix = await w.fake.slash(w.alice, "privacy", subcommand="opt-in")
        (reply,) = await w.fake.wait_reply(ix)
        assert "opted in" in all_text(reply) and w.alice not in w.service.privacy_choices
        assert w.service.privacy_choices == {}, "bob's choice untouched"


@bounded(20)
async def test_privacy_export_sends_a_json_file_and_forget_me_confirms(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with world(monkeypatch) as w:
        await w.service.like(w.alice, "Take Five")
        await w.service.update_guild_settings(w.fake.guild_id, command_channel_id=w.fake.new_id())
        ix = await w.fake.slash(w.alice, "privacy", subcommand="export")  # not the command channel: allowed
        (reply,) = await w.fake.wait_reply(ix)
        assert reply["flags"] & EPHEMERAL
        (attachment,) = reply["attachments"]
        assert attachment["filename"].endswith(".json") and attachment["content_type"].startswith(
            "application/json"
        )
        data = json.loads(w.fake.files[int(attachment["id"])])
        assert [f["track_id"] for f in data["feedback"]] == [
            t.track_id for t in w.service.tracks.values() if t.name == "Take Five"
        ]

        ix = await w.fake.slash(w.alice, "privacy", subcommand="forget-me")
        (confirm,) = await w.fake.wait_reply(ix)
        assert confirm["flags"] & EPHEMERAL
        click = await w.fake.click(w.alice, int(confirm["id"]), custom_ids(confirm)[0])
        await w.fake.wait_reply(click)
        assert "deleted 1 records" in w.fake.messages[int(confirm["id"])]["content"]
        assert await w.service.history(w.alice) == []
