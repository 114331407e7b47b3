"""Weighted ALS: the conjugate-gradient sweeps solve the normal equations and recover planted structure."""

from __future__ import annotations

import numpy as np
import torch

from songrec.models.als import ALSConfig, solve_rows, weighted_als


def _rows(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    users = np.repeat(np.arange(30), 6)
    items = np.concatenate([rng.choice(20, 6, replace=False) + 20 * (u % 2) for u in range(30)])
    conf = 1.0 + rng.random(len(users)) * 3
    pref = (rng.random(len(users)) > 0.1).astype(np.float32)  # a few explicit zeros (dislikes)
    return users, items, conf, pref


def test_fold_in_solve_matches_the_normal_equations() -> None:
    users, items, conf, pref = _rows()
    cfg = ALSConfig(dim=8, reg=0.7, reg_exponent=0.5, iters=5)
    _, y = weighted_als(users, items, conf, pref, 30, 40, cfg)
    mine = users == 3
    got = solve_rows(y, np.zeros(mine.sum(), np.int64), items[mine], conf[mine], pref[mine], 1, cfg)
    yv = y.double().numpy()
    obs = yv[items[mine]]
    a = yv.T @ yv + obs.T @ ((conf[mine] - 1.0)[:, None] * obs)
    a += cfg.reg * (1.0 + mine.sum()) ** cfg.reg_exponent * np.eye(8)
    b = obs.T @ (conf[mine] * pref[mine])
    np.testing.assert_allclose(got.double().numpy()[0], np.linalg.solve(a, b), rtol=1e-3, atol=1e-4)


def test_planted_blocks_rank_own_block_first() -> None:
    users, items, conf, _ = _rows(1)
    x, y = weighted_als(users, items, conf, np.ones(len(users)), 30, 40, ALSConfig(dim=4, reg=0.1, iters=10))
    scores = (x @ y.T).numpy()
    own = np.array([scores[u, 20 * (u % 2) : 20 * (u % 2) + 20].mean() for u in range(30)])
    other = np.array([scores[u, 20 * (1 - u % 2) : 20 * (1 - u % 2) + 20].mean() for u in range(30)])
    assert (own > other + 0.2).all()


def test_frequency_scaled_penalty_shrinks_busy_rows_more() -> None:
    users, items, conf, pref = _rows()
    flat = ALSConfig(dim=8, reg=1.0, reg_exponent=0.0, iters=8)
    scaled = ALSConfig(dim=8, reg=1.0, reg_exponent=1.0, iters=8)
    x0, _ = weighted_als(users, items, conf, pref, 30, 40, flat)
    x1, _ = weighted_als(users, items, conf, pref, 30, 40, scaled)
    assert torch.linalg.norm(x1) < torch.linalg.norm(x0)
