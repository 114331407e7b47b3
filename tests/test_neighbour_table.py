"""The neighbour table saved with the index answers catalogue-row queries exactly as a live walk would, and
an index without one (an older artifact) or with a damaged one still answers, by walking."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np
import pytest

from songrec.content.index import IndexConfig, TrackIndex
from songrec.content.neighbour_table import DISTANCES_FILE, ROWS_FILE


@pytest.fixture(scope="module")
def vectors() -> np.ndarray:
    rng = np.random.default_rng(3)
    centres = rng.random((30, 12))
    return (centres[rng.integers(0, 30, 4000)] + rng.normal(0, 0.04, (4000, 12))).astype(np.float32)


@pytest.fixture(scope="module")
def saved(vectors: np.ndarray, tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("index")
    TrackIndex.build(vectors, IndexConfig(ef=64), progress=False).save(directory)
    return directory


def _walked(index: TrackIndex) -> TrackIndex:
    """The same graph without its table: every query walks."""
    return TrackIndex(index._index, index.vectors, index.config)  # noqa: SLF001


def _same(a: list, b: list) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x.rows.tolist() == y.rows.tolist()
        assert np.array_equal(x.distances, y.distances)


def test_saved_table_is_loaded_memory_mapped_at_the_beam_width(saved: Path) -> None:
    index = TrackIndex.load(saved)
    assert index.table is not None
    assert index.table.rows.shape == (index.size, 64)
    assert np.load(saved / ROWS_FILE, mmap_mode="r").dtype == np.int32


def test_unfiltered_lookups_equal_a_live_walk(saved: Path) -> None:
    index = TrackIndex.load(saved)
    rows = np.random.default_rng(0).choice(index.size, 300, replace=False)
    for k in (1, 10, 37, 64):
        _same(index.neighbours_of(rows, k), _walked(index).query(index.vectors[rows], k))


def test_filtered_lookups_are_the_nearest_allowed_rows(saved: Path) -> None:
    index = TrackIndex.load(saved)
    rng = np.random.default_rng(1)
    rows = rng.choice(index.size, 200, replace=False)
    allowed = np.ones(index.size, bool)
    allowed[rng.choice(index.size, 400, replace=False)] = False
    allowed[rows[:50]] = False  # some anchors themselves excluded, as a request's likes are
    k = 20
    got = index.neighbours_of(rows, k, allowed)
    truth = index.exact(index.vectors[rows], k, allowed)
    hits = sum(len(set(g.rows.tolist()) & set(t.rows.tolist())) for g, t in zip(got, truth, strict=True))
    assert hits / (k * len(rows)) >= 0.99
    for g in got:
        assert len(g.rows) == k and allowed[g.rows].all()
        assert np.all(np.diff(g.distances) >= 0)


def test_what_the_table_cannot_answer_is_walked(saved: Path) -> None:
    index = TrackIndex.load(saved)
    rows = np.arange(40)
    # Wider than the table: walked, and the same as a table-less index gives.
    _same(index.neighbours_of(rows, 150), _walked(index).query(index.vectors[rows], 150))
    # A filter leaving too few of a row's 64 nearest: walked wider, still the nearest allowed.
    allowed = np.zeros(index.size, bool)
    allowed[np.random.default_rng(2).choice(index.size, index.size // 10, replace=False)] = True
    got = index.neighbours_of(rows, 10, allowed)
    truth = index.exact(index.vectors[rows], 10, allowed)
    for g, t in zip(got, truth, strict=True):
        assert allowed[g.rows].all() and len(g.rows) == 10
        assert len(set(g.rows.tolist()) & set(t.rows.tolist())) >= 9


def test_what_the_table_knows_short_of_k_agrees_with_the_full_answer_up_to_its_distance(saved: Path) -> None:
    """neighbours_near: where a filter leaves a row fewer than k of its entries, the table still knows
    that row's nearest allowed rows completely up to its last entry; the full answer (walked) agrees there."""
    index = TrackIndex.load(saved)
    rng = np.random.default_rng(4)
    rows = rng.choice(index.size, 120, replace=False)
    allowed = np.ones(index.size, bool)
    allowed[rng.choice(index.size, 600, replace=False)] = False
    for k in (10, 60, 64, 150):
        near, known = index.neighbours_near(rows, k, allowed)
        full = index.neighbours_of(rows, k, allowed)
        if k > 64:
            assert known <= float(index.table.distances[rows, -1].min())
        short = 0
        for n, f in zip(near, full, strict=True):
            assert allowed[n.rows].all() and len(n.rows) <= k
            if len(n.rows) < k:
                short += 1
            below = f.distances < known
            assert n.rows[: int(below.sum())].tolist() == f.rows[below].tolist()
            if len(n.rows) == k:  # what the table answers whole is the full answer
                assert n.rows.tolist() == f.rows.tolist()
        assert (short > 0) == (known != float("inf"))
    near, known = index.neighbours_near(rows, 20)
    assert known == float("inf")
    _same(near, index.neighbours_of(rows, 20))


def test_an_index_saved_without_a_table_walks_and_answers_the_same(saved: Path, tmp_path: Path) -> None:
    for name in ("index.bin", "embeddings.npy", "index.json"):
        (tmp_path / name).write_bytes((saved / name).read_bytes())
    old = TrackIndex.load(tmp_path)
    assert old.table is None
    rows = np.arange(0, 4000, 97)
    _same(old.neighbours_of(rows, 30), TrackIndex.load(saved).neighbours_of(rows, 30))


@pytest.mark.parametrize("damage", ["truncated", "wrong shape"])
def test_a_damaged_table_is_ignored_with_a_warning(
    saved: Path, tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    for name in ("index.bin", "embeddings.npy", "index.json", DISTANCES_FILE):
        (tmp_path / name).write_bytes((saved / name).read_bytes())
    if damage == "truncated":
        (tmp_path / ROWS_FILE).write_bytes((saved / ROWS_FILE).read_bytes()[:1000])
    else:
        np.save(tmp_path / ROWS_FILE, np.zeros((10, 64), dtype=np.int32))
    with caplog.at_level(logging.WARNING):
        index = TrackIndex.load(tmp_path)
    assert index.table is None
    assert "neighbour table" in caplog.text
    rows = np.arange(25)
    _same(index.neighbours_of(rows, 12), TrackIndex.load(saved).neighbours_of(rows, 12))


def test_filtered_queries_from_many_threads_agree_with_one(saved: Path) -> None:
    """Filtered queries walk without a Python filter callback, so threads never wait on each other's
    callbacks; the answers are the same whichever thread asks."""
    index = _walked(TrackIndex.load(saved))
    rng = np.random.default_rng(4)
    allowed = rng.random(index.size) > 0.3
    queries = index.vectors[rng.choice(index.size, 60, replace=False)]
    want = index.query(queries, 25, allowed)
    results: list[list] = []

    def ask() -> None:
        results.append(index.query(queries, 25, allowed))

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4
    for got in results:
        _same(got, want)
