"""`songrec chat`'s /session and /explore against the real service: two terminals share one session."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from songrec.cli.chat import run_chat, user_id_for
from songrec.cli.chat_group import parse_share
from songrec.domain import InvalidInput
from tests.support.service_env import ServiceOpener

ALICE, BOB = user_id_for("alice"), user_id_for("bob")


async def _chat(service, user: int, lines: list[str]) -> str:  # type: ignore[no-untyped-def]
    out = io.StringIO()
    assert await run_chat(service, user, io.StringIO("\n".join(lines) + "\n"), out) == 0
    text = out.getvalue()
    assert "Traceback" not in text and "Something went wrong" not in text, text
    return text


async def test_two_chat_users_share_a_group_session(open_service: ServiceOpener, tmp_path: Path) -> None:
    async with open_service(tmp_path / "db.sqlite3") as service:
        await service.like(BOB, "Song 40")
        text = await _chat(
            service, ALICE, ["/session", "/session start Song 12", "/session next 3", "/like 1"]
        )
        assert "You're not in a group session" in text and "Started a group session (average)" in text
        assert "/session join NAME" in text
        assert "For the group:" in text and " 3. " in text and "👍 Noted" in text
        first = [line for line in text.splitlines() if line.startswith(" 1. ")][-1]

        text = await _chat(
            service, BOB, ["/session join alice", "/session", "/session next 2", "/session leave"]
        )
        assert "Joined alice's session: you and 1 other" in text
        assert "Group session (average): you and 1 other." in text
        assert "For the group:" in text and first not in text.split("For the group:")[1], "never repeated"
        assert "You left the session (1 still in it)" in text

        text = await _chat(
            service, ALICE, ["/session start", "/session end", "/session end", "/session dance"]
        )
        assert "already" in text or "Sorry" in text  # one session per channel at a time
        assert "Session over: 5 songs played. Most liked:" in text
        assert "no group session" in text.lower()
        assert "Try /session start" in text
        session = await service.active_session(user_id_for("alice"))
        assert session is None


async def test_chat_explore_shows_and_sets_the_listeners_own_share(
    open_service: ServiceOpener, tmp_path: Path
) -> None:
    async with open_service(tmp_path / "db.sqlite3") as service:
        text = await _chat(
            service, ALICE, ["/explore", "/explore 30%", "/explore", "/explore 80%", "/explore lots"]
        )
        assert "20% of your suggestions from your taste explore (the default)" in text
        assert "Saved: 30% of your suggestions from your taste explore (your choice)." in text
        assert "Sorry: Your explore share must be between 0% and 50%." in text
        assert "Sorry: Give a share from 0% to 50%" in text
        assert (await service.explore_share(ALICE)).rate == pytest.approx(0.3)
        assert (await service.explore_share(BOB)).source == "default"
        for _ in range(2):
            await service.like(ALICE, "Song 40")
        picks = await service.recommend(ALICE, k=10)
        assert sum(p.kind == "explore" for p in picks) == 3
        text = await _chat(service, ALICE, ["/explore 0", "/explore reset"])
        assert (
            "Saved: 0% of your" in text
            and "Saved: 20% of your suggestions from your taste explore (the default)" in text
        )
        assert (await service.explore_share(ALICE)).own is None


def test_shares_are_read_as_a_person_writes_them() -> None:
    assert parse_share("30%") == pytest.approx(0.3) and parse_share("30") == pytest.approx(0.3)
    assert parse_share("0.25") == pytest.approx(0.25) and parse_share("12.5%") == pytest.approx(0.125)
    assert parse_share(" 0 ") == 0.0 and parse_share("reset") is None and parse_share("Default") is None
    for bad in ("", "lots", "nan", "inf", "3O%"):
        with pytest.raises(InvalidInput):
            parse_share(bad)
