"""/admin retrain over the fake Discord gateway: the bot's owner only; it starts a background run that is
recorded (here a crashing one, which the bot survives)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import ranker_env
from tests.support.bot_harness import bounded, world
from tests.support.discord_server import ADMIN_PERMISSIONS
from tests.support.hostile_check import logging_restored
from tests.support.service_env import ServiceOpener
from training.scheduler import ScheduleConfig, start_embedded


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    with logging_restored():
        yield


@bounded(180)
async def test_admin_retrain_is_for_the_owner_and_runs_in_the_background(
    open_service: ServiceOpener, small_artifact: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    db = tmp_path / "db.sqlite3"
    root = ranker_env.fresh_root(tmp_path, small_artifact)
    async with open_service(db) as service, world(monkeypatch, service) as w:
        fake = w.fake
        ix = await fake.slash(w.bob, "admin", "retrain", permissions=ADMIN_PERMISSIONS)  # a manager
        (reply,) = await fake.wait_reply(ix)
        assert "can't use" in reply["content"]

        w.bot.owner_id = w.carol
        ix = await fake.slash(w.carol, "admin", "retrain")
        (reply,) = await fake.wait_reply(ix)
        assert "isn't running" in reply["content"]

        cfg = ScheduleConfig(env={"SONGREC_TRAINING_FAULT": "crash"})
        learning = await start_embedded(service, cfg=cfg, root=root, schedule=False)
        service.learning = learning
        try:
            ix = await fake.slash(w.carol, "admin", "retrain")
            (reply,) = await fake.wait_reply(ix)
            assert "started" in reply["content"]
            for _ in range(600):
                runs = await service.store.last_training_runs(1)
                if runs and runs[0].status != "running":
                    break
                await asyncio.sleep(0.2)
            [run] = await service.store.last_training_runs(1)
            assert run.status == "failed" and run.metrics["trigger"] == f"manual: /admin retrain by {w.carol}"
            assert await service.recommend(w.carol, k=2)  # the bot's service is fine
        finally:
            await learning.stop()
