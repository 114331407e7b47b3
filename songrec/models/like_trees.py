"""The tree like/dislike models: boosted (and bagged) trees over sonic, artist and personal features.

Personal part: every known user gets a ridge-penalised logistic regression on the scaled sonic
features (a few Newton steps, batched over all users on the torch device). Its logit, held out for
training rows, and the user's vote count are features of the shared trees, so the trees learn how far
to trust a user's own boundary against the crowd's and the artist signal. Held out means either
k-fold (k refits) or, the default, approximate leave-one-out: one fit, then each row's logit is
corrected by its Newton leverage (Rad & Maleki 2018), which is what keeps a million votes cheap.

The boosted trees are scikit-learn's histogram gradient boosting with fixed conservative defaults
(small learning rate, feature subsampling, leaves of at least 20 rows). The "ensemble" family also
averages in extremely randomised trees (ExtraTrees: a bagged, low-bias, high-variance learner whose
errors differ from boosting's) fitted on a capped row sample; nothing is tuned on evaluation folds.
A stranger's personal features are missing: the boosted trees route missing values natively, the
forest sees them as a neutral logit and zero votes. That is the global fall-back.

Fitted trees are exported to one ONNX graph (songrec/models/tree_onnx.py) and served by onnxruntime.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch


@dataclass(frozen=True)
class TreeSettings:
    learning_rate: float = 0.03
    max_iter: int = 300
    max_leaf_nodes: int = 15
    min_samples_leaf: int = 20
    l2_regularization: float = 1.0
    max_features: float = 0.5
    #: Rows the trees learn from at most (a random subset beyond that): the crowd's taste needs far
    #: fewer rows than the personal part, and tree time grows with rows (at 1M votes, 300k rows were
    #: 18 s of one thread for +0.0005 validation AUC over 100k).
    max_rows: int = 200_000
    #: Ridge strength of each user's residual regression, and its Newton steps.
    user_l2: float = 1.0
    newton_steps: int = 4
    #: Held-out personal logits for the training rows: k-fold when >= 2, else approximate
    #: leave-one-out from one fit (the default: the k-fold refits were most of the time at scale).
    user_folds: int = 0


@dataclass(frozen=True)
class ForestSettings:
    """The ExtraTrees half of the "ensemble" family (fixed defaults, never tuned on folds)."""

    #: 100 trees, not 200: onnxruntime scores 120 rows through 200 trees of 1024 leaves in ~4.6 ms
    #: (the node tables outgrow the cache) and through 100 in ~1.3 ms.
    n_estimators: int = 100
    min_samples_leaf: int = 3
    max_features: float = 0.5
    #: Caps that keep the forest small at a million votes: rows it learns from, leaves per tree.
    max_rows: int = 40_000
    max_leaf_nodes: int = 1024


def fit_trees(features: np.ndarray, labels: np.ndarray, cfg: TreeSettings, seed: int, threads: int) -> Any:
    """Fit the shared boosted trees (scikit-learn is imported here: serving scores them through ONNX)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    rows = _sample(len(labels), cfg.max_rows, seed)
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
    return model


def _sample(n: int, cap: int, seed: int) -> np.ndarray:
    rows = np.arange(n)
    if n > cap:
        rows = np.sort(np.random.default_rng(seed).choice(rows, cap, replace=False))
    return rows


def fit_forest(features: np.ndarray, labels: np.ndarray, cfg: ForestSettings, seed: int, threads: int) -> Any:
    """Fit the ExtraTrees half of the ensemble on inputs with missing values as 0."""
    from sklearn.ensemble import ExtraTreesClassifier

    rows = _sample(len(labels), cfg.max_rows, seed + 1)
    model = ExtraTreesClassifier(
        n_estimators=cfg.n_estimators,
        min_samples_leaf=cfg.min_samples_leaf,
        max_features=cfg.max_features,
        max_leaf_nodes=cfg.max_leaf_nodes,
        n_jobs=threads,
        random_state=seed,
    )
    model.fit(np.nan_to_num(features[rows], nan=0.0), labels[rows].astype(np.int64))
    return model


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


def _design(x: np.ndarray, device: torch.device) -> torch.Tensor:
    return torch.as_tensor(np.hstack([x, np.ones((len(x), 1), dtype=np.float32)]), device=device)


def _newton_terms(
    z: torch.Tensor, u: torch.Tensor, y: torch.Tensor, w: torch.Tensor, chunk: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-user log-likelihood gradient and (unpenalised) Hessian at w, summed in chunks."""
    n_users, d = w.shape
    hess = torch.zeros((n_users, d, d), device=z.device)
    grad = torch.zeros((n_users, d), device=z.device)
    for s in range(0, len(z), chunk):
        zb, ub = z[s : s + chunk], u[s : s + chunk]
        p = torch.sigmoid((zb * w[ub]).sum(dim=1))
        grad.index_add_(0, ub, zb * (y[s : s + chunk] - p)[:, None])
        hess.index_add_(0, ub, (zb * (p * (1 - p))[:, None])[:, :, None] * zb[:, None, :])
    return grad, hess


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
    z, u = _design(x, device), torch.as_tensor(user_idx, device=device)
    y = torch.as_tensor(labels, dtype=torch.float32, device=device)
    w = torch.zeros((n_users, z.shape[1]), device=device)
    ridge = cfg.user_l2 * torch.eye(z.shape[1], device=device)
    for _ in range(cfg.newton_steps):
        grad, hess = _newton_terms(z, u, y, w, chunk)
        step = torch.linalg.solve(hess + ridge, (grad - cfg.user_l2 * w)[:, :, None]).squeeze(2)
        w = w + step
        w[0] = 0.0
    return w.cpu().numpy().astype(np.float32)


def alo_user_logits(
    user_idx: np.ndarray,
    x: np.ndarray,
    labels: np.ndarray,
    weights: np.ndarray,
    cfg: TreeSettings,
    device: torch.device,
    chunk: int = 16_384,
) -> np.ndarray:
    """Approximate leave-one-out logits: one Newton step from the full fit without the row.

    With H the user's penalised Hessian and h = z' H^-1 z the row's leverage, dropping the row moves
    its logit by (p - y) * h / (1 - p (1 - p) h) (Sherman-Morrison); exact for ridge regression.
    """
    z, u = _design(x, device), torch.as_tensor(user_idx, device=device)
    y = torch.as_tensor(labels, dtype=torch.float32, device=device)
    w = torch.as_tensor(weights, device=device)
    _, hess = _newton_terms(z, u, y, w, chunk)
    h_inv = torch.linalg.inv(hess + cfg.user_l2 * torch.eye(z.shape[1], device=device))
    out = torch.empty(len(z), device=device)
    for s in range(0, len(z), chunk):
        zb, ub, yb = z[s : s + chunk], u[s : s + chunk], y[s : s + chunk]
        eta = (zb * w[ub]).sum(dim=1)
        p = torch.sigmoid(eta)
        lev = torch.einsum("bi,bij,bj->b", zb, h_inv[ub], zb)
        out[s : s + chunk] = eta + (p - yb) * lev / (1.0 - p * (1.0 - p) * lev).clamp_min(1e-3)
    return out.cpu().numpy().astype(np.float32)


def user_logits(user_idx: np.ndarray, x: np.ndarray, weights: np.ndarray) -> np.ndarray:
    w = weights[user_idx]
    return (x * w[:, :-1]).sum(axis=1).astype(np.float32) + w[:, -1]


def held_out_user_logits(
    user_idx: np.ndarray,
    x: np.ndarray,
    labels: np.ndarray,
    n_users: int,
    cfg: TreeSettings,
    device: torch.device,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """(each training row's personal logit from a regression that did not see it, full-fit weights)."""
    weights = fit_user_linear(user_idx, x, labels, n_users, cfg, device)
    if cfg.user_folds < 2:
        return alo_user_logits(user_idx, x, labels, weights, cfg, device), weights
    fold = rng.permutation(np.arange(len(labels)) % cfg.user_folds)
    out = np.zeros(len(labels), dtype=np.float32)
    for f in range(cfg.user_folds):
        tr, te = fold != f, fold == f
        w = fit_user_linear(user_idx[tr], x[tr], labels[tr], n_users, cfg, device)
        out[te] = user_logits(user_idx[te], x[te], w)
    return out, weights


def personal_features(
    user_idx: np.ndarray, logits: np.ndarray, votes_per_user: np.ndarray, stranger: np.ndarray
) -> np.ndarray:
    """(personal logit, log1p(user's training votes)); missing for strangers and the global user."""
    out = np.column_stack([logits, np.log1p(votes_per_user[user_idx])]).astype(np.float32)
    out[stranger | (user_idx == 0)] = np.nan
    return out
