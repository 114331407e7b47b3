"""Run the real SongrecBot against FakeDiscord inside a test, bounded in time so a hang fails fast."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.app import BotConfig, SongrecBot
from songrec.coordination import Coordination
from songrec.service.api import SongService

from .discord_server import EPHEMERAL, FakeDiscord, FakeInteraction
from .service_double import ServiceDouble

TOKEN = "fake-token"
STEP_TIMEOUT_S = 5.0


@contextlib.asynccontextmanager
async def running_bot(
    fake: FakeDiscord,
    service: SongService,
    *,
    config: BotConfig | None = None,
    coordination: Coordination | None = None,
) -> AsyncIterator[SongrecBot]:
    """Log in, connect and wait for READY; close the bot (not the fake) on exit.

    The caller has pointed discord.py at the fake (`fake.patch(monkeypatch)`). `coordination`: the
    shared state (default: the bot's own, in-process).
    """
    bot = SongrecBot(
        service,
        config=config or BotConfig(token=TOKEN),
        coordination=coordination,
        guild_ready_timeout=0.05,
    )
    connector: asyncio.Task[None] | None = None
    try:
        await asyncio.wait_for(bot.login(TOKEN), STEP_TIMEOUT_S)
        connector = asyncio.create_task(bot.connect(reconnect=False))
        ready = asyncio.create_task(bot.wait_until_ready())
        done, _ = await asyncio.wait(
            {connector, ready}, timeout=STEP_TIMEOUT_S, return_when=asyncio.FIRST_COMPLETED
        )
        if ready not in done:
            ready.cancel()
            if connector in done:
                connector.result()  # re-raise why the connection ended
            raise AssertionError("the bot did not become ready in time")
        yield bot
    finally:
        await asyncio.wait_for(bot.close(), STEP_TIMEOUT_S)
        if connector is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(connector, STEP_TIMEOUT_S)


async def eventually(
    predicate: Callable[[], Any], timeout: float = STEP_TIMEOUT_S, what: str = "condition"
) -> Any:
    """Poll predicate() until truthy (for state that changes without a REST request, e.g. the service)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.01)


def bounded(seconds: float) -> Callable[[Callable[..., Awaitable[None]]], Callable[..., Awaitable[None]]]:
    """Fail an async test after `seconds` instead of letting a hang eat the suite's time."""

    def decorate(test: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
        @functools.wraps(test)
        async def wrapper(*args: Any, **kwargs: Any) -> None:
            await asyncio.wait_for(test(*args, **kwargs), seconds)

        return wrapper

    return decorate


@dataclass
class World:
    """A fake Discord with three users, a service, and the bot connected to both."""

    fake: FakeDiscord
    service: Any  # ServiceDouble in these tests; the real Service later
    bot: SongrecBot
    alice: int
    bob: int
    carol: int


@contextlib.asynccontextmanager
async def world(
    monkeypatch: Any,
    service: SongService | None = None,
    *,
    coordination: Coordination | None = None,
    **fake_options: Any,
) -> AsyncIterator[World]:
    async with FakeDiscord(**fake_options) as fake:
        fake.patch(monkeypatch)
        alice, bob, carol = (fake.add_user(name) for name in ("alice", "bob", "carol"))
        service = service if service is not None else ServiceDouble()
        async with running_bot(fake, service, coordination=coordination) as bot:
            yield World(fake, service, bot, alice, bob, carol)


SUGGESTION_ID = re.compile(r"songrec:like:(\d+)")


def custom_ids(message: dict[str, Any]) -> list[str]:
    return [c["custom_id"] for row in message.get("components", []) for c in row.get("components", [])]


def suggestion_ids(message: dict[str, Any]) -> list[int]:
    """The suggestions a posted message shows, in order, read from their Like buttons (one row each)."""
    return [int(m[1]) for cid in custom_ids(message) if (m := SUGGESTION_ID.fullmatch(cid))]


def suggestion_id(message: dict[str, Any]) -> int:
    """The one suggestion a message of one song is about (a message of several: suggestion_ids)."""
    ids = suggestion_ids(message)
    assert ids, f"message {message['id']} has no Like button"
    assert len(ids) == 1, f"message {message['id']} shows {len(ids)} songs: use suggestion_ids"
    return ids[0]


def suggestion_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in messages if m.get("embeds") and any(SUGGESTION_ID.fullmatch(c) for c in custom_ids(m))]


def shown_suggestions(messages: list[dict[str, Any]]) -> list[int]:
    """Every suggestion the messages show, in the order a reader sees them."""
    return [sid for message in suggestion_messages(messages) for sid in suggestion_ids(message)]


async def wait_suggestions(
    fake: FakeDiscord, ix: FakeInteraction, count: int, timeout: float = STEP_TIMEOUT_S
) -> list[dict[str, Any]]:
    """Wait until the interaction's messages show `count` suggestions (or an ephemeral ⚠️ says why not);
    return its visible messages."""

    def done() -> bool:
        shown = fake.visible_messages(ix)
        failed = any(m["flags"] & EPHEMERAL and m["content"].startswith("⚠️") for m in shown)
        return bool(ix.errors) or failed or len(shown_suggestions(shown)) >= count

    await fake.wait_for(done, timeout, f"{count} suggestions for {ix.payload['data'].get('name')}")
    assert not ix.errors, ix.errors
    return fake.visible_messages(ix)


def all_text(message: dict[str, Any]) -> str:
    """Everything a user reads in a message: content, embed titles, descriptions, fields, footers."""
    parts = [message.get("content") or ""]
    for embed in message.get("embeds", []):
        parts += [embed.get("title") or "", embed.get("description") or ""]
        parts += [f"{f['name']} {f['value']}" for f in embed.get("fields", [])]
        parts.append((embed.get("footer") or {}).get("text") or "")
    return "\n".join(parts)
