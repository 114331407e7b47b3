"""What the service serves right now, and the threads its CPU work runs on: handed to every collaborator.

`Serving` holds the engine and the ranker; a request reads each once and keeps what it read, so a swap
(one reference assignment, between requests) never disturbs a request in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

from songrec.content.engine import Engine
from songrec.service.scoring import CandidateScorer, scorer_version

T = TypeVar("T")


class Serving:
    """The engine (immutable, swapped whole) and the optional re-ranker the next request will use."""

    def __init__(self, engine: Engine, ranker: CandidateScorer | None = None) -> None:
        self.engine = engine
        self.ranker = ranker

    def model_version(self, engine: Engine, ranker: CandidateScorer | None) -> str:
        """The version stored with a suggestion: the engine's, plus the ranker's when one scored it."""
        extra = scorer_version(ranker)
        return f"{engine.version}+{extra}" if extra else engine.version


def single_threaded_blas() -> None:
    """One BLAS thread per caller, process-wide: requests already run side by side in the pool, and a
    small matrix product split over busy cores waits on its helper threads (40 ms instead of 1 ms for a
    2000 x 12 distance table on two loaded cores). Threading does not split the inner sums, so results
    are the same."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # scikit-learn brings it; without it the BLAS keeps its default
        return
    threadpool_limits(limits=1, user_api="blas")


class CpuPool:
    """A bounded thread pool for index queries, clustering and scoring: the event loop only orchestrates."""

    def __init__(self, workers: int) -> None:
        single_threaded_blas()
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="songrec-cpu")

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, partial(fn, *args))

    async def shutdown(self) -> None:
        await asyncio.to_thread(self._executor.shutdown, True)


def settle_heap() -> None:
    """Move every object alive now (modules, the engine, the ratings) out of the collector's sight.

    They live as long as the process, yet each full collection walked all of them while holding the GIL:
    30-60 ms passes at 70k tracks, a stall for the event loop and every request. Frozen objects are still
    freed by reference counting; only cycles among them wait for `resettle_heap`.
    """
    gc.freeze()


async def resettle_heap() -> None:
    """After an engine swap: the old engine's cycles are only collectable unfrozen, so unfreeze, collect
    once off the loop (a default-pool thread), and freeze what is still alive (the new engine)."""
    gc.unfreeze()
    await asyncio.to_thread(gc.collect)
    settle_heap()


@contextlib.contextmanager
def long_lived_build() -> Iterator[None]:
    """Hold off full collections while something that lives until its next rebuild is read and built
    (the ratings at a million votes: pages of rows, then ~80k dicts holding 2M entries), then freeze it.

    The half-built maps and pages are not frozen yet, so every full pass walked them while holding the
    GIL: 24-37 ms stalls of the event loop during a refresh. Young collections go on as usual, and one runs
    before the freeze, so what is frozen with the maps is at most the cyclic garbage that had already
    reached the oldest generation.
    """
    thresholds = gc.get_threshold()
    gc.set_threshold(thresholds[0], thresholds[1], 1_000_000)  # the oldest generation waits
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.collect(1)
        settle_heap()
