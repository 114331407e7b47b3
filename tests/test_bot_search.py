"""/search, /recommend artist:, /why details and honest years, through the fake Discord."""

from __future__ import annotations

import pytest

from tests.support.bot_harness import all_text, bounded, suggestion_messages, wait_suggestions, world
from tests.support.discord_server import EPHEMERAL
from tests.support.service_double import ServiceDouble


@bounded(20)
async def test_search_lists_songs_for_the_asker_with_their_decade(monkeypatch: pytest.MonkeyPatch) -> None:
    async with world(monkeypatch) as w:
        ix = await w.fake.slash(w.alice, "search", query="Hello")
        (reply,) = await w.fake.wait_reply(ix)
        assert reply["flags"] & EPHEMERAL, "a look-up is for the one who asked"
        text = all_text(reply)
        assert "Hello** by Adele (2015)" in text and "Hello** by Lionel Richie (1984)" in text
        assert w.service.calls_to("search")[-1] == {"text": "Hello", "limit": 10}

        ix = await w.fake.slash(w.alice, "search", query="my generation", share=True)
        (reply,) = await w.fake.wait_reply(ix)
        text = all_text(reply)
        assert not reply["flags"] & EPHEMERAL
        assert "My Generation** by The Who (1960s)" in text and "1965" not in text

        ix = await w.fake.slash(w.alice, "search", query="zzzz nothing like it")
        (reply,) = await w.fake.wait_reply(ix)
        assert "Nothing in the catalogue matches" in all_text(reply)


@bounded(20)
async def test_recommend_like_an_artist_leaves_their_songs_out(monkeypatch: pytest.MonkeyPatch) -> None:
    async with world(monkeypatch) as w:
        ix = await w.fake.slash(w.alice, "recommend", artist="Adele", count=3)
        (message,) = suggestion_messages(await wait_suggestions(w.fake, ix, 3))
        assert "based on “Adele”" in message["content"]
        assert "by Adele" not in all_text(message).split("\n", 1)[1]
        assert w.service.calls_to("recommend")[-1]["artist"] == "Adele"


@bounded(20)
async def test_why_in_words_and_the_score_only_with_details(monkeypatch: pytest.MonkeyPatch) -> None:
    service = ServiceDouble()
    async with world(monkeypatch, service) as w:
        ix = await w.fake.slash(w.alice, "recommend", song="Hello - Adele", count=2)
        await wait_suggestions(w.fake, ix, 2)
        ix = await w.fake.slash(w.alice, "why")
        (plain,) = await w.fake.wait_reply(ix)
        assert plain["content"].startswith("💡") and "Score" not in plain["content"]
        ix = await w.fake.slash(w.alice, "why", details=True)
        (detailed,) = await w.fake.wait_reply(ix)
        assert "Score" in detailed["content"] and service.calls_to("why")[-1]["details"] is True
