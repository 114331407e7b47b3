"""Weighted alternating least squares for implicit feedback (Hu, Koren and Volinsky 2008).

The CF model starts from this solution: on Last.fm it ranks better than a PureSVD start or SGD on the
BCE objective, and a sweep costs one pass over the interactions. Each row's penalty can grow with its
number of interactions (frequency-scaled regularisation, as in Rendle et al.'s "Revisiting iALS"),
which on Last.fm's validation hold-out beat the constant penalty implicit uses. Observed entries carry a
confidence ``c`` and a preference ``p`` (1 for a like, 0 for a dislike); every unobserved entry counts
as preference 0 with confidence 1, which the shared Gram matrix accounts for without enumerating it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class ALSConfig:
    dim: int = 64
    reg: float = 0.1
    iters: int = 15
    seed: int = 0
    reg_exponent: float = 0.0  # row i's penalty is reg * (1 + n_i)^exponent (frequency-scaled, as iALS++)
    cg_steps: int = 3  # per sweep and side, warm-started from the previous sweep (as implicit does)


def _solve_side(
    fixed: torch.Tensor,
    rows: torch.Tensor,
    cols: torch.Tensor,
    conf: torch.Tensor,
    pref: torch.Tensor,
    start: torch.Tensor,
    cfg: ALSConfig,
) -> torch.Tensor:
    """A few conjugate-gradient steps on every row's normal equations at once, from the last solution.

    The per-row systems are never formed: A v = (Y'Y + reg I) v + sum_obs (c - 1) y (y . v), which costs
    one pass over the interactions, so a sweep is O(nnz * dim) rather than O(rows * dim^3).
    """
    gram = fixed.T @ fixed
    counts = torch.zeros(start.shape[0], dtype=fixed.dtype, device=fixed.device)
    counts.index_add_(0, rows, torch.ones_like(conf))
    penalty = (cfg.reg * (1.0 + counts) ** cfg.reg_exponent)[:, None]
    y = fixed[cols]
    extra = conf - 1.0

    def apply(v: torch.Tensor) -> torch.Tensor:
        out = v @ gram + penalty * v
        return out.index_add_(0, rows, (extra * (y * v[rows]).sum(1))[:, None] * y)

    b = torch.zeros_like(start).index_add_(0, rows, (conf * pref)[:, None] * y)
    x = start.clone()
    r = b - apply(x)
    p = r.clone()
    rs = (r * r).sum(1)
    for _ in range(cfg.cg_steps):
        ap = apply(p)
        denom = (p * ap).sum(1)
        alpha = torch.where(denom > 1e-20, rs / denom.clamp_min(1e-20), torch.zeros_like(rs))
        x += alpha[:, None] * p
        r -= alpha[:, None] * ap
        rs_new = (r * r).sum(1)
        beta = torch.where(rs > 1e-20, rs_new / rs.clamp_min(1e-20), torch.zeros_like(rs))
        p = r + beta[:, None] * p
        rs = rs_new
    return x


def solve_rows(
    fixed: torch.Tensor,
    rows: np.ndarray,
    cols: np.ndarray,
    confidence: np.ndarray,
    preference: np.ndarray,
    n_rows: int,
    cfg: ALSConfig,
) -> torch.Tensor:
    """Factors for new rows (fold-in) against trained factors of the other side, solved to convergence."""
    t = lambda a: torch.as_tensor(a, device=fixed.device)  # noqa: E731
    start = torch.zeros(n_rows, fixed.shape[1], dtype=fixed.dtype, device=fixed.device)
    exact = ALSConfig(**{**cfg.__dict__, "cg_steps": fixed.shape[1]})  # CG is exact after dim steps
    return _solve_side(
        fixed,
        t(np.asarray(rows, np.int64)),
        t(np.asarray(cols, np.int64)),
        t(np.asarray(confidence, np.float32)),
        t(np.asarray(preference, np.float32)),
        start,
        exact,
    )


def weighted_als(
    users: np.ndarray,
    items: np.ndarray,
    confidence: np.ndarray,
    preference: np.ndarray,
    n_users: int,
    n_items: int,
    cfg: ALSConfig,
    device: torch.device | str = "cpu",
    on_iter: Callable[[int], None] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(user factors, item factors) minimising sum c (p - x.y)^2 + reg (|x|^2 + |y|^2).

    Duplicate (user, item) pairs should be merged by the caller; confidence must be >= 1 for the
    implicit zeros to stay the weakest evidence.
    """
    gen = torch.Generator().manual_seed(cfg.seed)
    dt = torch.float32
    t = lambda a: torch.as_tensor(a, device=device)  # noqa: E731
    conf, pref = t(np.asarray(confidence, np.float32)), t(np.asarray(preference, np.float32))
    u_rows, u_cols = t(users.astype(np.int64)), t(items.astype(np.int64))
    x = (torch.randn(n_users, cfg.dim, generator=gen, dtype=dt) * 0.01).to(device)
    y = (torch.randn(n_items, cfg.dim, generator=gen, dtype=dt) * 0.01).to(device)
    for it in range(cfg.iters):
        x = _solve_side(y, u_rows, u_cols, conf, pref, x, cfg)
        y = _solve_side(x, u_cols, u_rows, conf, pref, y, cfg)
        if on_iter is not None:
            on_iter(it + 1)
    return x, y
