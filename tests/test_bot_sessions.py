"""Group sessions end to end: three members (by command and by voice), blended picks, reactions, summary."""

from __future__ import annotations

import re

import pytest

from bot.cogs.sessions import NEXT_RATE
from tests.support.bot_harness import bounded, eventually, suggestion_id, suggestion_messages, world
from tests.support.discord_server import EPHEMERAL


@bounded(30)
async def test_three_member_session_blends_and_learns(monkeypatch: pytest.MonkeyPatch) -> None:
    async with world(monkeypatch) as w:
        service, fake = w.service, w.fake
        # Tastes before the session: alice and carol like Springsteen, bob likes jazz.
        await service.like(w.alice, "Thunder Road")
        await service.like(w.bob, "So What")
        await service.like(w.carol, "Born to Run")

        # alice and bob are in the voice channel before the session starts.
        await fake.move_voice(w.alice, fake.voice_channel_id)
        await fake.move_voice(w.bob, fake.voice_channel_id)
        await eventually(
            lambda: len(w.bot.get_channel(fake.voice_channel_id).voice_states) == 2, what="voice cache"
        )

        ix = await fake.slash(w.alice, "session", "start", voice=True, strategy="average")
        (started,) = await fake.wait_reply(ix)
        assert not started["flags"] & EPHEMERAL and "Listening Room" in started["content"]
        session = await service.active_session(fake.channel_id)
        assert session is not None and session.voice_channel_id == fake.voice_channel_id
        assert set(session.members) == {w.alice, w.bob} and session.strategy == "average"

        # carol joins by command; a second join is harmless.
        for _ in range(2):
            ix = await fake.slash(w.carol, "session", "join")
            (reply,) = await fake.wait_reply(ix)
            assert reply["flags"] & EPHEMERAL and "3 listening" in reply["content"]

        ix = await fake.slash(w.bob, "session", "next", count=3)
        messages = await fake.wait_reply(ix, 4)
        assert "3 listening" in messages[0]["content"]
        posted = suggestion_messages(messages)
        picks = [service.suggestions[suggestion_id(m)] for m in posted]
        assert all(p.session_id == session.id and p.kind == "session" for p in picks)
        assert picks[0].track.artists == ("Bruce Springsteen",), "two of three like Springsteen"
        assert all("Group session" in m["embeds"][0]["footer"]["text"] for m in posted)
        assert service.calls_to("session_next")[0] == {
            "channel_id": fake.channel_id,
            "user_id": w.bob,
            "k": 3,
        }

        # Any member's reaction on a session suggestion is that member's feedback, source "session".
        first = posted[0]
        await fake.react(w.carol, int(first["id"]), "👍")
        await fake.react(w.bob, int(first["id"]), "👍")
        await eventually(lambda: len(service.calls_to("like")) == 5, what="session likes")
        for member in (w.carol, w.bob):
            (latest, *_) = await service.history(member)
            assert (latest.track, latest.value, latest.source) == (picks[0].track, 1, "session")

        # bob leaves the voice channel: he leaves the session; dave joins it by voice.
        dave = fake.add_user("dave")
        await fake.move_voice(w.bob, None)
        await fake.move_voice(dave, fake.voice_channel_id)
        await eventually(
            lambda: set(service.sessions[session.id].members) == {w.alice, w.carol, dave}, what="voice moves"
        )

        ix = await fake.slash(w.alice, "session", "end")
        (summary,) = await fake.wait_reply(ix)
        embed = summary["embeds"][0]
        fields = {f["name"]: f["value"] for f in embed["fields"]}
        assert "3 songs suggested" in embed["description"]
        assert picks[0].track.name in fields["Suggested"]
        liked_line = next(
            line for line in fields["The group liked"].splitlines() if picks[0].track.name in line
        )
        assert f"<@{w.carol}>" in liked_line and f"<@{w.bob}>" in liked_line
        assert fake.allowed_mentions[int(summary["id"])] == {"parse": []}, "mentions render but never ping"
        assert await service.active_session(fake.channel_id) is None
        assert fake.violations == [] and fake.unhandled == []


@bounded(20)
async def test_session_errors_are_friendly(monkeypatch: pytest.MonkeyPatch) -> None:
    async with world(monkeypatch) as w:
        ix = await w.fake.slash(w.alice, "session", "next")
        (reply,) = await w.fake.wait_reply(ix)
        assert reply["flags"] & EPHEMERAL and "no group session in this channel" in reply["content"]

        ix = await w.fake.slash(w.alice, "session", "start", voice=True)
        (reply,) = await w.fake.wait_reply(ix)
        assert reply["flags"] & EPHEMERAL and "Join a voice channel first" in reply["content"]
        assert w.service.calls_to("start_session") == []

        ix = await w.fake.slash(w.alice, "session", "start", strategy="least_misery")
        await w.fake.wait_reply(ix)
        ix = await w.fake.slash(w.bob, "session", "start")
        (reply,) = await w.fake.wait_reply(ix)
        assert reply["flags"] & EPHEMERAL and "already running" in reply["content"]

        ix = await w.fake.slash(w.bob, "session", "leave")
        (reply,) = await w.fake.wait_reply(ix)
        assert "not in this session" in reply["content"]


@bounded(30)
async def test_session_next_has_a_cooldown(monkeypatch: pytest.MonkeyPatch) -> None:
    rate, _ = NEXT_RATE
    async with world(monkeypatch) as w:
        ix = await w.fake.slash(w.alice, "session", "start")
        await w.fake.wait_reply(ix)
        for _ in range(rate):
            ix = await w.fake.slash(w.alice, "session", "next", count=1)
            await w.fake.wait_reply(ix, 2)
        ix = await w.fake.slash(w.alice, "session", "next", count=1)
        (reply,) = await w.fake.wait_reply(ix)
        assert reply["flags"] & EPHEMERAL and re.search(r"try again in \d+s", reply["content"])
        assert len(w.service.calls_to("session_next")) == rate
