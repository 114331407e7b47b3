"""Planning in worker processes (songrec.service.plan_processes): real spawned processes on the small
artifact. They plan exactly what the threads plan, with and without a ranker (the trained hybrid one
included); a killed worker loses no request and is replaced; after an engine swap no worker plans on the
old engine; a ranker that cannot be pickled is served by the threads."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from pathlib import Path

import numpy as np

from songrec.content.engine import Engine
from songrec.models.ranker import load_ranker
from songrec.service.config import ServiceConfig
from songrec.service.plan_processes import PlanProcesses
from songrec.service.planner import plan_recommendations
from tests.support import ranker_env, service_env
from tests.support.planner_requests import Prior, planner_requests
from tests.support.service_env import ServiceOpener

CFG = ServiceConfig(seed=0)


async def ready(pool: PlanProcesses, n: int = 1, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while pool.ready < n:
        assert time.monotonic() < deadline, f"only {pool.ready} of {n} planning processes became ready"
        await asyncio.sleep(0.05)


async def test_workers_plan_exactly_what_the_threads_plan(small_engine: Engine) -> None:
    pool = PlanProcesses(2)
    pool.start(small_engine, None)
    try:
        await ready(pool, 2)
        requests = planner_requests(small_engine, 40)
        for ranker in (None, Prior(small_engine)):
            pool.use_ranker(ranker)
            await ready(pool, 2)
            got = await asyncio.gather(*(pool.plan(small_engine, ranker, r, CFG) for r in requests))
            for request, picks in zip(requests, got, strict=True):
                assert picks == plan_recommendations(small_engine, request, CFG, ranker), request
        assert pool.stats.planned == 2 * len(requests)
        assert pool.stats.declined == 0
    finally:
        await pool.close()
    assert all(not w.process.is_alive() for w in pool._workers)  # noqa: SLF001


async def test_the_trained_hybrid_ranker_scores_the_same_in_a_worker(
    small_artifact: Path, small_engine: Engine, trained_ranker: ranker_env.Trained
) -> None:
    """The real ranker crosses without its engine and with each request's votes for its fold-in."""
    votes: dict[int, dict[str, int]] = {}

    def votes_of(user_id: int) -> dict[str, int]:
        return dict(votes.get(user_id, {}))

    ranker = load_ranker(trained_ranker.root, small_engine, votes_of)
    rows = service_env.rows_of_genre(small_engine, "rock")[:12]
    ids = [service_env.track_id(small_engine, r) for r in rows]
    votes[5000] = dict.fromkeys(ids[:8], 1) | dict.fromkeys(ids[8:], -1)  # a listener the CF model never saw
    votes[ranker_env.FIRST_USER] = {ids[0]: 1}  # one it did
    pool = PlanProcesses(1, votes_of)
    pool.start(small_engine, ranker)
    try:
        await ready(pool)
        for request in planner_requests(small_engine, 12):
            for user in (5000, ranker_env.FIRST_USER, 6000):  # folded in, known, no votes at all
                mine = type(request)(**{**request.__dict__, "user_id": user})
                picks = await pool.plan(small_engine, ranker, mine, CFG)
                assert picks == plan_recommendations(small_engine, mine, CFG, ranker), (user, mine)
        assert pool.stats.planned == 36 and pool.stats.declined == 0
    finally:
        await pool.close()


async def test_a_service_answers_the_same_with_planning_processes(
    open_service: ServiceOpener, small_engine: Engine, tmp_path: Path
) -> None:
    answers = []
    for processes in (0, 1):
        async with open_service(tmp_path / f"db{processes}.sqlite3", plan_processes=processes) as service:
            if processes:
                await ready(service._planning.processes)  # noqa: SLF001
            service.swap_ranker(Prior(small_engine))
            if processes:
                await ready(service._planning.processes)  # noqa: SLF001
            mine = []
            for user in range(3000, 3006):
                genre = service_env.GENRES[user % 4]
                for row in service_env.typical(small_engine, genre, 4, skip=user % 3):
                    await service.like(user, service_env.track_id(small_engine, row))
                got = await service.recommend(user, k=8)
                mine.append([(s.track.track_id, s.kind, s.reason, s.score, s.score_parts) for s in got])
            answers.append(mine)
            if processes:
                assert service._planning.processes.stats.planned == 6  # noqa: SLF001
    assert answers[0] == answers[1]


async def test_a_killed_worker_loses_no_request_and_is_replaced(
    open_service: ServiceOpener, small_engine: Engine, tmp_path: Path
) -> None:
    async with open_service(tmp_path / "db.sqlite3", plan_processes=1) as service:
        pool = service._planning.processes  # noqa: SLF001
        assert pool is not None
        await ready(pool)
        victim = pool._workers[0].process.pid  # noqa: SLF001
        assert victim is not None
        threading.Timer(0.05, os.kill, (victim, signal.SIGKILL)).start()
        answers = await asyncio.gather(*(service.recommend(4000 + i % 7, k=5) for i in range(120)))
        assert all(len(a) == 5 for a in answers)
        await ready(pool)
        assert pool.stats.restarts == 1
        assert pool._workers[0].process.pid != victim  # noqa: SLF001
        before = pool.stats.planned
        assert len(await service.recommend(4001, k=5)) == 5
        assert pool.stats.planned == before + 1


async def test_after_an_engine_swap_no_worker_plans_on_the_old_engine(
    small_engine: Engine, tmp_path: Path
) -> None:
    other = Engine.load(service_env.build_artifact(tmp_path / "other", seed=1, n=240, epochs=3))
    request = planner_requests(small_engine, 3)[1]
    pool = PlanProcesses(1)
    pool.start(small_engine, None)
    try:
        await ready(pool)
        assert await pool.plan(small_engine, None, request, CFG) is not None
        pool.use_engine(other)
        small = type(request)(user_id=1, k=6, liked=(3, 40, 41))
        want = plan_recommendations(other, small, CFG, None)
        assert await pool.plan(other, None, small, CFG) in (None, want)  # None until the worker has it
        await ready(pool)
        assert await pool.plan(small_engine, None, request, CFG) is None  # a request begun before the swap
        assert await pool.plan(other, None, small, CFG) == want
    finally:
        await pool.close()


class _Unpicklable:
    def __init__(self) -> None:
        self.lock = threading.Lock()

    def score(self, user_id: int, rows: np.ndarray) -> dict[str, np.ndarray]:
        return {"bonus": 0.01 * (rows % 2)}


async def test_a_ranker_that_cannot_be_pickled_is_served_by_the_threads(
    open_service: ServiceOpener, tmp_path: Path
) -> None:
    async with open_service(tmp_path / "db.sqlite3", plan_processes=1) as service:
        pool = service._planning.processes  # noqa: SLF001
        assert pool is not None
        await ready(pool)
        service.swap_ranker(_Unpicklable())
        await asyncio.sleep(0.2)
        got = await service.recommend(7000, k=5)
        assert len(got) == 5 and all("ranker_bonus" in s.score_parts for s in got)
        assert pool.ready == 0 and pool.stats.planned == 0
        service.swap_ranker(None)
        await ready(pool)
        await service.recommend(7001, k=5)
        assert pool.stats.planned == 1


async def test_a_hung_worker_is_killed_and_its_requests_answered_by_the_threads(small_engine: Engine) -> None:
    pool = PlanProcesses(1, plan_timeout_s=1.0)
    pool.start(small_engine, None)
    try:
        await ready(pool)
        stuck = pool._workers[0].process  # noqa: SLF001
        assert stuck.pid is not None
        os.kill(stuck.pid, signal.SIGSTOP)  # alive, but it will never answer
        started = time.monotonic()
        request = planner_requests(small_engine, 2)[0]
        assert await pool.plan(small_engine, None, request, CFG) is None
        assert time.monotonic() - started < 5.0
        await ready(pool)
        assert not stuck.is_alive() and pool.stats.restarts == 1
        assert await pool.plan(small_engine, None, request, CFG) == plan_recommendations(
            small_engine, request, CFG, None
        )
    finally:
        await pool.close()
