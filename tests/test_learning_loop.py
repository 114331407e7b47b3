"""The whole loop in one service: votes arrive, the embedded AsyncIOScheduler notices the feedback count
crossed its threshold, a training subprocess trains and promotes a ranker, and the watcher swaps it
into the running service, whose next suggestions carry the taste model's parts."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from songrec.content.artifacts import ArtifactStore
from songrec.content.engine import Engine
from songrec.models.ranker import RANKER_KIND
from tests.support import ranker_env
from tests.support.service_env import ServiceOpener
from training.scheduler import ScheduleConfig, start_embedded

pytestmark = pytest.mark.timeout(300)

USERS = range(ranker_env.FIRST_USER, ranker_env.FIRST_USER + 24)


async def _wait(predicate, seconds: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.2)
    return predicate()


async def test_feedback_threshold_triggers_a_run_that_is_hot_swapped_in(
    open_service: ServiceOpener, small_artifact: Path, small_engine: Engine, tmp_path: Path
) -> None:
    root = ranker_env.fresh_root(tmp_path, small_artifact)
    db = tmp_path / "songrec.sqlite3"
    votes = ranker_env.planted_votes(small_engine, USERS)
    threshold = len(votes) - 100
    cfg = ScheduleConfig(
        interval_s=3600.0, check_s=0.5, min_new_feedback=threshold, job_args=tuple(ranker_env.fast_args())
    )
    async with open_service(db) as service:
        loop = await start_embedded(service, cfg=cfg, root=root, poll_s=0.5, schedule=True)
        try:
            assert service.ranker is None  # nothing trained yet
            jobs = {job.id: job for job in loop.scheduler.get_jobs()}
            assert set(jobs) == {"retrain", "retrain-on-feedback"}
            assert all(j.coalesce and j.max_instances == 1 and j.misfire_grace_time for j in jobs.values())

            await service.store.add_feedback_bulk(votes[:200])  # below the threshold: no run
            await asyncio.sleep(2.0)
            assert loop.retrainer.runs == 0
            assert await service.store.last_training_runs(5) == []

            await service.store.add_feedback_bulk(votes[200:])
            await (
                service._reload_ratings()
            )  # votes written behind the service's back (as another process would)
            assert await _wait(lambda: loop.retrainer.runs >= 1, 240), "the feedback check never fired"
            [run] = await service.store.last_training_runs(5)
            assert run.status == "succeeded" and run.promoted, run.reason
            assert run.reason.startswith("promoted")
            assert run.metrics["last_feedback_id"] == len(votes)
            assert await _wait(lambda: service.ranker is not None, 30)
            assert service.ranker.version == ArtifactStore(root, RANKER_KIND).current_version()

            picks = await service.recommend(ranker_env.FIRST_USER, k=4)
            assert picks and all("ranker_like" in p.score_parts for p in picks)
            await asyncio.sleep(1.5)  # nothing new since: the check does not fire again
            assert loop.retrainer.runs == 1
        finally:
            await loop.stop()
