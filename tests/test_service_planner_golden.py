"""The optimised planner answers exactly as the slow reference (the planner before the serving-speed work,
tests/support/reference_planner.py) for many fixed requests on the small artifact: seeds, tastes, newcomers,
dislikes, exclusions, popularity filters, exploration, listeners like you, with and without a ranker. Rows,
kinds, reasons, scores and every score part must match."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

from songrec.content.engine import Engine
from songrec.domain import Filters
from songrec.service.config import ServiceConfig
from songrec.service.planner import RecommendRequest, plan_recommendations
from tests.support.reference_planner import reference_plan


class _Prior:
    def __init__(self, engine: Engine) -> None:
        self.popularity = engine.popularity / 100.0

    def score(self, user_id: int, rows: np.ndarray) -> dict[str, np.ndarray]:
        return {"prior": 0.02 * self.popularity[rows] - 0.01 * (rows % 3), "info_like_prob": 0.5 + 0 * rows}


def _requests(engine: Engine, n: int) -> list[RecommendRequest]:
    rng = np.random.default_rng(42)
    size = engine.size
    out = []
    for i in range(n):
        mode = i % 3
        liked = tuple(int(r) for r in rng.choice(size, size=int(rng.integers(1, 30)), replace=False))
        disliked = tuple(int(r) for r in rng.choice(size, size=int(rng.integers(0, 6)), replace=False))
        excluded = frozenset(int(r) for r in rng.choice(size, size=int(rng.integers(0, 40)), replace=False))
        k = int(rng.integers(1, 25))
        filters = None
        if i % 4 == 1:
            filters = Filters(max_popularity=float(rng.integers(30, 90)))
        elif i % 4 == 2:
            filters = Filters(min_popularity=float(rng.integers(5, 60)))
        neighbour = tuple(
            (int(r), int(rng.integers(1, 5)), float(rng.random()))
            for r in rng.choice(size, size=int(rng.integers(0, 60)), replace=False)
        )
        out.append(
            RecommendRequest(
                user_id=1000 + i,
                k=k,
                seeds=tuple(int(r) for r in rng.choice(size, size=int(rng.integers(1, 4))))
                if mode == 0
                else (),
                liked=liked if mode == 1 else (liked[:3] if mode == 0 else ()),
                disliked=disliked,
                excluded=excluded,
                filters=filters,
                explore_n=int(rng.integers(0, k + 1)),
                neighbour_likes=neighbour if i % 2 else (),
                rng_seed=int(rng.integers(0, 2**32)),
            )
        )
    return out


@pytest.mark.parametrize("with_ranker", [False, True])
def test_planner_matches_the_reference_exactly(small_engine: Engine, with_ranker: bool) -> None:
    cfg = ServiceConfig(seed=0)
    ranker = _Prior(small_engine) if with_ranker else None
    requests = _requests(small_engine, 60)
    kinds = set()
    for req in requests:
        got = plan_recommendations(small_engine, req, cfg, ranker)
        want = reference_plan(small_engine, req, cfg, ranker)
        assert got == want, req
        kinds |= {p.kind for p in got}
    assert kinds >= {"content", "taste", "cold_start", "explore", "similar_users"}, "every source exercised"


def test_an_artifact_without_serving_arrays_derives_the_same(
    small_artifact: Path, small_engine: Engine
) -> None:
    """Artifacts built before the serving arrays existed still load, with the same derived arrays."""
    from songrec.content.artifacts import ArtifactStore
    from songrec.content.serving_arrays import SERVING_DIR

    store = ArtifactStore(small_artifact, "embedding")
    version, manifest, _ = store.resolve_good()
    old = Path(tempfile.mkdtemp()) / version
    shutil.copytree(store.path(version), old)
    assert (old / SERVING_DIR).is_dir(), "training saves the serving arrays"
    shutil.rmtree(old / SERVING_DIR)
    engine = Engine.from_directory(old, manifest)
    assert np.array_equal(engine.keys, small_engine.keys)
    assert np.array_equal(engine.first_artist, small_engine.first_artist)
    assert np.array_equal(engine.scaled, small_engine.scaled)
    assert engine.artist_list[5] == str(small_engine.catalog["artists"].iat[5][0]).casefold()
