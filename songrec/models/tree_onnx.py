"""Fitted scikit-learn trees as one ONNX graph, scored by onnxruntime.

Why: a recommend scores about a hundred candidate rows several times, and scikit-learn predicts tree
by tree (the forest through joblib, with input checks per tree): ~50 ms for the ensemble's trees on
120 rows, against ~3 ms for onnxruntime's compiled tree ensemble on one thread. Serving then needs
neither scikit-learn nor a pickle, only the graph's bytes (saved in the artifact).

Scores equal scikit-learn's up to float32 leaf sums: every row takes the same path, because
thresholds are rounded down to the largest float32 at or below them and the inputs are float32
(x <= t exactly when x <= that rounding). The forest learnt on inputs with missing values as 0, so
each of its nodes sends a missing value where 0 would go.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from songrec.models.base import ModelInputError

__all__ = ["TreeScorer", "ensemble_graph"]


@dataclass(frozen=True)
class _Tree:
    """One fitted tree's node table (scikit-learn's layout: node 0 is the root)."""

    feature: np.ndarray
    threshold: np.ndarray  # float64: go left when x <= threshold
    left: np.ndarray
    right: np.ndarray
    nan_left: np.ndarray  # bool: where a missing value goes
    value: np.ndarray  # float64 leaf values (ignored at internal nodes)
    leaf: np.ndarray  # bool


def _boosted_trees(model: Any) -> Iterator[_Tree]:
    for predictors in model._predictors:
        if len(predictors) != 1:
            raise ValueError("only binary boosted trees can be exported")
        nodes = predictors[0].nodes
        if nodes["is_categorical"].any():
            raise ValueError("categorical splits cannot be exported")
        yield _Tree(
            nodes["feature_idx"], nodes["num_threshold"], nodes["left"], nodes["right"],
            nodes["missing_go_to_left"].astype(bool), nodes["value"], nodes["is_leaf"].astype(bool),
        )  # fmt: skip


def _forest_trees(model: Any) -> Iterator[_Tree]:
    for est in model.estimators_:
        t = est.tree_
        counts = t.value[:, 0, :]
        yield _Tree(
            t.feature, t.threshold, t.children_left, t.children_right,
            t.threshold >= 0.0,  # missing values were 0 in training: they go where 0 goes
            counts[:, 1] / np.maximum(counts.sum(axis=1), 1e-300), t.children_left < 0,
        )  # fmt: skip


def _float32_at_or_below(t: np.ndarray) -> np.ndarray:
    f = t.astype(np.float32)
    over = f.astype(np.float64) > t
    f[over] = np.nextafter(f[over], np.float32(-np.inf))
    return f


def _ensemble_node(trees: Iterator[_Tree], inp: str, out: str, scale: float, base: float) -> Any:
    from onnx import helper

    cols: dict[str, list[np.ndarray]] = {
        k: [] for k in ("tree", "node", "feat", "thr", "true", "false", "miss")
    }
    modes: list[str] = []
    leaf_cols: dict[str, list[np.ndarray]] = {"tree": [], "node": [], "weight": []}
    for i, t in enumerate(trees):
        n, leaf = len(t.feature), t.leaf
        cols["tree"].append(np.full(n, i))
        cols["node"].append(np.arange(n))
        cols["feat"].append(np.where(leaf, 0, t.feature))
        cols["thr"].append(
            np.where(leaf, 0.0, _float32_at_or_below(np.asarray(t.threshold, dtype=np.float64)))
        )
        cols["true"].append(np.where(leaf, 0, t.left))
        cols["false"].append(np.where(leaf, 0, t.right))
        cols["miss"].append(np.where(leaf, 0, t.nan_left.astype(np.int64)))
        modes += np.where(leaf, "LEAF", "BRANCH_LEQ").tolist()
        at = np.flatnonzero(leaf)
        leaf_cols["tree"].append(np.full(len(at), i))
        leaf_cols["node"].append(at)
        leaf_cols["weight"].append(np.asarray(t.value, dtype=np.float64)[at] * scale)
    ints = {k: np.concatenate(v).astype(np.int64).tolist() for k, v in cols.items() if k != "thr"}
    leaves = {k: np.concatenate(v) for k, v in leaf_cols.items()}
    return helper.make_node(
        "TreeEnsembleRegressor", [inp], [out], domain="ai.onnx.ml", n_targets=1, aggregate_function="SUM",
        nodes_treeids=ints["tree"], nodes_nodeids=ints["node"], nodes_featureids=ints["feat"],
        nodes_values=np.concatenate(cols["thr"]).astype(np.float32).tolist(), nodes_modes=modes,
        nodes_truenodeids=ints["true"], nodes_falsenodeids=ints["false"],
        nodes_missing_value_tracks_true=ints["miss"],
        target_treeids=leaves["tree"].astype(np.int64).tolist(), target_nodeids=leaves["node"].astype(np.int64).tolist(),
        target_ids=[0] * len(leaves["node"]), target_weights=leaves["weight"].astype(np.float32).tolist(),
        base_values=[base],
    )  # fmt: skip


def ensemble_graph(boosted: Any, forest: Any | None) -> bytes:
    """P(like) = sigmoid(boosted logit), averaged with the forest's P(like) when there is one."""
    from onnx import TensorProto, helper

    n_features = int(boosted.n_features_in_)
    base = float(np.asarray(boosted._baseline_prediction).reshape(-1)[0])
    nodes = [
        _ensemble_node(_boosted_trees(boosted), "x", "logit", 1.0, base),
        helper.make_node("Sigmoid", ["logit"], ["p_boosted"]),
    ]
    if forest is None:
        nodes.append(helper.make_node("Identity", ["p_boosted"], ["p"]))
    else:
        n_trees = len(forest.estimators_)
        nodes += [
            _ensemble_node(_forest_trees(forest), "x", "p_forest", 1.0 / n_trees, 0.0),
            helper.make_node("Add", ["p_boosted", "p_forest"], ["p_sum"]),
            helper.make_node("Mul", ["p_sum", "half"], ["p"]),
        ]
    half = helper.make_tensor("half", TensorProto.FLOAT, [], [0.5])
    graph = helper.make_graph(
        nodes, "like_trees",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, n_features])],
        [helper.make_tensor_value_info("p", TensorProto.FLOAT, [None, 1])],
        initializer=[half] if forest is not None else [],
    )  # fmt: skip
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("ai.onnx.ml", 3)]
    )
    model.ir_version = 8  # what onnxruntime reads for these opsets
    return model.SerializeToString()


class TreeScorer:
    """An onnxruntime session over an ensemble_graph; run() is thread-safe."""

    def __init__(self, graph: bytes, threads: int = 1) -> None:
        self._open(graph, threads)

    def __reduce__(self) -> tuple[type[TreeScorer], tuple[bytes, int]]:
        """Pickled as its graph (a session cannot be): the planning processes rebuild the same scorer."""
        return (TreeScorer, (self.graph, self.threads))

    def _open(self, graph: bytes, threads: int) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(1, threads)
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3  # warnings would reach stderr on every load
        self.graph = graph
        self.threads = threads
        try:
            self._session = ort.InferenceSession(graph, opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime's errors derive from Exception only
            raise ModelInputError(
                f"the like/dislike trees cannot be read ({type(exc).__name__}: {exc})"
            ) from exc
        self.n_features = int(self._session.get_inputs()[0].shape[1])

    def proba(self, x: np.ndarray) -> np.ndarray:
        """P(like) per row of x (float32 features; NaN marks a missing personal feature)."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ValueError(f"expected rows of {self.n_features} features, got shape {x.shape}")
        if len(x) == 0:
            return np.zeros(0, dtype=np.float64)
        return self._session.run(None, {"x": x})[0][:, 0].astype(np.float64)
