"""One training run for the whole deployment: the retrain lease in Redis (two bot processes' schedulers
racing) and the store's "running" row (a run started without the lease, e.g. `songrec train ranker`)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from songrec.coordination import LocalCoordination, open_coordination
from tests.support import ranker_env
from tests.support.redis_server import RedisServer
from tests.support.service_env import ServiceOpener
from training.scheduler import RETRAIN_LEASE, Retrainer, ScheduleConfig

pytestmark = pytest.mark.timeout(240)


async def test_two_processes_racing_to_retrain_run_one_training(
    open_service: ServiceOpener,
    trained_ranker: ranker_env.Trained,
    redis_server: RedisServer,
    tmp_path: Path,
) -> None:
    db, root = ranker_env.trained_copy(trained_ranker, tmp_path)
    cfg = ScheduleConfig(env={"SONGREC_TRAINING_FAULT": "crash"})  # quick: the child dies at once
    url = redis_server.fresh_url()
    first, second = await open_coordination(url), await open_coordination(url)
    try:
        async with open_service(db) as one, open_service(db) as two:
            before = {r.id for r in await one.store.last_training_runs(50)}
            a = Retrainer(db, root, cfg, store=one.store, coordination=first)
            b = Retrainer(db, root, cfg, store=two.store, coordination=second)
            outcomes = await asyncio.gather(a.run("process a"), b.run("process b"))
            statuses = sorted(o.status for o in outcomes)
            assert statuses == ["busy", "failed"], outcomes
            busy = next(o for o in outcomes if o.status == "busy")
            assert "another process" in busy.reason and busy.run_id is None
            new = [r for r in await one.store.last_training_runs(50) if r.id not in before]
            assert len(new) == 1, "one run recorded for the deployment"
            # The lease went back with the run: the next one may start.
            lease = await second.try_lease(RETRAIN_LEASE, ttl_s=5)
            assert lease is not None
            await lease.release()
    finally:
        await first.close()
        await second.close()


async def test_a_recent_running_row_blocks_a_second_start(
    open_service: ServiceOpener, trained_ranker: ranker_env.Trained, tmp_path: Path
) -> None:
    db, root = ranker_env.trained_copy(trained_ranker, tmp_path)
    cfg = ScheduleConfig(env={"SONGREC_TRAINING_FAULT": "crash"}, timeout_s=600.0)
    async with open_service(db) as service:
        running = await service.store.record_training_run("cpu", "songrec train ranker, by hand")
        retrainer = Retrainer(db, root, cfg, store=service.store, coordination=LocalCoordination())
        outcome = await retrainer.run("scheduled")
        assert outcome.status == "busy" and f"training run {running.id} is still running" in outcome.reason
        assert retrainer.runs == 0
        [latest] = await service.store.last_training_runs(1)
        assert latest.id == running.id and latest.status == "running", "nothing new recorded"
