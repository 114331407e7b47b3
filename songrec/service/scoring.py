"""Shared scoring pieces: the pluggable re-ranker and how its parts join a score.

Distances, closeness and the per-engine arrays live on songrec.content.engine.Engine.

Every score is a sum of named parts (`closeness`-like terms in (0, 1], a small popularity term, a
penalty near dislikes, and whatever a ranker adds), so a suggestion's reason and its score parts
can always be checked against each other.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol, runtime_checkable

import numpy as np

log = logging.getLogger(__name__)


@runtime_checkable
class CandidateScorer(Protocol):
    """A re-ranker the learning loop plugs in (a like/dislike classifier, collaborative filtering).

    `score` returns named parts, each an array aligned with `rows`; they are added to the candidate
    scores as they are (the scorer chooses its own scale) and stored as score parts. It runs in a
    worker thread, possibly several at once, so it must be thread-safe and must not block on I/O.
    """

    def score(self, user_id: int, rows: np.ndarray) -> dict[str, np.ndarray]: ...


@runtime_checkable
class _Measured(Protocol):
    metrics: dict[str, Any]


def scorer_version(ranker: CandidateScorer | None) -> str | None:
    """The ranker's artifact version, when it has one (a HybridRanker does; a stand-in may not)."""
    # getattr, not isinstance() with a runtime Protocol: that check costs ~20 us on every answer.
    return getattr(ranker, "version", None)


def scorer_metrics(ranker: CandidateScorer | None) -> dict[str, Any] | None:
    """The ranker's validation metrics, when it has them."""
    return ranker.metrics if isinstance(ranker, _Measured) else None


def ranker_parts(ranker: CandidateScorer | None, user_id: int, rows: np.ndarray) -> dict[str, np.ndarray]:
    """The ranker's parts for these rows; a failing or malformed ranker is logged and ignored."""
    if ranker is None or len(rows) == 0:
        return {}
    try:
        raw = ranker.score(user_id, np.asarray(rows, dtype=np.int64))
        parts = {str(name): np.asarray(values, dtype=np.float64).reshape(-1) for name, values in raw.items()}
    except Exception:
        log.exception("ranker %r failed; serving without it", ranker)
        return {}
    bad = [name for name, values in parts.items() if values.shape != (len(rows),)]
    if bad or any(not np.all(np.isfinite(v)) for v in parts.values()):
        log.error("ranker %r returned misshapen or non-finite parts %s; ignored", ranker, bad)
        return {}
    # info_* parts (e.g. the raw like probability) are stored for the reason but never summed.
    return {
        name if name.startswith(("ranker", "info_")) else f"ranker_{name}": v for name, v in parts.items()
    }


def summed(parts: dict[str, np.ndarray]) -> list[np.ndarray]:
    """The parts that add up to a score (info_* and n_* parts only inform)."""
    return [v for name, v in parts.items() if not name.startswith(("info_", "n_"))]
