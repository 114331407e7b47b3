"""The tree families' parts: held-out personal logits and the ensemble's forest half."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from songrec.models.classifier import BOOSTED, ENSEMBLE, LikeClassifier
from songrec.models.like_trees import (
    TreeSettings,
    alo_user_logits,
    fit_user_linear,
    held_out_user_logits,
    user_logits,
)


def two_users(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    users = rng.integers(1, 3, n)
    x = rng.random((n, 3)).astype(np.float32)
    tilt = np.where(users == 1, 4.0, -4.0)
    y = (rng.random(n) < 1 / (1 + np.exp(-tilt * (x[:, 0] - 0.5)))).astype(np.float32)
    return users, x, y


def test_approximate_leave_one_out_matches_refitting_without_the_row() -> None:
    users, x, y = two_users(120, seed=0)
    cfg = TreeSettings(newton_steps=12)  # converged, so the one-step correction is the only error
    cpu = torch.device("cpu")
    w = fit_user_linear(users, x, y, 3, cfg, cpu)
    alo = alo_user_logits(users, x, y, w, cfg, cpu)
    exact = np.empty(len(y), dtype=np.float32)
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        w_i = fit_user_linear(users[keep], x[keep], y[keep], 3, cfg, cpu)
        exact[i] = user_logits(users[i : i + 1], x[i : i + 1], w_i)[0]
    in_sample = user_logits(users, x, w)
    assert np.abs(alo - exact).max() < 0.05
    assert np.abs(in_sample - exact).mean() > 5 * np.abs(alo - exact).mean()  # the correction matters


def test_held_out_logits_k_fold_and_leave_one_out_agree_on_the_boundary() -> None:
    users, x, y = two_users(600, seed=1)
    cpu = torch.device("cpu")
    rng = np.random.default_rng(0)
    alo, w = held_out_user_logits(users, x, y, 3, TreeSettings(), cpu, rng)
    folds, w5 = held_out_user_logits(users, x, y, 3, TreeSettings(user_folds=5), cpu, rng)
    assert np.allclose(w, w5)  # both return the full fit's weights
    assert np.corrcoef(alo, folds)[0, 1] > 0.95


def test_ensemble_saves_its_forest_and_boosted_has_none(tmp_path: Path) -> None:
    users, x, y = two_users(400, seed=2)
    names = [f"u{u}" for u in users]
    for cfg, has_forest in ((ENSEMBLE, True), (BOOSTED, False)):
        model = LikeClassifier(replace(cfg, device="cpu"))
        model.fit(names, x, y)
        path = tmp_path / f"{cfg.family}.pt"
        model.save(path)
        again = LikeClassifier.load(path)
        assert again._trees is not None
        assert (b"p_forest" in again._trees.graph) is has_forest
        assert np.array_equal(model.predict_proba(names, x), again.predict_proba(names, x))
        p = again.predict_proba(["u1", "u2"], np.array([[0.9, 0.5, 0.5], [0.9, 0.5, 0.5]], np.float32))
        assert p[0] > 0.5 > p[1]  # user 1 likes a high first feature, user 2 dislikes it
