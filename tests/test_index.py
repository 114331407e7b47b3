from __future__ import annotations

import numpy as np
import pytest

from songrec.content.index import IndexConfig, TrackIndex


@pytest.fixture(scope="module")
def vectors() -> np.ndarray:
    rng = np.random.default_rng(0)
    centres = rng.random((20, 10))
    return (centres[rng.integers(0, 20, 5000)] + rng.normal(0, 0.05, (5000, 10))).astype(np.float32)


@pytest.fixture(scope="module")
def index(vectors: np.ndarray) -> TrackIndex:
    return TrackIndex.build(vectors, progress=False)


def test_recall_against_exact_search(index: TrackIndex) -> None:
    assert index.recall_at(10, sample=500) >= 0.99


@pytest.mark.parametrize("space", ["cosine", "ip"])
def test_other_spaces_agree_with_their_exact_distances(vectors: np.ndarray, space: str) -> None:
    index = TrackIndex.build(vectors[:1000], IndexConfig(space=space), progress=False)
    # A beam as wide as the graph: this checks the spaces' distances, not recall (tested above for l2).
    # Inner product is no metric, and a build's insert order varies with its threads: at the default
    # beam one fresh-clone run in many missed a row.
    approx = index.with_ef(1000).query(vectors[:5], 5)
    truth = index.exact(vectors[:5], 5)
    for a, t in zip(approx, truth, strict=True):
        assert np.allclose(a.distances, t.distances, atol=1e-4)


def test_nearest_of_an_item_is_itself(index: TrackIndex, vectors: np.ndarray) -> None:
    hits = index.query(vectors[:3], 1)
    assert [int(h.rows[0]) for h in hits] == [0, 1, 2]


def test_filter_removing_most_rows_still_returns_k(index: TrackIndex, vectors: np.ndarray) -> None:
    for share in (0.5, 0.05, 0.01, 0.001):
        allowed = np.zeros(index.size, bool)
        allowed[np.random.default_rng(1).choice(index.size, int(index.size * share), replace=False)] = True
        k = min(10, int(allowed.sum()))
        hits = index.query(vectors[:4], k, allowed)
        for h, t in zip(hits, index.exact(vectors[:4], k, allowed), strict=True):
            assert len(h.rows) == k
            assert allowed[h.rows].all()
            assert len(set(h.rows) & set(t.rows)) >= k - 1


def test_exclusions_and_k_larger_than_allowed(index: TrackIndex, vectors: np.ndarray) -> None:
    allowed = np.ones(index.size, bool)
    allowed[0] = False
    assert 0 not in index.query(vectors[:1], 10, allowed)[0].rows
    tiny = np.zeros(index.size, bool)
    tiny[[5, 6, 7]] = True
    assert sorted(index.query(vectors[:1], 10, tiny)[0].rows.tolist()) == [5, 6, 7]
    assert len(index.query(vectors[:1], 10, np.zeros(index.size, bool))[0].rows) == 0
    assert len(index.query(vectors[:1], 0)[0].rows) == 0


def test_save_and_load_give_the_same_answers(index: TrackIndex, vectors: np.ndarray, tmp_path) -> None:
    index.save(tmp_path / "ix")
    again = TrackIndex.load(tmp_path / "ix")
    assert again.config == index.config
    for a, b in zip(again.query(vectors[:20], 10), index.query(vectors[:20], 10), strict=True):
        assert np.array_equal(a.rows, b.rows)


def test_queries_from_many_threads(index: TrackIndex, vectors: np.ndarray) -> None:
    from concurrent.futures import ThreadPoolExecutor

    allowed = np.ones(index.size, bool)
    allowed[::2] = False
    expected = index.query(vectors[:50], 10, allowed)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: index.query(vectors[i : i + 1], 10, allowed)[0], range(50)))
    assert all(np.array_equal(r.rows, e.rows) for r, e in zip(results, expected, strict=True))


def test_empty_input_is_refused() -> None:
    with pytest.raises(ValueError):
        TrackIndex.build(np.zeros((0, 4), np.float32), progress=False)


def test_a_wider_beam_buys_recall_and_is_saved(tmp_path) -> None:
    rng = np.random.default_rng(5)
    hard = rng.normal(size=(4000, 64)).astype(np.float32)  # high intrinsic dimension: a thin graph misses
    thin = TrackIndex.build(hard, IndexConfig(M=4, ef_construction=20, ef=10))
    before = thin.recall_at(10, sample=300)
    wide = thin.with_ef(400)
    after = wide.recall_at(10, sample=300)
    assert before < 0.9 and after > before + 0.1
    wide.save(tmp_path / "idx")
    assert TrackIndex.load(tmp_path / "idx").config.ef == 400


def test_recall_is_not_fooled_by_float_rounding_at_large_scales() -> None:
    rng = np.random.default_rng(6)
    big = (rng.normal(size=(2000, 32)) * 300).astype(np.float32)  # squared distances ~ 1e7
    index = TrackIndex.build(big, IndexConfig(M=32, ef_construction=400, ef=2000))  # beam covers every row
    assert index.recall_at(10, sample=200) == 1.0
