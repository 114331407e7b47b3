"""The ONNX export of the like/dislike trees scores what scikit-learn scores, path for path."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.ensemble import ExtraTreesClassifier, HistGradientBoostingClassifier

from songrec.models.base import ModelInputError
from songrec.models.classifier import _tree_graph
from songrec.models.tree_onnx import TreeScorer, ensemble_graph


@pytest.fixture(scope="module")
def fitted() -> tuple[HistGradientBoostingClassifier, ExtraTreesClassifier, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.random((3000, 6)).astype(np.float32)
    x[rng.random(3000) < 0.3, 4:] = np.nan  # strangers: missing personal features
    y = ((x[:, 0] + x[:, 1] * x[:, 2] + np.nan_to_num(x[:, 4]) + rng.normal(0, 0.2, 3000)) > 1.3).astype(int)
    boosted = HistGradientBoostingClassifier(max_iter=60, max_leaf_nodes=15, random_state=0).fit(x, y)
    forest = ExtraTreesClassifier(n_estimators=30, min_samples_leaf=3, random_state=0)
    forest.fit(np.nan_to_num(x), y)
    return boosted, forest, x


def queries(x: np.ndarray) -> np.ndarray:
    """Fresh rows, training rows (values that sit exactly on thresholds' sides) and missing values."""
    rng = np.random.default_rng(1)
    fresh = rng.random((400, x.shape[1])).astype(np.float32)
    fresh[rng.random(400) < 0.4, 4:] = np.nan
    fresh[:50, 0] = np.nan  # missing where training never had any
    return np.vstack([fresh, x[:400]])


def test_the_ensemble_graph_scores_what_scikit_learn_scores(fitted) -> None:
    boosted, forest, x = fitted
    q = queries(x)
    expected = 0.5 * (boosted.predict_proba(q)[:, 1] + forest.predict_proba(np.nan_to_num(q))[:, 1])
    got = TreeScorer(ensemble_graph(boosted, forest)).proba(q)
    assert got.dtype == np.float64 and got.shape == (len(q),)
    assert np.abs(got - expected).max() < 1e-5  # float32 leaf sums; every path is the same


def test_the_boosted_graph_alone_is_its_probability(fitted) -> None:
    boosted, _, x = fitted
    q = queries(x)
    got = TreeScorer(ensemble_graph(boosted, None)).proba(q)
    assert np.abs(got - boosted.predict_proba(q)[:, 1]).max() < 1e-5


def test_a_model_saved_with_scikit_learn_pickles_still_loads(fitted) -> None:
    boosted, forest, x = fitted
    old = {"trees": pickle.dumps(boosted), "forest": pickle.dumps(forest)}
    new = {"tree_graph": ensemble_graph(boosted, forest)}
    q = queries(x)
    assert np.allclose(TreeScorer(_tree_graph(old)).proba(q), TreeScorer(_tree_graph(new)).proba(q))


def test_rows_of_the_wrong_width_are_refused_and_no_rows_score_nothing(fitted) -> None:
    boosted, forest, _ = fitted
    scorer = TreeScorer(ensemble_graph(boosted, forest))
    with pytest.raises(ValueError, match="6 features"):
        scorer.proba(np.zeros((3, 5), dtype=np.float32))
    assert scorer.proba(np.zeros((0, 6), dtype=np.float32)).shape == (0,)


def test_a_damaged_graph_is_a_model_input_error_not_an_onnxruntime_one(fitted) -> None:
    boosted, forest, _ = fitted
    graph = ensemble_graph(boosted, forest)
    with pytest.raises(ModelInputError, match="cannot be read"):
        TreeScorer(graph[: len(graph) // 2])
