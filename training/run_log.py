"""The embedding job's line in the store's training-run log, so `songrec status` lists the run that
built the model (the ranker job and the scheduler record theirs the same way).

The log is a record, not a requirement: a database that cannot be opened is a warning, never a failed
training run. Works on both backends through open_store and the configured database_location().
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import numpy as np

from songrec.domain import SongrecBaseError
from songrec.settings import database_location
from songrec.store import open_store

log = logging.getLogger(__name__)

EMBEDDING_REASON = "embedding model (songrec train)"


def record_start(device: str, reason: str = EMBEDDING_REASON) -> int | None:
    """A 'running' row for this job; its id, or None when the database cannot be written."""

    async def job() -> int:
        store = await open_store(database_location())
        try:
            return (await store.record_training_run(device, reason)).id
        finally:
            await store.close()

    return _quietly(job, "record the training run")


def record_end(
    run_id: int | None,
    status: str,
    *,
    version: str | None = None,
    promoted: bool = False,
    metrics: dict[str, Any] | None = None,
    reason: str = EMBEDDING_REASON,
) -> None:
    """Close the row record_start opened (nothing when it could not open one)."""
    if run_id is None:
        return
    rid = run_id

    async def job() -> None:
        store = await open_store(database_location())
        try:
            await store.update_training_run(
                rid,
                status=status,
                metrics=json_safe(metrics or {}),
                artifact_version=version,
                promoted=promoted,
                reason=reason,
            )
        finally:
            await store.close()

    _quietly(job, "finish the training run's record")


def json_safe(value: Any) -> Any:
    """Metrics as plain JSON: numpy scalars unwrapped, NaN and infinities as None."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _quietly(job: Any, what: str) -> Any:
    try:
        return asyncio.run(job())
    except (SongrecBaseError, OSError) as exc:
        log.warning("could not %s in the database (%s); the model is unaffected", what, exc)
        return None
