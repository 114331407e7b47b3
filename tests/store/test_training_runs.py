"""The training-run log, against every backend."""

from __future__ import annotations

import pytest

from songrec.domain import InvalidInput, NotFound
from songrec.store import StoreBackend
from tests.store.backends import Clock

ALICE = 666666666666666601
BOB = 666666666666666602
GUILD, CHANNEL, VOICE = 777777777777777701, 777777777777777702, 777777777777777703


async def test_training_runs(store: StoreBackend, clock: Clock) -> None:
    run = await store.record_training_run("cpu", "500 new votes")
    assert (run.status, run.device, run.promoted, run.metrics, run.finished_at) == (
        "running",
        "cpu",
        False,
        {},
        None,
    )
    clock.now += 60
    done = await store.update_training_run(
        run.id, status="succeeded", metrics={"recall@10": 0.31}, artifact_version="v7", promoted=True
    )
    assert done.finished_at == clock.now and done.promoted and done.metrics == {"recall@10": 0.31}
    failed = await store.record_training_run("cuda", "nightly")
    failed = await store.update_training_run(failed.id, status="failed", finished_at=clock.now + 5)
    assert failed.finished_at == clock.now + 5
    assert [r.id for r in await store.last_training_runs()] == [failed.id, run.id]
    assert [r.id for r in await store.last_training_runs(limit=1)] == [failed.id]
    promoted = await store.last_promoted_run()
    assert promoted is not None and promoted.artifact_version == "v7"
    with pytest.raises(NotFound, match="training run 999"):
        await store.update_training_run(999, status="failed")
    with pytest.raises(InvalidInput, match="training status must be one of"):
        await store.update_training_run(run.id, status="exploded")
    with pytest.raises(InvalidInput, match="promoted must be True or False"):
        await store.update_training_run(run.id, promoted=1)  # type: ignore[arg-type]


async def test_abandoned_runs_are_failed_once_older_than_any_run_may_live(
    store: StoreBackend, clock: Clock
) -> None:
    old = await store.record_training_run("cpu", "before the restart")
    clock.now += 3000
    young = await store.record_training_run("cpu", "just started")
    finished = await store.record_training_run("cpu", "done")
    await store.update_training_run(finished.id, status="succeeded")
    clock.now += 10
    assert await store.fail_stale_runs(1000, "abandoned") == 1
    runs = {r.id: r for r in await store.last_training_runs()}
    assert runs[old.id].status == "failed" and runs[old.id].reason == "abandoned"
    assert runs[old.id].finished_at == clock.now
    assert runs[young.id].status == "running" and runs[finished.id].status == "succeeded"
    assert await store.fail_stale_runs(1000, "abandoned") == 0
    with pytest.raises(InvalidInput, match="older_than_s"):
        await store.fail_stale_runs(-1, "x")
