"""Discord misbehaving: 429s with retry_after, a dropped gateway connection (RESUME), and a reaction on a
message deleted before the bot saw the event. The real bot and the real Service, against the fake."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from tests.support.bot_harness import (
    bounded,
    eventually,
    suggestion_id,
    suggestion_messages,
    wait_suggestions,
    world,
)
from tests.support.service_env import ServiceOpener


def live_votes(db: Path, user: int) -> list[tuple[int, int | None]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT value, suggestion_id FROM feedback WHERE user_id = ? AND undone_at IS NULL", (user,)
        ).fetchall()


@bounded(60)
async def test_429s_are_retried_and_the_command_still_succeeds(
    open_service: ServiceOpener, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    async with open_service(tmp_path / "db.sqlite3") as service, world(monkeypatch, service) as w:
        fake = w.fake
        fake.rate_limit_once("POST", r"^/interactions/\d+/[^/]+/callback$", retry_after=0.3)  # the defer
        answer = r"^/webhooks/\d+/[^/]+/messages/@original$"  # the answer fills the placeholder
        fake.rate_limit_once("PATCH", answer, retry_after=0.2)
        fake.rate_limit_once("PUT", r"/reactions/", retry_after=0.2, is_global=True)  # seeding 👍
        ix = await fake.slash(w.alice, "recommend", song="Song 12", count=1)  # one song: reactions too
        posted = suggestion_messages(await wait_suggestions(fake, ix, 1))
        assert len(posted) == 1
        for message in posted:
            await fake.wait_for(lambda m=message: len(fake.bot_reactions(int(m["id"]))) == 2)
        assert len(fake.rate_limited) == 3
        for limited in fake.rate_limited:
            retried = [
                r
                for r in fake.requests
                if r.method == limited.method and r.path == limited.path and r.at > limited.at
            ]
            assert retried and retried[0].status in (200, 204), f"{limited.method} {limited.path} not retried"
            assert retried[0].at - limited.at >= 0.15, "retried before retry_after"
        assert fake.violations == [] and fake.unhandled == []


@bounded(60)
async def test_gateway_reconnect_resumes_and_later_interactions_work(
    open_service: ServiceOpener, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    async with open_service(tmp_path / "db.sqlite3") as service, world(monkeypatch, service) as w:
        fake = w.fake
        ix = await fake.slash(w.alice, "recommend", count=1)
        await wait_suggestions(fake, ix, 1)
        session = fake._sessions and next(iter(fake._sessions))
        await fake.drop_connection(code=4000)  # Discord restarting a gateway node
        await fake.wait_for(lambda: fake.resumes, 10.0, "a RESUME")
        resume = fake.resumes[0]
        assert resume["session_id"] == session and isinstance(resume["seq"], int) and resume["seq"] > 0
        assert len(fake.identifies) == 1, "the bot identified again instead of resuming"
        await fake.wait_connected()
        assert ("RESUMED", {}) in fake.sent_events

        ix = await fake.slash(w.bob, "recommend", song="Song 12", count=1)
        assert len(suggestion_messages(await wait_suggestions(fake, ix, 1))) == 1
        assert fake.violations == [] and fake.unhandled == []


@bounded(60)
async def test_reaction_on_a_deleted_message(
    open_service: ServiceOpener,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    db = tmp_path / "db.sqlite3"
    caplog.set_level(logging.WARNING)
    async with open_service(db) as service, world(monkeypatch, service) as w:
        fake = w.fake
        ix = await fake.slash(w.alice, "recommend", song="Song 12", count=1)
        (message,) = suggestion_messages(await wait_suggestions(fake, ix, 1))
        message_id, sid = int(message["id"]), suggestion_id(message)
        await fake.wait_for(lambda: len(fake.bot_reactions(message_id)) == 2)

        fake.delete_message(message_id)  # gone before the reaction event is handled
        await fake.react(w.bob, message_id, "👍")
        await eventually(lambda: live_votes(db, w.bob), what="bob's vote")
        assert live_votes(db, w.bob) == [(1, sid)], "the vote names a suggestion that still exists"
        fetches = fake.requests_to("GET", rf"/messages/{message_id}$")
        assert all(r.status == 404 for r in fetches)

        # A reaction on a deleted message the bot never posted: cleanly ignored.
        stranger = fake.new_id()
        fake.messages[stranger] = {**message, "id": str(stranger)}
        fake.delete_message(stranger)
        await fake.react(w.carol, stranger, "👍")
        ix = await fake.slash(w.carol, "history")  # a round trip, so the reaction has been handled
        await fake.wait_reply(ix)
        assert live_votes(db, w.carol) == []
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]
