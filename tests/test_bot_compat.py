"""/compat and /neighbours through the fake Discord: ephemeral, say how the match was measured, list
songs both like and three for both, and leave out members who opted out (/privacy)."""

from __future__ import annotations

import pytest

from tests.support.bot_harness import all_text, bounded, world
from tests.support.discord_server import EPHEMERAL, User

SONGS = ("Take Five", "Bad Guy", "Thunder Road")


@bounded(20)
async def test_compat_and_neighbours(monkeypatch: pytest.MonkeyPatch) -> None:
    async with world(monkeypatch) as w:
        ix = await w.fake.slash(w.alice, "compat", member=User(w.bob))
        (reply,) = await w.fake.wait_reply(ix)
        assert reply["flags"] & EPHEMERAL and "Not enough to compare" in all_text(reply)

        for user in (w.alice, w.bob, w.carol):
            for song in SONGS:
                await w.service.like(user, song, guild_id=w.fake.guild_id)
        ix = await w.fake.slash(w.alice, "compat", member=User(w.bob))
        (reply,) = await w.fake.wait_reply(ix)
        text = all_text(reply)
        assert reply["flags"] & EPHEMERAL and "3 songs you both rated" in text
        assert "compared by your votes" in text and "You both like" in text and "You'd both like" in text
        assert "Take Five" in text

        ix = await w.fake.slash(w.alice, "neighbours")
        (reply,) = await w.fake.wait_reply(ix)
        text = all_text(reply)
        assert reply["flags"] & EPHEMERAL and f"<@{w.bob}>" in text and f"<@{w.carol}>" in text
        assert not w.fake.allowed_mentions[int(reply["id"])] or not w.fake.allowed_mentions[
            int(reply["id"])
        ].get("users"), "listing names pings nobody"

        await w.service.set_privacy(w.bob, "private")
        ix = await w.fake.slash(w.alice, "compat", member=User(w.bob))
        (reply,) = await w.fake.wait_reply(ix)
        assert "keeps their taste to themselves" in reply["content"]
        ix = await w.fake.slash(w.alice, "neighbours")
        (reply,) = await w.fake.wait_reply(ix)
        assert f"<@{w.bob}>" not in all_text(reply) and f"<@{w.carol}>" in all_text(reply)
