"""The write queue both backends share: callers queue jobs, one writer task runs them in batches.

Group commit is what lets hundreds of concurrent durable writers go fast: the writer takes everything
queued so far (up to `max_batch`) and hands it to the backend's `run_batch`, which runs it in one
transaction. A `None` in the queue tells the writer to stop once the jobs before it are done.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

Item = tuple[Any, "asyncio.Future[Any]"]
Batch = list[Item]


def fail(batch: Batch, exc: BaseException) -> None:
    """Hand `exc` to every caller of the batch still waiting."""
    for _, future in batch:
        if not future.done():
            future.set_exception(exc)


async def writer_loop(
    queue: deque[Item | None],
    wake: asyncio.Event,
    max_batch: int,
    run_batch: Callable[[Batch], Awaitable[None]],
) -> None:
    """Run queued jobs batch by batch until a `None` arrives; a failing batch never stops the writer."""
    while True:
        await wake.wait()
        wake.clear()
        while queue:
            batch: Batch = []
            stop = False
            while queue and len(batch) < max_batch:
                item = queue.popleft()
                if item is None:
                    stop = True
                    break
                if not item[1].done():  # the caller gave up before we started: skip
                    batch.append(item)
            if batch:
                try:
                    await run_batch(batch)
                except Exception as exc:  # never let the writer die: fail this batch, keep serving
                    fail(batch, exc)
            if stop:
                return
