"""Helpers of bench/backends.py: a real Service for recommend/s, and feedback writes from several OS
processes at once on one database (what two bot processes do to PostgreSQL).

The small planted catalogue (tests/support/service_env.py) is trained once per run and shared by every
recommend cell; each cell plants votes for its users in its own fresh database first.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from songrec.store import open_store

_ARTIFACT: dict[str, Any] = {}
START_DELAY_S = 8.0  # every process has imported and opened its store before the clock starts


def _engine() -> tuple[Path, Any]:
    """(artifacts root, engine) of the planted catalogue, trained on first use."""
    if not _ARTIFACT:
        from songrec.content.engine import Engine
        from tests.support.service_env import build_artifact

        root = Path(tempfile.mkdtemp(prefix="songrec-bench-artifact-"))
        build_artifact(root, epochs=30)
        _ARTIFACT.update(root=root, engine=Engine.load(root))
    return _ARTIFACT["root"], _ARTIFACT["engine"]


@contextlib.asynccontextmanager
async def bench_service(target: str, users: int) -> AsyncIterator[tuple[Any, list[int]]]:
    """A real Service on `target` whose `users` users each have 20 planted votes."""
    from songrec.service import Service, ServiceConfig
    from tests.support.ranker_env import FIRST_USER, planted_votes

    root, engine = await asyncio.to_thread(_engine)
    ids = list(range(FIRST_USER, FIRST_USER + users))
    async with await open_store(target) as store:
        await store.add_feedback_bulk(planted_votes(engine, range(ids[0], ids[-1] + 1), per_user=20))
    service = await Service.open(
        db_path=target, artifacts=root, engine=engine, config=ServiceConfig(seed=0, cpu_workers=2)
    )
    try:
        yield service, ids
    finally:
        await service.close()


async def _write(
    target: str, first_writer: int, writers: int, per_writer: int, start_at: float
) -> tuple[float, float]:
    async with await open_store(target) as store:
        await asyncio.sleep(max(0.0, start_at - time.time()))
        started = time.time()

        async def writer(w: int) -> None:
            for i in range(per_writer):
                await store.add_feedback(810000000000000000 + w, f"p{w}t{i}", 1 if i % 2 else -1, "reaction")

        await asyncio.gather(*(writer(first_writer + w) for w in range(writers)))
        return started, time.time()


def _child(target: str, first_writer: int, writers: int, per_writer: int, start_at: float, out: Any) -> None:
    out.put(asyncio.run(_write(target, first_writer, writers, per_writer, start_at)))


def writes_in_processes(target: str, writers: int, writes: int, processes: int) -> float:
    """Feedback writes per second with `writers` concurrent writers split over `processes` processes."""
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    share = max(1, writers // processes)
    per_writer = max(1, writes // (share * processes))
    start_at = time.time() + START_DELAY_S
    children = [
        context.Process(target=_child, args=(target, p * share, share, per_writer, start_at, out))
        for p in range(processes)
    ]
    for child in children:
        child.start()
    spans = [out.get(timeout=600) for _ in children]
    for child in children:
        child.join(60)
    begun, ended = min(s for s, _ in spans), max(e for _, e in spans)
    return share * processes * per_writer / (ended - begun)
