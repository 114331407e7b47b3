"""The boosted like/dislike model: gradient-boosted trees over sonic, artist and personal features.

Personal part: every known user gets a ridge-penalised logistic regression on the scaled sonic
features (a few Newton steps, batched over all users on the torch device). Its logit, out-of-fold for
training rows, and the user's vote count are features of the shared trees, so the trees learn how far
to trust a user's own boundary against the crowd's and the artist signal. The trees are scikit-learn's
histogram gradient boosting with fixed conservative defaults (small learning rate, feature
subsampling, leaves of at least 20 rows), never tuned on evaluation folds. A stranger's personal
features are missing (the trees route missing values natively): that is the global fall-back.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.ensemble import HistGradientBoostingClassifier


@dataclass(frozen=True)
class TreeSettings:
    learning_rate: float = 0.03
    max_iter: int = 300
    max_leaf_nodes: int = 15
    min_samples_leaf: int = 20
    l2_regularization: float = 1.0
    max_features: float = 0.5
    #: Rows the trees learn from at most (a random subset beyond that): the crowd's taste needs far
    #: fewer rows than the personal part, and tree time grows with rows.
    max_rows: int = 300_000
    #: Ridge strength of each user's residual regression, and its Newton steps.
    user_l2: float = 1.0
    newton_steps: int = 4
    user_folds: int = 5  # out-of-fold personal logits for the training rows


def fit_trees(features: np.ndarray, labels: np.ndarray, cfg: TreeSettings, seed: int, threads: int) -> bytes:
    """Fit the shared trees; returned pickled (the saved classifier stores them as bytes)."""
    rows = np.arange(len(labels))
    if len(rows) > cfg.max_rows:
        rows = np.sort(np.random.default_rng(seed).choice(rows, cfg.max_rows, replace=False))
    model = HistGradientBoostingClassifier(
        learning_rate=cfg.learning_rate,
        max_iter=cfg.max_iter,
        max_leaf_nodes=cfg.max_leaf_nodes,
        min_samples_leaf=cfg.min_samples_leaf,
        l2_regularization=cfg.l2_regularization,
        max_features=cfg.max_features,
        early_stopping=False,
        random_state=seed,
    )
    with _threads(threads):
        model.fit(features[rows], labels[rows].astype(np.int64))
    return pickle.dumps(model)


class _threads:
    """Limit OpenMP threads of the tree code (the bot shares the cores); a no-op without threadpoolctl."""

    def __init__(self, n: int) -> None:
        self.n = n
        self._ctx: object | None = None

    def __enter__(self) -> None:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:  # pragma: no cover - sklearn depends on threadpoolctl
            return
        self._ctx = threadpool_limits(self.n, user_api="openmp")

    def __exit__(self, *exc: object) -> None:
        if self._ctx is not None:
            self._ctx.__exit__(*exc)  # type: ignore[attr-defined]


def tree_logits(trees: object, features: np.ndarray, threads: int = 1) -> np.ndarray:
    with _threads(threads):
        return np.asarray(trees.decision_function(features), dtype=np.float64)  # type: ignore[attr-defined]


def fit_user_linear(
    user_idx: np.ndarray,
    x: np.ndarray,
    labels: np.ndarray,
    n_users: int,
    cfg: TreeSettings,
    device: torch.device,
    chunk: int = 16_384,
) -> np.ndarray:
    """Per-user ridge logistic regression on [x, 1]; row 0 (the global user) stays 0.

    Returns weights (n_users, d + 1). Gram matrices are summed per user with index_add_ in chunks,
    then all users' Newton systems are solved in one batched call.
    """
    d = x.shape[1] + 1
    z = torch.as_tensor(np.hstack([x, np.ones((len(x), 1), dtype=np.float32)]), device=device)
    u = torch.as_tensor(user_idx, device=device)
    y = torch.as_tensor(labels, dtype=torch.float32, device=device)
    w = torch.zeros((n_users, d), device=device)
    ridge = cfg.user_l2 * torch.eye(d, device=device)
    for _ in range(cfg.newton_steps):
        hess = torch.zeros((n_users, d, d), device=device)
        grad = torch.zeros((n_users, d), device=device)
        for s in range(0, len(z), chunk):
            zb, ub = z[s : s + chunk], u[s : s + chunk]
            p = torch.sigmoid((zb * w[ub]).sum(dim=1))
            grad.index_add_(0, ub, zb * (y[s : s + chunk] - p)[:, None])
            hess.index_add_(0, ub, (zb * (p * (1 - p))[:, None])[:, :, None] * zb[:, None, :])
        step = torch.linalg.solve(hess + ridge, (grad - cfg.user_l2 * w)[:, :, None]).squeeze(2)
        w = w + step
        w[0] = 0.0
    return w.cpu().numpy().astype(np.float32)


def user_logits(user_idx: np.ndarray, x: np.ndarray, weights: np.ndarray) -> np.ndarray:
    w = weights[user_idx]
    return (x * w[:, :-1]).sum(axis=1).astype(np.float32) + w[:, -1]


def oof_user_logits(
    user_idx: np.ndarray,
    x: np.ndarray,
    labels: np.ndarray,
    n_users: int,
    cfg: TreeSettings,
    device: torch.device,
    rng: np.random.Generator,
) -> np.ndarray:
    """Each training row's personal logit from a regression that never saw the row."""
    fold = rng.permutation(np.arange(len(labels)) % cfg.user_folds)
    out = np.zeros(len(labels), dtype=np.float32)
    for f in range(cfg.user_folds):
        tr, te = fold != f, fold == f
        w = fit_user_linear(user_idx[tr], x[tr], labels[tr], n_users, cfg, device)
        out[te] = user_logits(user_idx[te], x[te], w)
    return out


def personal_features(
    user_idx: np.ndarray, logits: np.ndarray, votes_per_user: np.ndarray, stranger: np.ndarray
) -> np.ndarray:
    """(personal logit, log1p(user's training votes)); missing for strangers and the global user."""
    out = np.column_stack([logits, np.log1p(votes_per_user[user_idx])]).astype(np.float32)
    out[stranger | (user_idx == 0)] = np.nan
    return out
