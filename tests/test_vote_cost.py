"""What one 👍 costs the database, through the real Service and through the real bot: ONE write
transaction (the store takes the vote and says whether it changed anything in the same transaction),
and the suggestion row read once by the vote itself, beside the bot's own message lookup.

SQLite only: the statements are counted with SQLite's trace hook on the store's connections (the writer's
and the reads').
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from songrec.service import Service
from tests.support.bot_harness import (
    bounded,
    eventually,
    suggestion_id,
    suggestion_messages,
    wait_suggestions,
    world,
)
from tests.support.service_env import ServiceOpener

USER = 5150
READS_SUGGESTIONS = re.compile(r"^\s*SELECT\b.*\bFROM suggestions\b", re.I | re.S)


async def traced(service: Service) -> list[str]:
    """Every statement the store's connections run from now on, as SQLite reports it."""
    statements: list[str] = []
    db = service.store.db  # type: ignore[attr-defined]
    assert db.reader is not db.conn, "a file database reads on a connection of its own"
    for conn in (db.conn, db.reader):
        await conn.set_trace_callback(statements.append)
    return statements


def suggestion_reads(statements: list[str]) -> list[str]:
    return [s for s in statements if READS_SUGGESTIONS.search(s)]


class Counter:
    """Write transactions and read jobs since it was made."""

    def __init__(self, service: Service) -> None:
        self.stats = service.store.stats
        self.start = (self.stats.transactions, self.stats.reads)

    @property
    def transactions(self) -> int:
        return self.stats.transactions - self.start[0]

    @property
    def reads(self) -> int:
        return self.stats.reads - self.start[1]


async def measure(service: Service, vote: Callable[[], object]) -> tuple[Counter, list[str]]:
    statements = await traced(service)
    counter = Counter(service)
    await vote()  # type: ignore[misc]
    return counter, statements


@pytest.mark.timeout(120)
async def test_a_like_through_the_service_is_one_write_transaction(
    open_service: ServiceOpener, tmp_path: Path
) -> None:
    async with open_service(tmp_path / "songrec.sqlite3") as service:
        [shown] = await service.recommend(USER, ["Song 12"], k=1)

        async def like() -> None:
            assert (await service.like(USER, suggestion_id=shown.id, source="reaction")).changed

        counter, statements = await measure(service, like)
        assert counter.transactions == 1, statements
        assert counter.reads == 0, statements  # no read of the live vote or the suggestion beforehand
        assert len(suggestion_reads(statements)) == 1, statements  # inside the vote's transaction
        assert statements.count("BEGIN IMMEDIATE") == 1

        async def like_again() -> None:  # nothing changes: still one transaction, which writes nothing
            assert not (await service.like(USER, suggestion_id=shown.id, source="button")).changed

        counter, statements = await measure(service, like_again)
        assert (counter.transactions, counter.reads, len(suggestion_reads(statements))) == (1, 0, 1)
        assert not [s for s in statements if s.lstrip().upper().startswith(("INSERT", "UPDATE"))]

        async def dislike() -> None:  # the opposite vote replaces the like: changed
            assert (await service.dislike(USER, suggestion_id=shown.id, source="chat")).changed

        counter, statements = await measure(service, dislike)
        assert (counter.transactions, counter.reads, len(suggestion_reads(statements))) == (1, 0, 1)
        [live] = await service.store.feedback_for_user(USER)
        assert (live.value, live.source, live.suggestion_id) == (-1, "chat", shown.id)


@bounded(60)
async def test_a_thumbs_up_reaction_through_the_bot_is_one_write_transaction(
    open_service: ServiceOpener, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    async with open_service(tmp_path / "songrec.sqlite3") as service, world(monkeypatch, service) as w:
        ix = await w.fake.slash(w.alice, "recommend", song="Song 12", count=1)
        [message] = suggestion_messages(await wait_suggestions(w.fake, ix, 1))
        sid = suggestion_id(message)
        await w.fake.wait_for(lambda: len(w.fake.bot_reactions(int(message["id"]))) == 2)
        await asyncio.sleep(0.2)  # let the bot's own posting writes settle before counting

        statements = await traced(service)
        counter = Counter(service)
        await w.fake.react(w.bob, int(message["id"]), "👍")
        await eventually(lambda: counter.transactions >= 1, what="bob's like committed")
        await asyncio.sleep(0.3)  # anything else the reaction would cause has had time to happen

        assert counter.transactions == 1, statements
        reads = suggestion_reads(statements)
        # The bot maps the message to its suggestion (one read); the vote reads the row once more,
        # inside its own transaction. The service adds no read of its own.
        assert len(reads) == 2, reads
        assert "message_id" in reads[0] and "WHERE id" in reads[1]
        [live] = await service.store.feedback_for_user(w.bob)
        assert (live.value, live.source, live.suggestion_id) == (1, "reaction", sid)
        assert w.fake.violations == [] and w.fake.unhandled == []
