"""A sample of the hostile corpus through the real bot, the real Service and the fake Discord.

The catalogue itself is hostile here (song and artist names with @everyone, mentions, markdown, 10,000
characters, control characters), so what the bot echoes back is hostile too. Everything the fake
received must be escaped, within Discord's limits, and sent with allowed_mentions that ping nobody.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from songrec.content.engine import Engine
from songrec.service import Service, ServiceConfig
from tests.support.bot_harness import all_text, bounded, running_bot, shown_suggestions
from tests.support.discord_server import EPHEMERAL, FakeDiscord, FakeInteraction
from tests.support.factories import make_catalog
from tests.support.hostile_check import row_counts
from tests.support.hostile_inputs import MARKDOWN_AND_MENTIONS, Hostile, hostile_texts, sample

N_TRACKS = 200
FAKE_MENTION = "<@123456789012345678>"
HOSTILE_ARTISTS = (["@everyone", "**Band**"], [FAKE_MENTION, "||spoiler||"], ["@here"], ["`code`", "> quote"])
MARKDOWN_MARKERS = ("**bold**", "||spoiler||", "__underline__", "~~strike~~", "[click me](https://evil")
PING = re.compile(r"@(everyone|here)|<@[!&]?\d{17,20}>")


def hostile_names() -> list[str]:
    """Names for the catalogue: every markdown/mention string plus an even sample of the rest."""
    picked = [h.text for h in sample([h for h in hostile_texts() if h.text.strip()], 40)]
    names = list(dict.fromkeys([*MARKDOWN_AND_MENTIONS, *picked, "a" * 10_000]))
    return [n for n in names if n.strip() and _utf8(n)]  # a catalogue (parquet) holds valid UTF-8 only


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@pytest.fixture(scope="module")
def hostile_artifact(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, tuple[str, ...]]:
    """(root, hostile track ids): a small real artifact whose first rows carry hostile names and
    artists, and are the most popular."""
    from training.autoencoder import TrainConfig
    from training.embedding import EmbeddingJob, build_embedding_artifact

    names = hostile_names()
    frame = make_catalog(N_TRACKS, seed=5)
    for i, name in enumerate(names):
        frame.at[i, "name"] = name
        frame.at[i, "popularity"] = 100.0  # cold start shows popular tracks: these
        if i % 3 == 0:
            frame.at[i, "artists"] = HOSTILE_ARTISTS[i % len(HOSTILE_ARTISTS)]
    root = tmp_path_factory.mktemp("hostile-artifact")
    build_embedding_artifact(frame, root, EmbeddingJob(train=TrainConfig(epochs=3, seed=0)), progress=False)
    return root, tuple(frame["track_id"].iloc[: len(names)])


@contextlib.asynccontextmanager
async def hostile_service(db: Path, root: Path) -> AsyncIterator[Service]:
    service = await Service.open(
        db_path=db, artifacts=root, engine=Engine.load(root), config=ServiceConfig(seed=0, cpu_workers=2)
    )
    try:
        yield service
    finally:
        await service.close()


def check_message(message: dict[str, Any], allowed: dict[str, Any] | None, users: set[int]) -> list[str]:
    problems = []
    text = all_text(message)
    for match in PING.finditer(text):
        mentioned = re.sub(r"\D", "", match[0])
        if not mentioned or int(mentioned) not in users:  # the bot may name real users, never @everyone
            problems.append(f"message {message['id']}: unescaped {match[0]!r}")
    for marker in MARKDOWN_MARKERS:
        if re.search(r"(?<!\\)" + re.escape(marker), text):  # escaped means a backslash before it
            problems.append(f"message {message['id']}: unescaped markdown {marker!r}")
    if "\x00" in text:
        problems.append(f"message {message['id']}: a null byte")
    if allowed is None or allowed.get("parse") != [] or allowed.get("users") or allowed.get("roles"):
        problems.append(f"message {message['id']}: allowed_mentions {allowed!r}")
    return problems


async def answered(fake: FakeDiscord, ix: FakeInteraction, songs: int = 0) -> list[dict[str, Any]]:
    """The interaction's visible messages: once they show `songs` suggestions (0: any message), or a
    single ephemeral answer (an error, a menu of candidates)."""

    def done() -> bool:
        shown = fake.visible_messages(ix)
        enough = len(shown_suggestions(shown)) >= songs if songs else bool(shown)
        return bool(ix.errors) or enough or any(m["flags"] & EPHEMERAL for m in shown)

    await fake.wait_for(done, 10.0, f"an answer to {ix.payload['data'].get('name')}")
    assert not ix.errors, ix.errors
    return fake.visible_messages(ix)


@pytest.mark.timeout(150)
@bounded(140)
async def test_hostile_names_and_inputs_through_the_bot(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, hostile_artifact: tuple[Path, tuple[str, ...]]
) -> None:
    root, hostile_ids = hostile_artifact
    db = tmp_path / "songrec.sqlite3"
    texts: list[Hostile] = sample(hostile_texts(), 12)
    async with hostile_service(db, root) as service, FakeDiscord() as fake:
        fake.patch(monkeypatch)
        users: list[int] = []

        def new_user() -> int:  # /recommend has a per-user cooldown: a fresh user per request
            users.append(fake.add_user(f"user{len(users)}"))
            return users[-1]

        async with running_bot(fake, service):
            # Cold start shows the (popular, hostile) tracks; then songs picked by id, then typed text.
            for _ in range(2):
                await answered(fake, await fake.slash(new_user(), "recommend", count=5), 5)
            for track_id in hostile_ids[::6]:
                await answered(fake, await fake.slash(new_user(), "recommend", song=track_id, count=3), 3)
            for item in texts:
                user = new_user()
                messages = await answered(
                    fake, await fake.slash(user, "recommend", song=item.text, count=2), 2
                )
                if messages and messages[0]["flags"] & EPHEMERAL:  # an error, or a menu of the songs meant
                    assert "⚠️" in messages[0]["content"] or messages[0]["components"], messages[0]
                before = row_counts(db)
                (reply,) = await answered(fake, await fake.slash(user, "like", song=item.text))
                if "Noted" not in reply["content"]:
                    assert row_counts(db) == before, f"a refused /like of {item.label} wrote to the database"
                ix = await fake.autocomplete(user, "recommend", "song", item.text[:100] or "x")
                await fake.wait_reply(ix)
                assert ix.choices is not None and len(ix.choices) <= 25
            for track_id in hostile_ids[:8]:
                user = new_user()
                (reply,) = await answered(fake, await fake.slash(user, "like", song=track_id))
                assert "Noted" in reply["content"], reply["content"]
                (reply,) = await answered(fake, await fake.slash(user, "why"))

        problems: list[str] = []
        known = set(users)
        for message_id, message in fake.messages.items():
            problems += check_message(message, fake.allowed_mentions.get(message_id), known)
        assert not problems, "\n".join(problems[:30])
        assert fake.violations == [] and fake.unhandled == []
        echoed = "\n".join(all_text(m) for m in fake.messages.values())
        assert "@\u200beveryone" in echoed, "the hostile names were never echoed: the test proves nothing"
        assert "\\*\\*bold\\*\\*" in echoed or "\\*\\*Band\\*\\*" in echoed
