"""Likes and dislikes end to end: commands, buttons, reactions, a restart, /history and /forget-me."""

from __future__ import annotations

import pytest

from tests.support.bot_harness import (
    World,
    bounded,
    custom_ids,
    eventually,
    running_bot,
    shown_suggestions,
    suggestion_id,
    suggestion_ids,
    suggestion_messages,
    wait_suggestions,
    world,
)
from tests.support.discord_server import EPHEMERAL, FakeDiscord
from tests.support.service_double import ServiceDouble


async def _recommend(w: World, user: int, count: int = 2) -> list[dict]:
    """The messages of a /recommend answer; one of one song carries the bot's 👍/👎 before it returns."""
    ix = await w.fake.slash(user, "recommend", count=count)
    posted = suggestion_messages(await wait_suggestions(w.fake, ix, count))
    await w.fake.wait_for(
        lambda: all(len(w.fake.bot_reactions(int(m["id"]))) == 2 for m in posted if count == 1)
    )
    return posted


async def _history(w: World, user: int) -> list[tuple[str, int, str]]:
    return [(h.track.track_id, h.value, h.source) for h in await w.service.history(user)]


@bounded(20)
async def test_like_and_dislike_by_command(monkeypatch: pytest.MonkeyPatch) -> None:
    async with world(monkeypatch) as w:
        ix = await w.fake.slash(w.alice, "like")
        (reply,) = await w.fake.wait_reply(ix)
        assert reply["flags"] & EPHEMERAL and "nothing to rate here yet" in reply["content"]

        posted = await _recommend(w, w.alice, 2)
        last = w.service.suggestions[shown_suggestions(posted)[-1]].track
        ix = await w.fake.slash(w.alice, "like")  # no song: the last suggestion shown here
        (reply,) = await w.fake.wait_reply(ix)
        assert (
            reply["flags"] & EPHEMERAL
            and "Noted: you like" in reply["content"]
            and last.name in reply["content"]
        )
        assert await _history(w, w.alice) == [(last.track_id, 1, "command")]

        ix = await w.fake.slash(w.alice, "like")
        (reply,) = await w.fake.wait_reply(ix)
        assert "already liked" in reply["content"]

        ix = await w.fake.slash(w.alice, "dislike", song="Take Five")
        (reply,) = await w.fake.wait_reply(ix)
        assert "less like **Take Five** by Dave Brubeck" in reply["content"]
        assert (await _history(w, w.alice))[0][1:] == (-1, "command")

        # Bob saw nothing in this channel: his /like has nothing to apply to.
        ix = await w.fake.slash(w.bob, "like")
        (reply,) = await w.fake.wait_reply(ix)
        assert "nothing to rate" in reply["content"]


@bounded(20)
async def test_buttons_like_dislike_why_and_more(monkeypatch: pytest.MonkeyPatch) -> None:
    async with world(monkeypatch) as w:
        message = (await _recommend(w, w.alice, 1))[0]
        sid = suggestion_id(message)
        track = w.service.suggestions[sid].track
        mid = int(message["id"])

        ix = await w.fake.click(w.bob, mid, f"songrec:like:{sid}")
        (reply,) = await w.fake.wait_reply(ix)
        assert reply["flags"] & EPHEMERAL and track.name in reply["content"]
        assert await _history(w, w.bob) == [(track.track_id, 1, "button")]

        ix = await w.fake.click(w.bob, mid, f"songrec:dislike:{sid}")
        await w.fake.wait_reply(ix)
        assert await _history(w, w.bob) == [(track.track_id, -1, "button")]

        ix = await w.fake.click(w.bob, mid, f"songrec:why:{sid}")
        (reply,) = await w.fake.wait_reply(ix)
        assert reply["flags"] & EPHEMERAL and "💡" in reply["content"]
        assert w.service.calls_to("why")[-1]["suggestion_id"] == sid

        ix = await w.fake.click(w.carol, mid, f"songrec:more:{sid}")
        (more,) = await wait_suggestions(w.fake, ix, 3)  # one message: three songs, a row of buttons each
        assert f"more like **{track.name}**" in more["content"] and not more["flags"] & EPHEMERAL
        assert w.service.calls_to("more_like")[-1] == {"user_id": w.carol, "suggestion_id": sid, "k": 3}
        shown = suggestion_ids(more)
        assert len(shown) == 3 and [row["components"][0]["custom_id"] for row in more["components"]] == [
            f"songrec:like:{s}" for s in shown
        ]
        assert w.fake.violations == [] and w.fake.unhandled == []


@bounded(20)
async def test_each_row_of_buttons_rates_its_own_song(monkeypatch: pytest.MonkeyPatch) -> None:
    async with world(monkeypatch) as w:
        (message,) = await _recommend(w, w.alice, 5)
        mid, sids = int(message["id"]), suggestion_ids(message)
        assert len(sids) == 5
        for sid, value in ((sids[3], 1), (sids[1], -1)):
            action = "like" if value > 0 else "dislike"
            ix = await w.fake.click(w.bob, mid, f"songrec:{action}:{sid}")
            (reply,) = await w.fake.wait_reply(ix)
            assert w.service.suggestions[sid].track.name in reply["content"]
        votes = [
            (c["suggestion_id"], c["user_id"])
            for c in w.service.calls_to("like") + w.service.calls_to("dislike")
        ]
        assert votes == [(sids[3], w.bob), (sids[1], w.bob)]
        assert sorted(await _history(w, w.bob)) == sorted(
            [
                (w.service.suggestions[sids[3]].track.track_id, 1, "button"),
                (w.service.suggestions[sids[1]].track.track_id, -1, "button"),
            ]
        )

        # A reaction on a message of several songs names none of them: nothing is recorded for it,
        # while one on a message of one song (handled after it) is.
        (single,) = await _recommend(w, w.alice, 1)
        await w.fake.react(w.carol, mid, "👍")
        await w.fake.react(w.carol, int(single["id"]), "👍")
        await eventually(lambda: len(w.service.calls_to("like")) == 2, what="carol's like")
        track = w.service.suggestions[suggestion_id(single)].track
        assert await _history(w, w.carol) == [(track.track_id, 1, "reaction")]


@bounded(20)
async def test_reactions_rate_undo_and_ignore_the_bot(monkeypatch: pytest.MonkeyPatch) -> None:
    async with world(monkeypatch) as w:
        message = (await _recommend(w, w.alice, 1))[0]
        mid, sid = int(message["id"]), suggestion_id(message)
        track = w.service.suggestions[sid].track
        # The fake echoed the bot's own 👍 and 👎 on the gateway, as Discord does; they were ignored
        # (checked below, after a real reaction has been processed behind them).

        await w.fake.react(w.bob, mid, "👍")
        await eventually(lambda: w.service.calls_to("like"), what="bob's like")
        assert await _history(w, w.bob) == [(track.track_id, 1, "reaction")]

        # The same event twice (gateway replays happen) is handled once (bot/dedup.py).
        await w.fake.react(w.bob, mid, "👍")
        assert await _history(w, w.bob) == [(track.track_id, 1, "reaction")]

        # Removing 👍 takes the like back; removing a 👍 after a 👎 leaves the 👎 alone.
        await w.fake.react(w.bob, mid, "👍", add=False)
        await eventually(lambda: w.service.calls_to("undo"), what="undo")
        assert len(w.service.calls_to("like")) == 1, "the repeated add was skipped"
        assert w.service.calls_to("undo")[0] == {
            "user_id": w.bob,
            "suggestion_id": sid,
            "track": None,
            "value": 1,
        }
        assert await _history(w, w.bob) == []

        await w.fake.react(w.carol, mid, "👎🏽")  # skin tones count
        await eventually(lambda: w.service.calls_to("dislike"), what="carol's dislike")
        await w.fake.react(w.carol, mid, "👍", add=False)
        await eventually(lambda: len(w.service.calls_to("undo")) == 2, what="second undo")
        assert await _history(w, w.carol) == [(track.track_id, -1, "reaction")]

        # Other emojis mean nothing.
        await w.fake.react(w.alice, mid, "🎉")
        await w.fake.react(w.alice, mid, "👍")
        await eventually(lambda: len(w.service.calls_to("like")) == 2, what="alice's like")
        assert await _history(w, w.alice) == [(track.track_id, 1, "reaction")]

        # By now the echoes of the bot's own 👍/👎 are long processed: none counted.
        echoed = [
            d["emoji"]["name"]
            for e, d in w.fake.sent_events
            if e == "MESSAGE_REACTION_ADD" and d["user_id"] == str(w.fake.app_id)
        ]
        assert echoed == ["👍", "👎"]
        rated_by = {call["user_id"] for call in w.service.calls_to("like") + w.service.calls_to("dislike")}
        assert rated_by == {w.alice, w.bob, w.carol}
        assert await w.service.history(w.bot.user.id) == []


@bounded(30)
async def test_buttons_and_reactions_work_after_a_restart(monkeypatch: pytest.MonkeyPatch) -> None:
    service = ServiceDouble()
    async with FakeDiscord() as fake:
        fake.patch(monkeypatch)
        alice, bob = fake.add_user("alice"), fake.add_user("bob")
        async with running_bot(fake, service) as first:
            ix = await fake.slash(alice, "recommend", count=1)
            message = suggestion_messages(await wait_suggestions(fake, ix, 1))[0]
            await fake.wait_for(lambda: len(fake.bot_reactions(int(message["id"]))) == 2)
        assert first.is_closed()

        async with running_bot(fake, service) as second:
            assert fake.connections == 2 and second is not first
            sid = suggestion_id(message)
            ix = await fake.click(alice, int(message["id"]), f"songrec:like:{sid}")
            (reply,) = await fake.wait_reply(ix)
            assert "Noted: you like" in reply["content"]
            await fake.react(bob, int(message["id"]), "👎")  # not in the new bot's message cache
            await eventually(lambda: service.calls_to("dislike"), what="bob's dislike")
        track_id = service.suggestions[sid].track.track_id
        assert [(h.track.track_id, h.value, h.source) for h in await service.history(alice)] == [
            (track_id, 1, "button")
        ]
        assert [(h.value, h.source) for h in await service.history(bob)] == [(-1, "reaction")]


@bounded(20)
async def test_history_and_forget_me(monkeypatch: pytest.MonkeyPatch) -> None:
    async with world(monkeypatch) as w:
        await w.service.like(w.alice, "Take Five")
        await w.service.dislike(w.alice, "Bad Guy")
        ix = await w.fake.slash(w.alice, "history")
        (reply,) = await w.fake.wait_reply(ix)
        assert reply["flags"] & EPHEMERAL
        lines = reply["embeds"][0]["description"].splitlines()
        assert lines[0].startswith("👎 **Bad Guy**") and lines[1].startswith("👍 **Take Five**")

        ix = await w.fake.slash(w.alice, "forget-me")
        (confirm,) = await w.fake.wait_reply(ix)
        assert confirm["flags"] & EPHEMERAL and len(custom_ids(confirm)) == 2
        yes, no = custom_ids(confirm)
        assert await w.service.history(w.alice), "nothing is deleted before confirming"

        click = await w.fake.click(w.alice, int(confirm["id"]), yes)
        await w.fake.wait_reply(click)
        assert click.callback_type == 6  # acknowledged first, then the ephemeral prompt is edited in place
        edited = w.fake.messages[int(confirm["id"])]
        assert "deleted 2 records" in edited["content"] and edited["components"] == []
        assert await w.service.history(w.alice) == []

        await w.service.like(w.bob, "Take Five")
        ix = await w.fake.slash(w.bob, "forget-me")
        (confirm,) = await w.fake.wait_reply(ix)
        click = await w.fake.click(w.bob, int(confirm["id"]), custom_ids(confirm)[1])
        await w.fake.wait_reply(click)
        assert "nothing was deleted" in w.fake.messages[int(confirm["id"])]["content"]
        assert len(await w.service.history(w.bob)) == 1


@bounded(20)
async def test_an_ambiguous_like_offers_a_menu_and_the_pick_is_rated(monkeypatch: pytest.MonkeyPatch) -> None:
    async with world(monkeypatch) as w:
        ix = await w.fake.slash(w.alice, "dislike", song="Hello")
        (prompt,) = await w.fake.wait_reply(ix)
        assert prompt["flags"] & EPHEMERAL and "which one do you dislike?" in prompt["content"]
        assert await _history(w, w.alice) == [], "nothing is rated before the pick"
        (menu,) = [c for row in prompt["components"] for c in row["components"]]
        lionel = next(o["value"] for o in menu["options"] if "Lionel Richie" in o["label"])

        pick = await w.fake.choose(w.alice, int(prompt["id"]), menu["custom_id"], lionel)
        await w.fake.wait_reply(pick)
        assert pick.callback_type == 6 and pick.errors == []
        edited = w.fake.messages[int(prompt["id"])]
        assert "less like **Hello** by Lionel Richie" in edited["content"] and edited["components"] == []
        assert await _history(w, w.alice) == [(lionel, -1, "command")]
        assert w.fake.violations == [] and w.fake.unhandled == []
