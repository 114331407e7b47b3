"""What the running service reports about itself (/admin status): model, ranker, database, training runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from songrec import settings as paths
from songrec.content.engine import Engine
from songrec.ops.status import current_pointer, serving_note
from songrec.service.errors import db_errors
from songrec.service.scoring import CandidateScorer, scorer_metrics, scorer_version
from songrec.store import StoreBackend


async def service_status(
    engine: Engine, ranker: CandidateScorer | None, store: StoreBackend, artifacts: Path | None
) -> dict[str, Any]:
    """A plain dict, so every front end can render it its own way."""
    with db_errors():
        size = await store.database_size()
        runs = await store.last_training_runs(5)
    current = current_pointer(artifacts or paths.artifacts_dir(), "embedding")
    return {
        "model_version": engine.version,
        "current_version": current,
        "serving_note": serving_note(engine.version, current, engine.problems),
        "catalogue_size": engine.size,
        "index_recall": engine.manifest.metrics.get("recall_at_10"),
        "embedding_problems": list(engine.problems),
        "ranker": None if ranker is None else type(ranker).__name__,
        "ranker_version": scorer_version(ranker),
        "ranker_metrics": scorer_metrics(ranker),
        "database_path": store.path,
        "database_bytes": size,
        "training_runs": [
            {
                "id": r.id,
                "status": r.status,
                "started_at": r.started_at,
                "finished_at": r.finished_at,
                "artifact_version": r.artifact_version,
                "promoted": r.promoted,
                "metrics": r.metrics,
            }
            for r in runs
        ],
    }
