"""Engine.similar_rows answers the same from the neighbour table as from graph walks alone, when a request
leaves out rows near its anchors: the table's short-cut (the k found nearer than what it knows) and its
fallback (the k lie further: walk) both give what a table-less index gives."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from songrec.content.engine import Engine
from songrec.content.index import TrackIndex


@pytest.fixture(scope="module")
def walking(small_engine: Engine) -> Engine:
    """The same engine over the same graph without its table: every search walks."""
    index = small_engine.index
    return replace(small_engine, index=TrackIndex(index._index, index.vectors, index.config))  # noqa: SLF001


def _excluding_near(engine: Engine, anchors: list[int], nearest: int) -> np.ndarray:
    """An allowed mask without each anchor's `nearest` table neighbours (rated or offered, say)."""
    allowed = np.ones(engine.size, bool)
    allowed[anchors] = False
    assert engine.index.table is not None
    allowed[engine.index.table.rows[anchors, :nearest].ravel()] = False
    return allowed


@pytest.mark.parametrize("k", [5, 20, 40])
@pytest.mark.parametrize("left_out", [0, 20, 60, 110])
def test_similar_rows_agree_with_walking_alone(
    small_engine: Engine, walking: Engine, k: int, left_out: int
) -> None:
    rng = np.random.default_rng(k + left_out)
    for _ in range(8):
        anchors = sorted(rng.choice(small_engine.size, int(rng.integers(1, 4)), replace=False).tolist())
        allowed = _excluding_near(small_engine, anchors, left_out)
        args = (anchors, k, set(), Engine.MAX_PER_ARTIST, allowed)
        assert small_engine.similar_rows(*args) == walking.similar_rows(*args)


def test_the_short_cut_and_the_fallback_both_run(
    small_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With 110 of a 128-wide row left out, a small k is found inside what the table knows (no walk),
    and a larger one is not (walked)."""
    seen: list[tuple[bool, bool]] = []  # (the table knew only part, it was enough)
    original = Engine._distinct_hits  # noqa: SLF001

    def spy(self: Engine, *args: object) -> object:
        picked = original(self, *args)  # type: ignore[arg-type]
        seen.append((args[-1] != math.inf, picked is not None))
        return picked

    monkeypatch.setattr(Engine, "_distinct_hits", spy)
    anchor = [7]
    width = small_engine.index.table.width  # type: ignore[union-attr]
    allowed = _excluding_near(small_engine, anchor, width - 18)
    small_engine.similar_rows(anchor, 3, set(), Engine.MAX_PER_ARTIST, allowed)
    assert seen[0] == (True, True) and len(seen) == 1
    seen.clear()
    small_engine.similar_rows(anchor, 30, set(), Engine.MAX_PER_ARTIST, allowed)
    assert seen[0] == (True, False) and seen[1] == (False, True)


def test_pairwise_is_the_one_distance_function_bit_for_bit(small_engine: Engine) -> None:
    """Engine.pairwise (squared lengths summed once per row) equals index.distances exactly: scores,
    reasons and the exact scan must never disagree on an order."""
    from songrec.content.index import distances

    rng = np.random.default_rng(9)
    vectors = small_engine.embeddings
    for n, m in ((1, 1), (37, 5), (200, 64)):
        rows, to = rng.choice(small_engine.size, n), rng.choice(small_engine.size, m)
        assert np.array_equal(small_engine.pairwise(rows, to), distances(vectors[rows], vectors[to]))
    assert small_engine.pairwise(np.asarray([3]), np.asarray([3]))[0, 0] == 0.0
