"""The real bot against the fake Discord with the REAL Service: real SQLite file, real small artifact.

The double-based tests check the bot's Discord behaviour in detail; these check that the bot and the
service agree on the wire: what users click and react lands in the database, across a restart too.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.support.bot_harness import (
    bounded,
    eventually,
    running_bot,
    suggestion_id,
    suggestion_ids,
    suggestion_messages,
    wait_suggestions,
    world,
)
from tests.support.discord_server import EPHEMERAL, FakeDiscord
from tests.support.service_env import ServiceOpener


def live_votes(db: Path, user: int) -> list[tuple[str, int, str, int | None]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT track_id, value, source, suggestion_id FROM feedback WHERE user_id = ? AND undone_at IS NULL"
            " ORDER BY id",
            (user,),
        ).fetchall()


def posted_message_of(db: Path, sid: int) -> int | None:
    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT message_id FROM suggestions WHERE id = ?", (sid,)).fetchone()
    return None if row is None else row[0]


@bounded(60)
async def test_recommend_like_by_button_and_reaction_in_the_database(
    open_service: ServiceOpener, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    db = tmp_path / "songrec.sqlite3"
    async with open_service(db) as service, world(monkeypatch, service) as w:
        # /recommend from taste (a newcomer: cold start).
        ix = await w.fake.slash(w.alice, "recommend", count=3)
        (message,) = suggestion_messages(await wait_suggestions(w.fake, ix, 3))  # one message, 3 songs
        assert "to start with" in message["content"] and "from your taste" not in message["content"]
        sids = suggestion_ids(message)
        assert len(sids) == 3
        for sid, embed in zip(sids, message["embeds"], strict=True):
            stored = await service.get_suggestion(sid)
            assert stored is not None and stored.kind in ("cold_start", "explore")
            assert stored.reason in embed["description"]
            # The bot notes where it posted once Discord has taken the message: soon after we see it.
            await eventually(
                lambda sid=sid: posted_message_of(db, sid) == int(message["id"]), what="message id"
            )

        # /recommend with a song, then bob clicks the second song's Like button.
        ix = await w.fake.slash(w.alice, "recommend", song="Song 12", count=2)
        (seeded,) = suggestion_messages(await wait_suggestions(w.fake, ix, 2))
        assert "Song 12" in seeded["content"]
        sid = suggestion_ids(seeded)[1]
        track = (await service.get_suggestion(sid)).track  # type: ignore[union-attr]
        assert track.name != "Song 12"
        ix = await w.fake.click(w.bob, int(seeded["id"]), f"songrec:like:{sid}")
        (reply,) = await w.fake.wait_reply(ix)
        assert reply["flags"] & EPHEMERAL and track.name in reply["content"]
        assert live_votes(db, w.bob) == [(track.track_id, 1, "button", sid)]

        # On a message of one song, a 👍 reaction by carol is a like; removing it takes the like back.
        ix = await w.fake.slash(w.alice, "recommend", song="Song 12", count=1)
        (single,) = suggestion_messages(await wait_suggestions(w.fake, ix, 1))
        await w.fake.wait_for(lambda: len(w.fake.bot_reactions(int(single["id"]))) == 2)
        other = suggestion_id(single)
        other_track = (await service.get_suggestion(other)).track  # type: ignore[union-attr]
        await w.fake.react(w.carol, int(single["id"]), "👍")
        await eventually(lambda: live_votes(db, w.carol), what="carol's like in the database")
        assert live_votes(db, w.carol) == [(other_track.track_id, 1, "reaction", other)]
        await w.fake.react(w.carol, int(single["id"]), "👍", add=False)
        await eventually(lambda: not live_votes(db, w.carol), what="carol's like undone")

        # /like with no song likes the last suggestion shown to alice here; /why explains it.
        ix = await w.fake.slash(w.alice, "like")
        (reply,) = await w.fake.wait_reply(ix)
        assert "Noted: you like" in reply["content"]
        last = (await service.get_suggestion(other)).track  # type: ignore[union-attr]
        assert live_votes(db, w.alice) == [(last.track_id, 1, "command", other)]
        ix = await w.fake.slash(w.alice, "why")
        (reply,) = await w.fake.wait_reply(ix)
        assert "close to Song 12" in reply["content"]
        assert w.fake.violations == [] and w.fake.unhandled == []


@bounded(60)
async def test_a_click_after_a_restart_of_bot_and_service(
    open_service: ServiceOpener, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    db = tmp_path / "songrec.sqlite3"
    async with FakeDiscord() as fake:
        fake.patch(monkeypatch)
        alice, bob = fake.add_user("alice"), fake.add_user("bob")
        async with open_service(db) as service, running_bot(fake, service):
            ix = await fake.slash(alice, "recommend", count=1)
            message = suggestion_messages(await wait_suggestions(fake, ix, 1))[0]
            await fake.wait_for(lambda: len(fake.bot_reactions(int(message["id"]))) == 2)
        sid = suggestion_id(message)
        async with open_service(db) as service, running_bot(fake, service):  # a new process, same database
            ix = await fake.click(alice, int(message["id"]), f"songrec:dislike:{sid}")
            (reply,) = await fake.wait_reply(ix)
            assert "less like" in reply["content"]
            await fake.react(bob, int(message["id"]), "👍")
            await eventually(lambda: live_votes(db, bob), what="bob's reaction after the restart")
            track = (await service.get_suggestion(sid)).track  # type: ignore[union-attr]
            assert live_votes(db, alice) == [(track.track_id, -1, "button", sid)]
            assert live_votes(db, bob) == [(track.track_id, 1, "reaction", sid)]
        assert fake.violations == [] and fake.unhandled == []


@bounded(60)
async def test_three_member_session_on_the_real_service(
    open_service: ServiceOpener, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    db = tmp_path / "songrec.sqlite3"
    async with open_service(db) as service, world(monkeypatch, service) as w:
        fake = w.fake
        await service.like(w.alice, "Song 0")
        await service.like(w.bob, "Song 2")
        ix = await fake.slash(w.alice, "session", "start", strategy="least_misery")
        await fake.wait_reply(ix)
        for member in (w.bob, w.carol):
            ix = await fake.slash(member, "session", "join")
            (reply,) = await fake.wait_reply(ix)
        assert "3 listening" in reply["content"]

        ix = await fake.slash(w.bob, "session", "next", count=3)
        messages = await fake.wait_reply(ix, 4)
        posted = suggestion_messages(messages)
        picks = [await service.get_suggestion(suggestion_id(m)) for m in posted]
        assert all(p is not None and p.kind == "session" for p in picks)
        assert all("nobody should mind" in p.reason for p in picks)  # type: ignore[union-attr]
        assert all("least_misery" in p.score_parts for p in picks)  # type: ignore[union-attr]

        first = posted[0]
        await fake.wait_for(lambda: len(fake.bot_reactions(int(first["id"]))) == 2)
        for member in (w.carol, w.bob):
            await fake.react(member, int(first["id"]), "👍")
        track = picks[0].track  # type: ignore[union-attr]
        await eventually(
            lambda: all(
                (track.track_id, 1, "session") in [v[:3] for v in live_votes(db, m)] for m in (w.carol, w.bob)
            ),
            what="session likes in the database",
        )
        ix = await fake.slash(w.carol, "session", "next", count=3)
        again = suggestion_messages(await fake.wait_reply(ix, 4))
        assert not {suggestion_id(m) for m in again} & {suggestion_id(m) for m in posted}
        names = [(await service.get_suggestion(suggestion_id(m))).track.name for m in again]  # type: ignore[union-attr]
        assert track.name not in names, "nothing repeats within a session"

        ix = await fake.slash(w.alice, "session", "end")
        (summary,) = await fake.wait_reply(ix)
        fields = {f["name"]: f["value"] for f in summary["embeds"][0]["fields"]}
        liked_line = next(line for line in fields["The group liked"].splitlines() if track.name in line)
        assert f"<@{w.carol}>" in liked_line and f"<@{w.bob}>" in liked_line
        assert await service.active_session(fake.channel_id) is None
        assert fake.violations == [] and fake.unhandled == []
