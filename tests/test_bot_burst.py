"""Many listeners in one channel at once, under Discord's rate limits (the fake's rate-limit mode).

A channel takes about one reaction per 0.25 s and five new messages per 5 s: an answer that needs a
message and two reactions per song leaves a burst of listeners waiting minutes. These tests hold the
bot to answering a burst within seconds, and check the fake answers over-limit requests as Discord does
(429, `retry_after`, X-RateLimit-* headers) so that discord.py's own rate-limit handling is what runs.
"""

from __future__ import annotations

import asyncio
import time
from urllib.parse import quote

import aiohttp
import pytest

from tests.support.bot_harness import (
    bounded,
    eventually,
    suggestion_ids,
    suggestion_messages,
    wait_suggestions,
    world,
)
from tests.support.discord_ratelimits import REACTIONS
from tests.support.discord_server import FakeDiscord

LISTENERS = 20
ASK_WITHIN_S = 2.0
ANSWER_WITHIN_S = 10.0


@bounded(30)
async def test_the_fake_answers_over_limit_requests_as_discord_does() -> None:
    async with FakeDiscord(rate_limits=True) as fake, aiohttp.ClientSession() as http:
        messages = f"{fake.api_base}/channels/{fake.channel_id}/messages"
        answers = []
        for n in range(6):
            async with http.post(messages, json={"content": f"hi {n}"}) as response:
                answers.append((response.status, dict(response.headers), await response.json()))
        assert [status for status, _, _ in answers] == [200] * 5 + [429]
        assert [h["X-RateLimit-Remaining"] for _, h, _ in answers[:5]] == ["4", "3", "2", "1", "0"]
        assert all(h["X-RateLimit-Limit"] == "5" and h["X-RateLimit-Bucket"] for _, h, _ in answers)
        status, headers, body = answers[5]
        assert body["global"] is False and 0 < body["retry_after"] <= 5.0
        assert headers["X-RateLimit-Scope"] == "user" and headers["Via"] and int(headers["Retry-After"]) >= 1
        assert 0 < float(headers["X-RateLimit-Reset-After"]) <= 5.0
        assert sum(m["content"].startswith("hi") for m in fake.messages.values()) == 5, "a 429 posts nothing"

        message_id = next(iter(fake.messages))
        reaction = f"{messages}/{message_id}/reactions/{quote('👍')}/@me"
        async with (
            http.put(reaction) as first,
            http.put(reaction.replace(quote("👍"), quote("👎"))) as second,
        ):
            assert first.status == 204 and second.status == 429
            retry_after = (await second.json())["retry_after"]
        assert 0 < retry_after <= REACTIONS.per_s
        await asyncio.sleep(retry_after)
        async with http.put(reaction.replace(quote("👍"), quote("👎"))) as third:
            assert third.status == 204
        assert fake.bot_reactions(message_id) == ["👍", "👎"]


@bounded(40)
async def test_discord_py_waits_out_the_reaction_bucket(monkeypatch: pytest.MonkeyPatch) -> None:
    async with world(monkeypatch, rate_limits=True) as w:
        users = [w.alice, w.bob, w.carol]
        asked = [await w.fake.slash(user, "recommend", count=1) for user in users]
        posted = [suggestion_messages(await wait_suggestions(w.fake, ix, 1))[0] for ix in asked]
        await w.fake.wait_for(
            lambda: all(w.fake.bot_reactions(int(m["id"])) == ["👍", "👎"] for m in posted),
            timeout=10.0,
            what="every one-song message's 👍/👎",
        )
        assert w.fake.limiter is not None
        served = [at for name, _, at in w.fake.limiter.served if name == REACTIONS.name]
        assert len(served) == 2 * len(users)
        gaps = [later - earlier for earlier, later in zip(served, served[1:], strict=False)]
        assert min(gaps) >= REACTIONS.per_s - 0.01, "the channel took reactions faster than Discord allows"
        assert w.fake.violations == [] and w.fake.unhandled == []


@pytest.mark.timeout(60)
@bounded(50)
async def test_a_burst_of_listeners_in_one_channel_is_answered_within_seconds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with world(monkeypatch, rate_limits=True) as w:
        listeners = [w.fake.add_user(f"listener{n}") for n in range(LISTENERS)]
        started = time.monotonic()
        asked = []
        for user in listeners:  # everyone asks within two seconds
            asked.append(await w.fake.slash(user, "recommend"))
            await asyncio.sleep(ASK_WITHIN_S / LISTENERS)
        assert time.monotonic() - started <= ASK_WITHIN_S + 1.0

        answers = await asyncio.gather(
            *(wait_suggestions(w.fake, ix, 5, timeout=ANSWER_WITHIN_S) for ix in asked)
        )
        votes = []
        for n, (user, messages) in enumerate(zip(listeners, answers, strict=True)):
            (message,) = suggestion_messages(messages)
            sid = suggestion_ids(message)[n % 5]  # each presses a different row's 👍
            votes.append((user, sid, await w.fake.click(user, int(message["id"]), f"songrec:like:{sid}")))
        for _, _, click in votes:
            (reply,) = await w.fake.wait_reply(click, timeout=ANSWER_WITHIN_S)
            assert "Noted: you like" in reply["content"]
        await eventually(
            lambda: len(w.service.calls_to("like")) == LISTENERS, ANSWER_WITHIN_S, "every listener's like"
        )
        elapsed = time.monotonic() - started
        assert elapsed <= ANSWER_WITHIN_S, f"the burst took {elapsed:.1f}s"

        liked = {(c["user_id"], c["suggestion_id"]) for c in w.service.calls_to("like")}
        assert liked == {(user, sid) for user, sid, _ in votes}, "a vote went to the wrong suggestion"
        for user, sid, _ in votes:
            track = w.service.suggestions[sid].track.track_id
            assert [(h.track.track_id, h.value) for h in await w.service.history(user)] == [(track, 1)]
        assert all(ix.errors == [] for ix in asked), "an interaction missed Discord's deadline"
        assert w.fake.violations == [] and w.fake.unhandled == []
