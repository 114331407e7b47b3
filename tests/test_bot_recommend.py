"""/recommend end to end: the real bot (discord.py 2.7.1) against a fake Discord on 127.0.0.1."""

from __future__ import annotations

import logging
import re

import pytest

from bot.cogs.recommend import RECOMMEND_RATE
from songrec.domain import Filters
from tests.support.bot_harness import (
    all_text,
    bounded,
    custom_ids,
    suggestion_id,
    suggestion_messages,
    world,
)
from tests.support.discord_server import EPHEMERAL, LOADING, FakeDiscord
from tests.support.service_double import HOSTILE_NAME, HUGE_NAME

NO_MENTIONS = {"parse": []}


def assert_clean(fake: FakeDiscord) -> None:
    """Nothing Discord would reject, no route the fake lacks, no message that can ping."""
    assert fake.violations == []
    assert fake.unhandled == []
    for message_id, message in fake.messages.items():
        if not message["flags"] & LOADING:
            assert fake.allowed_mentions[message_id] == NO_MENTIONS, message
    assert not fake.requests_to("PUT", r"/commands$"), "commands must only be synced explicitly"


@bounded(20)
async def test_recommend_without_song_posts_one_message_per_suggestion(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with world(monkeypatch) as w:
        ix = await w.fake.slash(w.alice, "recommend", count=3)
        messages = await w.fake.wait_reply(ix, 4)
        assert ix.callback_type == 5, "slow work must be deferred first"
        header, posted = messages[0], suggestion_messages(messages)
        assert f"<@{w.alice}>" in header["content"] and "from your taste" in header["content"]
        assert len(posted) == 3 and not any(m["flags"] & EPHEMERAL for m in messages)
        call = w.service.calls_to("recommend")[0]
        assert call["user_id"] == w.alice and call["seeds"] is None and call["k"] == 3
        assert call["channel_id"] == w.fake.channel_id

        attached = {c["message_id"]: c["suggestion_ids"] for c in w.service.calls_to("attach_message")}
        for message in posted:
            sid = suggestion_id(message)
            suggestion = w.service.suggestions[sid]
            assert attached[int(message["id"])] == [sid]
            embed = message["embeds"][0]
            assert embed["title"] == suggestion.track.name  # plain names come through unchanged
            assert embed["url"] == suggestion.track.spotify_url
            fields = {f["name"]: f["value"] for f in embed["fields"]}
            assert fields["Artists"] == suggestion.track.artist_line
            assert fields["Year"] == str(suggestion.track.year)
            assert suggestion.reason in embed["description"]
            assert custom_ids(message) == [f"songrec:{a}:{sid}" for a in ("like", "dislike", "more", "why")]
        await w.fake.wait_for(
            lambda: all(w.fake.bot_reactions(int(m["id"])) == ["👍", "👎"] for m in posted),
            what="👍/👎 on each",
        )
        assert_clean(w.fake)


@bounded(20)
async def test_recommend_with_song_link_and_filters(monkeypatch: pytest.MonkeyPatch) -> None:
    async with world(monkeypatch) as w:
        ix = await w.fake.slash(w.alice, "recommend", song="Thunder Road - Bruce Springsteen", count=2)
        messages = await w.fake.wait_reply(ix, 3)
        assert "Thunder Road - Bruce Springsteen" in messages[0]["content"]
        first = w.service.suggestions[suggestion_id(suggestion_messages(messages)[0])]
        assert first.track.artists == ("Bruce Springsteen",) and first.kind == "content"

        seed = next(t for t in w.service.tracks.values() if t.name == "So What")
        ix = await w.fake.slash(
            w.bob, "recommend", song=seed.spotify_url, count=1, max_popularity=60, explore=0.5
        )
        await w.fake.wait_reply(ix, 2)
        call = w.service.calls_to("recommend")[-1]
        assert call["seeds"] == [seed.spotify_url]
        assert call["filters"] == Filters(max_popularity=60.0, explore_rate=0.5)
        assert_clean(w.fake)


@bounded(20)
async def test_picking_an_autocomplete_choice_names_the_song(monkeypatch: pytest.MonkeyPatch) -> None:
    async with world(monkeypatch) as w:
        ix = await w.fake.autocomplete(w.alice, "recommend", focused="song", value="hel")
        await w.fake.wait_reply(ix)
        assert ix.callback_type == 8
        names = [c["name"] for c in ix.choices or []]
        assert "Hello — Adele (2015)" in names and "Hello — Lionel Richie (1984)" in names
        adele = next(c for c in ix.choices or [] if c["name"].startswith("Hello — Adele"))
        assert adele["value"] == next(
            t.track_id for t in w.service.tracks.values() if t.artists == ("Adele",)
        )

        # Choices are plain text capped at 100 characters, even for a 10,000-character title.
        ix = await w.fake.autocomplete(w.alice, "like", focused="song", value="AAAA")
        await w.fake.wait_reply(ix)
        assert [len(c["name"]) for c in ix.choices or []] == [100]

        ix = await w.fake.autocomplete(w.alice, "recommend", focused="song", value="   ")
        await w.fake.wait_reply(ix)
        assert ix.choices == []

        # The picked value is a track id; the header shows the song's name, not the id.
        ix = await w.fake.slash(w.alice, "recommend", song=adele["value"], count=1)
        messages = await w.fake.wait_reply(ix, 2)
        assert "Hello by Adele" in messages[0]["content"] and adele["value"] not in messages[0]["content"]
        assert_clean(w.fake)


@bounded(20)
async def test_bad_song_gets_a_friendly_ephemeral_error(monkeypatch: pytest.MonkeyPatch) -> None:
    async with world(monkeypatch) as w:
        ix = await w.fake.slash(w.alice, "recommend", song="Hello")
        (reply,) = await w.fake.wait_reply(ix)
        assert reply["flags"] & EPHEMERAL, "errors are shown to the caller only"
        assert "Several songs match" in reply["content"] and "Lionel Richie" in reply["content"]
        # The public "thinking…" placeholder was removed rather than turned into a public error.
        assert w.fake.requests_to("DELETE", r"/messages/@original$")
        assert [m for m in w.fake.messages.values() if not m["flags"] & EPHEMERAL] == []

        ix = await w.fake.slash(w.alice, "recommend", song="https://open.spotify.com/track/broken")
        (reply,) = await w.fake.wait_reply(ix)
        assert reply["flags"] & EPHEMERAL and "Spotify link looks malformed" in reply["content"]
        assert_clean(w.fake)


@bounded(20)
async def test_unexpected_failure_gets_an_apology_and_a_logged_traceback(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async with world(monkeypatch) as w:
        w.service.failures["recommend"] = RuntimeError("database file is locked at /secret/path")
        with caplog.at_level(logging.ERROR, logger="songrec.bot"):
            ix = await w.fake.slash(w.alice, "recommend")
            (reply,) = await w.fake.wait_reply(ix)
        assert reply["flags"] & EPHEMERAL
        assert "Sorry, something went wrong" in reply["content"] and "/secret/path" not in reply["content"]
        logged = [r for r in caplog.records if r.name == "songrec.bot" and r.exc_info]
        assert logged and "database file is locked" in str(logged[0].exc_info[1])
        assert_clean(w.fake)


@bounded(20)
async def test_slow_service_is_deferred_before_the_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    # The fake enforces a 1.5 s acknowledgement deadline (Discord: 3 s); the service takes 2 s.
    async with world(monkeypatch, deadline_s=1.5) as w:
        w.service.delays["recommend"] = 2.0
        ix = await w.fake.slash(w.alice, "recommend", count=2)
        messages = await w.fake.wait_reply(ix, 3, timeout=10)
        assert ix.errors == [] and ix.callback_type == 5
        order = [
            (r.method, r.path)
            for r in w.fake.requests
            if ix.token in r.path and not r.path.endswith("/reactions")
        ]
        assert order[0] == ("POST", f"/interactions/{ix.id}/{ix.token}/callback")
        assert all(path.startswith("/webhooks/") for _, path in order[1:])
        assert len(suggestion_messages(messages)) == 2
        assert_clean(w.fake)


@bounded(30)
async def test_recommend_has_a_per_user_cooldown(monkeypatch: pytest.MonkeyPatch) -> None:
    rate, per = RECOMMEND_RATE
    async with world(monkeypatch) as w:
        for _ in range(rate):
            ix = await w.fake.slash(w.alice, "recommend", count=1)
            await w.fake.wait_reply(ix, 2)
        ix = await w.fake.slash(w.alice, "recommend", count=1)
        (reply,) = await w.fake.wait_reply(ix)
        assert reply["flags"] & EPHEMERAL
        wait = re.search(r"try again in (\d+)s", reply["content"])
        assert wait and 0 < int(wait[1]) <= per
        assert len(w.service.calls_to("recommend")) == rate

        # Someone else is not slowed down by alice.
        ix = await w.fake.slash(w.bob, "recommend", count=1)
        assert len(await w.fake.wait_reply(ix, 2)) == 2
        assert_clean(w.fake)


def _unescaped_everyone(text: str) -> bool:
    return bool(re.search(r"@(everyone|here)", text))


@bounded(20)
async def test_hostile_song_names_are_echoed_safely(monkeypatch: pytest.MonkeyPatch) -> None:
    async with world(monkeypatch) as w:
        huge = next(t for t in w.service.tracks.values() if t.name == HUGE_NAME)
        assert len(huge.name) == 10_000
        ix = await w.fake.slash(w.alice, "recommend", song=huge.track_id, count=10)
        messages = await w.fake.wait_reply(ix, 11)
        posted = suggestion_messages(messages)
        titles = {w.service.suggestions[suggestion_id(m)].track.name: m for m in posted}
        assert HOSTILE_NAME in titles, "the double should suggest the hostile track here"

        hostile = titles[HOSTILE_NAME]["embeds"][0]
        assert "\\*\\*FREE\\*\\*" in hostile["title"] and "\\|\\|spoiler\\|\\|" in hostile["title"]
        assert "@\u200beveryone" in hostile["title"] and "<@\u200b123456789012345678>" in hostile["title"]
        # The header quotes the 10,000-character seed: escaped and cut to fit.
        assert len(messages[0]["content"]) <= 2000 and "…" in messages[0]["content"]

        ix = await w.fake.slash(w.bob, "recommend", song="@everyone **FREE**", count=1)
        messages = await w.fake.wait_reply(ix, 2)
        assert "@\u200beveryone \\*\\*FREE\\*\\*" in messages[0]["content"]

        ix = await w.fake.slash(w.carol, "like", song=huge.track_id)
        (reply,) = await w.fake.wait_reply(ix)
        assert len(reply["content"]) <= 2000

        for message in w.fake.messages.values():
            text = all_text(message)
            assert not _unescaped_everyone(text), text[:300]
            assert not re.search(
                r"<@\d", text.replace("<@" + str(w.alice), "").replace("<@" + str(w.bob), "")
            )
        assert_clean(w.fake)  # every size limit held, every message sent with mentions disabled


@bounded(20)
async def test_bot_connects_without_privileged_intents(monkeypatch: pytest.MonkeyPatch) -> None:
    async with world(monkeypatch) as w:
        intents = w.fake.identifies[0]["intents"]
        assert intents & (1 << 7), "voice states"
        assert intents & (1 << 10), "guild message reactions"
        assert not intents & (1 << 1), "members is privileged"
        assert not intents & (1 << 8), "presences is privileged"
        assert not intents & (1 << 15), "message content is privileged"
        assert w.fake.gateway_queries[0].get("encoding") == "json"


def test_option_limits_match_the_service() -> None:
    """What Discord lets a user type is what the service accepts, so no limit is a surprise."""
    from bot.cogs.feedback import FeedbackCog
    from bot.cogs.recommend import MAX_RECOMMEND_COUNT, RecommendCog
    from songrec.content.lookup import MAX_QUERY_CHARS
    from songrec.service.config import ServiceConfig

    song_options = [
        next(p for p in command.parameters if p.name == "song")
        for command in (RecommendCog.recommend, FeedbackCog.like, FeedbackCog.dislike)
    ]
    assert {p.max_value for p in song_options} == {MAX_QUERY_CHARS}  # a string Range: its max length
    count = next(p for p in RecommendCog.recommend.parameters if p.name == "count")
    assert (count.min_value, count.max_value) == (1, MAX_RECOMMEND_COUNT)
    assert ServiceConfig().max_k >= MAX_RECOMMEND_COUNT
    assert f"(1-{MAX_RECOMMEND_COUNT})" in count.description


@bounded(20)
async def test_a_count_outside_the_option_says_the_options_range(monkeypatch: pytest.MonkeyPatch) -> None:
    async with world(monkeypatch) as w:
        ix = await w.fake.slash(w.alice, "recommend", song="Bad Guy", count=40)
        (reply,) = await w.fake.wait_reply(ix)
        assert reply["flags"] & EPHEMERAL and "between 1 and 10 songs" in reply["content"]
        assert not w.service.calls_to("recommend")
