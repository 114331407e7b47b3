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
    running_bot,
    shown_suggestions,
    suggestion_id,
    suggestion_ids,
    suggestion_messages,
    wait_suggestions,
    world,
)
from tests.support.discord_server import EPHEMERAL, LOADING, FakeDiscord
from tests.support.service_double import HOSTILE_NAME, HUGE_NAME, ServiceDouble

NO_MENTIONS = {"parse": []}
OPERATOR_SETTINGS = re.compile(r"\b(SONGREC|SPOTIFY|DISCORD)_[A-Z_]+")


def assert_clean(fake: FakeDiscord) -> None:
    """Nothing Discord would reject, no route the fake lacks, no message that can ping, and no
    operator setting named to a listener."""
    assert fake.violations == []
    assert fake.unhandled == []
    for message_id, message in fake.messages.items():
        if not message["flags"] & LOADING:
            assert fake.allowed_mentions[message_id] == NO_MENTIONS, message
        assert not OPERATOR_SETTINGS.search(all_text(message) + str(message.get("components"))), message
    assert not fake.requests_to("PUT", r"/commands$"), "commands must only be synced explicitly"


def menu(message: dict) -> dict:  # type: ignore[type-arg]
    """The one select menu on a message."""
    (found,) = [c for row in message["components"] for c in row["components"] if c["type"] == 3]
    return found


@bounded(20)
async def test_recommend_posts_one_message_with_a_row_of_buttons_per_song(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with world(monkeypatch) as w:
        ix = await w.fake.slash(w.alice, "recommend", count=3)
        messages = await wait_suggestions(w.fake, ix, 3)
        assert ix.callback_type == 5, "slow work must be deferred first"
        (message,) = messages  # the header, the songs and their buttons: one message
        assert f"<@{w.alice}>" in message["content"] and "to start with" in message["content"]
        assert "from your taste" not in message["content"], "a newcomer has no taste yet: cold start"
        assert not message["flags"] & EPHEMERAL
        call = w.service.calls_to("recommend")[0]
        assert call["user_id"] == w.alice and call["seeds"] is None and call["k"] == 3
        assert call["channel_id"] == w.fake.channel_id

        sids = suggestion_ids(message)
        assert len(sids) == 3
        attached = {c["message_id"]: c["suggestion_ids"] for c in w.service.calls_to("attach_message")}
        assert attached == {int(message["id"]): sids}
        rows = message["components"]
        assert len(rows) == 3 and len(message["embeds"]) == 3
        for number, (sid, row, embed) in enumerate(zip(sids, rows, message["embeds"], strict=True), 1):
            suggestion = w.service.suggestions[sid]
            assert embed["title"] == f"{number}. {suggestion.track.name}"  # numbered like its row
            assert embed["url"] == suggestion.track.spotify_url
            fields = {f["name"]: f["value"] for f in embed["fields"]}
            assert fields["Artists"] == suggestion.track.artist_line
            assert fields["Year"] == str(suggestion.track.year)
            assert suggestion.reason in embed["description"]
            assert [b["custom_id"] for b in row["components"]] == [
                f"songrec:{a}:{sid}" for a in ("like", "dislike", "more", "why")
            ]
            assert all(f"#{number}" in b["label"] for b in row["components"])
        assert [bool(e.get("footer")) for e in message["embeds"]] == [False, False, True]

        # Few REST calls: the defer and one edit; no reactions on a message of several songs.
        made = [r for r in w.fake.requests if ix.token in r.path or "/reactions/" in r.path]
        assert [(r.method, r.path.rsplit("/", 1)[-1]) for r in made] == [
            ("POST", "callback"),
            ("PATCH", "@original"),
        ]
        assert w.fake.bot_reactions(int(message["id"])) == []
        assert_clean(w.fake)


@bounded(20)
async def test_one_song_gets_reactions_and_ten_songs_take_two_messages(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with world(monkeypatch) as w:
        ix = await w.fake.slash(w.alice, "recommend", count=1)
        (message,) = await wait_suggestions(w.fake, ix, 1)
        sid = suggestion_id(message)
        assert message["embeds"][0]["title"] == w.service.suggestions[sid].track.name
        assert "React 👍" in message["embeds"][0]["footer"]["text"]
        assert custom_ids(message) == [f"songrec:{a}:{sid}" for a in ("like", "dislike", "more", "why")]
        await w.fake.wait_for(lambda: w.fake.bot_reactions(int(message["id"])) == ["👍", "👎"], what="👍/👎")

        ix = await w.fake.slash(w.bob, "recommend", count=10)
        messages = await wait_suggestions(w.fake, ix, 10)
        assert [len(suggestion_ids(m)) for m in messages] == [5, 5]
        assert "10 suggestions" in messages[0]["content"] and messages[1]["content"] == ""
        titles = [e["title"] for m in messages for e in m["embeds"]]
        assert [t.split(". ", 1)[0] for t in titles] == [str(n) for n in range(1, 11)]
        assert all(w.fake.bot_reactions(int(m["id"])) == [] for m in messages)
        assert_clean(w.fake)


@bounded(20)
async def test_recommend_with_song_link_and_filters(monkeypatch: pytest.MonkeyPatch) -> None:
    async with world(monkeypatch) as w:
        ix = await w.fake.slash(w.alice, "recommend", song="Thunder Road - Bruce Springsteen", count=2)
        messages = await wait_suggestions(w.fake, ix, 2)
        assert "Thunder Road - Bruce Springsteen" in messages[0]["content"]
        first = w.service.suggestions[shown_suggestions(messages)[0]]
        assert first.track.artists == ("Bruce Springsteen",) and first.kind == "content"

        seed = next(t for t in w.service.tracks.values() if t.name == "So What")
        ix = await w.fake.slash(
            w.bob, "recommend", song=seed.spotify_url, count=1, max_popularity=60, explore=0.5
        )
        await wait_suggestions(w.fake, ix, 1)
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

        # The picked value is a track id; the header shows the song's name, not the id, and needs no
        # second look-up (the service may be too slow for one just then).
        w.service.delays["autocomplete"] = 5.0
        ix = await w.fake.slash(w.alice, "recommend", song=adele["value"], count=1)
        messages = await wait_suggestions(w.fake, ix, 1)
        assert "based on “Hello by Adele”" in messages[0]["content"]
        assert adele["value"] not in messages[0]["content"]
        assert "the song you picked" not in messages[0]["content"]
        assert_clean(w.fake)


@bounded(20)
async def test_bad_song_gets_a_friendly_ephemeral_error(monkeypatch: pytest.MonkeyPatch) -> None:
    async with world(monkeypatch) as w:
        ix = await w.fake.slash(w.alice, "recommend", song="https://open.spotify.com/track/broken")
        (reply,) = await w.fake.wait_reply(ix)
        assert reply["flags"] & EPHEMERAL, "errors are shown to the caller only"
        assert "Spotify link looks malformed" in reply["content"]
        # The public "thinking…" placeholder was removed rather than turned into a public error.
        assert w.fake.requests_to("DELETE", r"/messages/@original$")
        assert [m for m in w.fake.messages.values() if not m["flags"] & EPHEMERAL] == []
        assert_clean(w.fake)


@bounded(20)
async def test_an_ambiguous_song_offers_a_menu_and_a_pick_recommends_from_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with world(monkeypatch) as w:
        ix = await w.fake.slash(w.alice, "recommend", song="Hello", count=2, max_popularity=90)
        (prompt,) = await w.fake.wait_reply(ix)
        assert prompt["flags"] & EPHEMERAL, "the menu is for the caller only"
        assert "Several songs match “Hello”" in prompt["content"]
        assert w.fake.requests_to("DELETE", r"/messages/@original$"), "no public placeholder left behind"
        options = {o["label"]: o["value"] for o in menu(prompt)["options"]}
        assert set(options) == {"Hello — Adele (2015)", "Hello — Lionel Richie (1984)"}
        lionel = options["Hello — Lionel Richie (1984)"]

        pick = await w.fake.choose(w.alice, int(prompt["id"]), menu(prompt)["custom_id"], lionel)
        messages = await wait_suggestions(w.fake, pick, 2)
        assert pick.callback_type == 7 and pick.errors == [], "the menu is answered at once"
        note = w.fake.messages[int(prompt["id"])]
        assert "You picked Hello — Lionel Richie (1984)" in note["content"] and note["components"] == []
        (posted,) = suggestion_messages(messages)
        assert not posted["flags"] & EPHEMERAL and len(suggestion_ids(posted)) == 2
        assert "based on “Hello by Lionel Richie”" in posted["content"]
        call = w.service.calls_to("recommend")[-1]
        assert call["seeds"] == [lionel] and call["k"] == 2
        assert call["filters"] == Filters(max_popularity=90.0)
        assert_clean(w.fake)


@bounded(30)
async def test_the_song_menu_works_after_a_restart(monkeypatch: pytest.MonkeyPatch) -> None:
    service = ServiceDouble()
    async with FakeDiscord() as fake:
        fake.patch(monkeypatch)
        alice = fake.add_user("alice")
        async with running_bot(fake, service):
            ix = await fake.slash(alice, "recommend", song="Hello", explore=0.25)
            (prompt,) = await fake.wait_reply(ix)
        async with running_bot(fake, service):
            adele = next(o["value"] for o in menu(prompt)["options"] if "Adele" in o["label"])
            pick = await fake.choose(alice, int(prompt["id"]), menu(prompt)["custom_id"], adele)
            await wait_suggestions(fake, pick, 5)
        call = service.calls_to("recommend")[-1]
        assert call["seeds"] == [adele] and call["k"] == 5 and call["filters"] == Filters(explore_rate=0.25)
        assert_clean(fake)


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
        messages = await wait_suggestions(w.fake, ix, 2, timeout=10)
        assert ix.errors == [] and ix.callback_type == 5
        order = [
            (r.method, r.path)
            for r in w.fake.requests
            if ix.token in r.path and not r.path.endswith("/reactions")
        ]
        assert order[0] == ("POST", f"/interactions/{ix.id}/{ix.token}/callback")
        assert all(path.startswith("/webhooks/") for _, path in order[1:])
        assert len(shown_suggestions(messages)) == 2
        assert_clean(w.fake)


@bounded(30)
async def test_recommend_has_a_per_user_cooldown(monkeypatch: pytest.MonkeyPatch) -> None:
    rate, per = RECOMMEND_RATE
    async with world(monkeypatch) as w:
        for _ in range(rate):
            ix = await w.fake.slash(w.alice, "recommend", count=1)
            await wait_suggestions(w.fake, ix, 1)
        ix = await w.fake.slash(w.alice, "recommend", count=1)
        (reply,) = await w.fake.wait_reply(ix)
        assert reply["flags"] & EPHEMERAL
        wait = re.search(r"try again in (\d+)s", reply["content"])
        assert wait and 0 < int(wait[1]) <= per
        assert len(w.service.calls_to("recommend")) == rate

        # Someone else is not slowed down by alice.
        ix = await w.fake.slash(w.bob, "recommend", count=1)
        assert len(shown_suggestions(await wait_suggestions(w.fake, ix, 1))) == 1
        assert_clean(w.fake)


def _unescaped_everyone(text: str) -> bool:
    return bool(re.search(r"@(everyone|here)", text))


@bounded(20)
async def test_hostile_song_names_are_echoed_safely(monkeypatch: pytest.MonkeyPatch) -> None:
    async with world(monkeypatch) as w:
        huge = next(t for t in w.service.tracks.values() if t.name == HUGE_NAME)
        assert len(huge.name) == 10_000
        ix = await w.fake.slash(w.alice, "recommend", song=huge.track_id, count=10)
        messages = await wait_suggestions(w.fake, ix, 10)
        cards = {
            w.service.suggestions[sid].track.name: embed
            for m in suggestion_messages(messages)
            for sid, embed in zip(suggestion_ids(m), m["embeds"], strict=True)
        }
        assert HOSTILE_NAME in cards, "the double should suggest the hostile track here"

        hostile = cards[HOSTILE_NAME]
        assert "\\*\\*FREE\\*\\*" in hostile["title"] and "\\|\\|spoiler\\|\\|" in hostile["title"]
        assert "@\u200beveryone" in hostile["title"] and "<@\u200b123456789012345678>" in hostile["title"]
        # The header quotes the 10,000-character seed: escaped and cut to fit.
        assert len(messages[0]["content"]) <= 2000 and "…" in messages[0]["content"]

        ix = await w.fake.slash(w.bob, "recommend", song="@everyone **FREE**", count=1)
        messages = await wait_suggestions(w.fake, ix, 1)
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


@bounded(20)
async def test_an_artist_alone_or_with_a_title_is_a_seed(monkeypatch: pytest.MonkeyPatch) -> None:
    async with world(monkeypatch) as w:
        ix = await w.fake.slash(w.alice, "recommend", artist="Bruce Springsteen", count=2)
        (message,) = await wait_suggestions(w.fake, ix, 2)
        assert "based on “Bruce Springsteen”" in message["content"]
        call = w.service.calls_to("recommend")[-1]
        assert call["seeds"] is None and call["artist"] == "Bruce Springsteen"

        ix = await w.fake.slash(w.bob, "recommend", song="Hello", artist="Adele", count=1)
        (message,) = await wait_suggestions(w.fake, ix, 1)
        assert "based on “Hello by Adele”" in message["content"], "the artist settles which Hello"
        assert w.service.calls_to("recommend")[-1]["artist"] == "Adele"
        assert_clean(w.fake)
