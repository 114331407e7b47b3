"""`songrec serve` (songrec.cli.serve), the composition root: the service, the learning loop and the bot.

The real pieces are replaced at their import sites, so this checks only the wiring: the learning loop
is started on the opened service and kept on `service.learning` before the bot gets the service, and
everything is stopped in reverse order, also when the bot fails or the learning loop cannot start.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

import bot.app
import songrec.service
import training.scheduler
from bot.app import BotConfig
from songrec.cli import serve as composition
from songrec.domain import BotConfigError


class FakeService:
    def __init__(self, events: list[str]) -> None:
        self.events = events
        self.learning: Any = None

    async def close(self) -> None:
        self.events.append("service closed")


class FakeLearning:
    def __init__(self, events: list[str]) -> None:
        self.events = events

    async def stop(self) -> None:
        self.events.append("learning stopped")


@pytest.fixture
def wired(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    monkeypatch.setenv("SONGREC_HOME", str(tmp_path))
    monkeypatch.delenv("SPOTIFY_CLIENT_ID", raising=False)
    monkeypatch.delenv("SONGREC_METRICS_PORT", raising=False)
    state: dict[str, Any] = {"events": [], "learning_fails": False, "bot_fails": False}
    events: list[str] = state["events"]

    class OpenService:
        @staticmethod
        async def open(**kwargs: Any) -> FakeService:
            events.append("service opened")
            state["service_coordination"] = kwargs.get("coordination")
            state["service"] = FakeService(events)
            return state["service"]

    async def start_embedded(service: Any) -> FakeLearning:
        if state["learning_fails"]:
            raise RuntimeError("apscheduler is broken")
        events.append("learning started")
        return FakeLearning(events)

    async def run_bot(service: Any, *, config: BotConfig | None = None, coordination: Any = None) -> None:
        events.append("bot ran")
        state["bot_coordination"] = coordination
        state["bot_saw_learning"] = service.learning
        if state["bot_fails"]:
            raise BotConfigError("Discord rejected DISCORD_TOKEN")

    monkeypatch.setattr(songrec.service, "Service", OpenService, raising=False)
    monkeypatch.setattr(training.scheduler, "start_embedded", start_embedded)
    monkeypatch.setattr(bot.app, "run_bot", run_bot)
    return state


def test_serve_starts_learning_before_the_bot_and_stops_it_after(wired: dict[str, Any]) -> None:
    asyncio.run(composition.serve(BotConfig("token")))
    assert wired["events"] == [
        "service opened",
        "learning started",
        "bot ran",
        "learning stopped",
        "service closed",
    ]
    assert isinstance(wired["bot_saw_learning"], FakeLearning), "the bot's service carries the loop"
    shared = wired["bot_coordination"]
    assert shared is not None and shared is wired["service_coordination"], "one shared state per process"


def test_a_learning_loop_that_cannot_start_does_not_stop_the_bot(wired: dict[str, Any]) -> None:
    wired["learning_fails"] = True
    asyncio.run(composition.serve(BotConfig("token")))
    assert wired["events"] == ["service opened", "bot ran", "service closed"]
    assert wired["bot_saw_learning"] is None


def test_a_failing_bot_still_stops_the_learning_loop(
    wired: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    wired["bot_fails"] = True
    monkeypatch.setenv("DISCORD_TOKEN", "token")
    monkeypatch.setattr(bot.app, "setup_logging", lambda level=None: None)  # keep pytest's handlers
    assert composition.main([]) == composition.EXIT_CONFIG
    assert wired["events"][-2:] == ["learning stopped", "service closed"]
    assert capsys.readouterr().err.startswith("songrec bot: Discord rejected DISCORD_TOKEN")
