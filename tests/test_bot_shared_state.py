"""The bot on shared state (songrec.coordination): an event delivered twice is handled once, cooldowns
are counted in Redis, and when Redis goes away mid-run the bot keeps answering with per-process
cooldowns, says so once in the log, and shares again when Redis is back. Real redis-server, fake Discord."""

from __future__ import annotations

import asyncio
import logging
import re

import pytest

from bot.cogs.recommend import RECOMMEND_RATE
from bot.cooldowns import cooldown_key
from songrec.coordination import KEY_PREFIX, open_coordination, redis_backend
from tests.support.bot_harness import (
    bounded,
    eventually,
    shown_suggestions,
    suggestion_id,
    suggestion_messages,
    wait_suggestions,
    world,
)
from tests.support.discord_server import ADMIN_PERMISSIONS, EPHEMERAL
from tests.support.redis_server import RedisServer


@bounded(30)
async def test_an_interaction_delivered_twice_is_answered_once(monkeypatch: pytest.MonkeyPatch) -> None:
    async with world(monkeypatch) as w:
        ix = await w.fake.slash(w.alice, "recommend", count=1)
        await w.fake.dispatch("INTERACTION_CREATE", ix.payload)  # the same event again
        assert len(shown_suggestions(await wait_suggestions(w.fake, ix, 1))) == 1
        # A later command has been answered, so the duplicate has surely been seen by now.
        later = await w.fake.slash(w.bob, "recommend", count=1)
        posted = suggestion_messages(await wait_suggestions(w.fake, later, 1))
        assert len(w.service.calls_to("recommend")) == 2, "alice's request ran once"
        assert w.fake.violations == [], "nothing acknowledged twice"

        # A button click delivered twice is one vote.
        message = posted[0]
        click = await w.fake.click(w.carol, int(message["id"]), f"songrec:like:{suggestion_id(message)}")
        await w.fake.dispatch("INTERACTION_CREATE", click.payload)
        await w.fake.wait_reply(click)
        await w.fake.wait_reply(await w.fake.slash(w.carol, "history"))
        assert len(w.service.calls_to("like")) == 1 and w.fake.violations == []


@bounded(60)
async def test_redis_going_away_mid_run(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(redis_backend, "RETRY_S", 0.3)
    rate, _ = RECOMMEND_RATE
    server = RedisServer.start()  # private: this test kills it
    coordination = await open_coordination(server.url(3))
    peek = await open_coordination(server.url(3))  # what another process would see
    try:
        async with world(monkeypatch, coordination=coordination) as w:
            ix = await w.fake.slash(w.alice, "recommend", count=1)
            await wait_suggestions(w.fake, ix, 1)
            assert await peek.hit(cooldown_key("recommend", w.alice), 100, 60) is None
            client = peek._client.client  # type: ignore[attr-defined]
            assert int(await client.get(KEY_PREFIX + cooldown_key("recommend", w.alice))) == 2, (
                "counted in Redis"
            )
            assert coordination.describe() == f"Redis at {server.url(3)} (shared)"
            ix = await w.fake.slash(w.carol, "admin", "status", permissions=ADMIN_PERMISSIONS)
            (status,) = await w.fake.wait_reply(ix)
            shared = {f["name"]: f["value"] for f in status["embeds"][0]["fields"]}["Shared state"]
            assert "(shared)" in shared, "/admin status says where the shared state lives"

            server.pause()
            with caplog.at_level(logging.INFO, logger="songrec.coordination"):
                # bob's allowance now lives in this process: `rate` answers, then a cooldown.
                for _ in range(rate):
                    ix = await w.fake.slash(w.bob, "recommend", count=1)
                    assert len(shown_suggestions(await wait_suggestions(w.fake, ix, 1))) == 1, (
                        "the bot keeps answering"
                    )
                    await asyncio.sleep(0.1)  # spread over several retry periods
                ix = await w.fake.slash(w.bob, "recommend", count=1)
                (reply,) = await w.fake.wait_reply(ix)
                assert reply["flags"] & EPHEMERAL and re.search(r"try again in \d+s", reply["content"])
                down = [r for r in caplog.records if "unreachable" in r.getMessage()]
                assert len(down) == 1 and down[0].levelno == logging.WARNING, "logged once, not per request"

                server.resume()
                await asyncio.sleep(0.4)
                ix = await w.fake.slash(w.carol, "recommend", count=1)
                await wait_suggestions(w.fake, ix, 1)
                await eventually(lambda: coordination.shared, what="reconnected")
                assert any("reachable again" in r.getMessage() for r in caplog.records)
            assert await client.get(KEY_PREFIX + cooldown_key("recommend", w.carol)) == "1", "shared again"
            assert len(w.service.calls_to("recommend")) == 1 + rate + 1
            assert w.fake.violations == []
    finally:
        await coordination.close()
        await peek.close()
        server.stop()
