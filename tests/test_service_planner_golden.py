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
from songrec.service.config import ServiceConfig
from songrec.service.planner import plan_recommendations
from tests.support.planner_requests import Prior, planner_requests
from tests.support.reference_planner import reference_plan


@pytest.mark.parametrize("with_ranker", [False, True])
def test_planner_matches_the_reference_exactly(small_engine: Engine, with_ranker: bool) -> None:
    cfg = ServiceConfig(seed=0)
    ranker = Prior(small_engine) if with_ranker else None
    requests = planner_requests(small_engine, 60)
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
