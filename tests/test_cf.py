"""The CF model learns a block-structured taste matrix, folds in new users and survives save/load."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from songrec.models.base import ModelInputError, NotFittedError
from songrec.models.cf import CFConfig, CFModel

N_USERS, N_ITEMS, BLOCK = 60, 40, 20  # users 0..29 like items 0..19, users 30..59 like items 20..39
FAST = CFConfig(
    dim=4,
    hidden=32,
    epochs=40,
    batch_size=256,
    lr=2e-2,
    l2=1e-5,
    neg_ratio=4,
    neg_weight=0.5,
    dislike_weight=1.0,
    seed=0,
)


def block(user: int) -> int:
    return 0 if user < N_USERS // 2 else 1


def planted(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[int, set[int]]]:
    """Each user likes half of their block (play counts 1..50) and dislikes 3 items of the other block.

    Returns rows plus, per user, the unseen items of their own block (what they should rank first).
    """
    rng = np.random.default_rng(seed)
    users, items, values, hidden = [], [], [], {}
    for u in range(N_USERS):
        own = np.arange(BLOCK) + BLOCK * block(u)
        other = np.arange(BLOCK) + BLOCK * (1 - block(u))
        liked = rng.choice(own, BLOCK // 2, replace=False)
        disliked = rng.choice(other, 3, replace=False)
        hidden[u] = set(own.tolist()) - set(liked.tolist())
        users += [u] * (len(liked) + len(disliked))
        items += liked.tolist() + disliked.tolist()
        values += rng.integers(1, 50, len(liked)).tolist() + [-1] * len(disliked)
    return np.array(users), np.array(items), np.array(values, dtype=np.float32), hidden


@pytest.fixture(scope="module")
def trained() -> tuple[CFModel, dict[int, set[int]]]:
    users, items, values, hidden = planted()
    model = CFModel(FAST)
    metrics = model.fit(users, items, values)
    assert metrics["users"] == N_USERS and metrics["items"] == N_ITEMS
    return model, hidden


def test_unseen_items_of_own_block_rank_first(trained: tuple[CFModel, dict[int, set[int]]]) -> None:
    model, hidden = trained
    scores = model.score_users(np.arange(N_USERS))
    aucs = []
    for u in range(N_USERS):
        other = np.arange(BLOCK) + BLOCK * (1 - block(u))
        pos = scores[u, sorted(hidden[u])]
        neg = scores[u, other]
        aucs.append((pos[:, None] > neg[None, :]).mean())
    assert np.mean(aucs) > 0.95  # chance is 0.5


def test_recommend_excludes_and_stays_in_block(trained: tuple[CFModel, dict[int, set[int]]]) -> None:
    model, hidden = trained
    users, items, _, _ = planted()
    in_block = []
    for u in range(N_USERS):
        seen = items[users == u]
        recs, scores = model.recommend(u, k=5, exclude=seen)
        assert len(recs) == 5 and not set(recs.tolist()) & set(seen.tolist())
        assert np.all(np.diff(scores) <= 0)
        in_block.append(np.isin(recs, sorted(hidden[u])).mean())
    assert np.mean(in_block) > 0.9  # chance: 10 of the 27-30 unseen items, about 0.35
    assert np.allclose(scores, model.score(N_USERS - 1, recs), atol=1e-5)


def test_similar_items_share_a_block(trained: tuple[CFModel, dict[int, set[int]]]) -> None:
    model, _ = trained
    for item in (3, 27):
        neighbours, sims = model.similar_items(item, k=5)
        assert item not in neighbours
        assert all((n < BLOCK) == (item < BLOCK) for n in neighbours)
        assert np.all(np.diff(sims) <= 0)


def test_fold_in_recovers_a_new_users_taste(trained: tuple[CFModel, dict[int, set[int]]]) -> None:
    model, _ = trained
    for taste in (0, 1):
        likes = np.array([0, 2, 4, 6, 8]) + BLOCK * taste
        vector = model.fold_in(likes, np.ones(len(likes)))
        recs, _ = model.recommend(vector, k=8, exclude=likes)
        assert all((r >= BLOCK) == bool(taste) for r in recs), recs


def test_save_load_round_trip_is_identical(
    trained: tuple[CFModel, dict[int, set[int]]], tmp_path: Path
) -> None:
    model, _ = trained
    path = tmp_path / "cf.pt"
    model.save(path)
    again = CFModel.load(path)
    assert np.array_equal(model.score_users(np.arange(N_USERS)), again.score_users(np.arange(N_USERS)))
    assert np.array_equal(model.similar_items(5, 4)[0], again.similar_items(5, 4)[0])
    likes = np.array([1, 3, 5])
    assert np.array_equal(model.fold_in(likes, np.ones(3)), again.fold_in(likes, np.ones(3)))


def test_item_features_are_used_and_saved(tmp_path: Path) -> None:
    users, items, values, _ = planted(seed=1)
    feats = np.zeros((N_ITEMS, 2), dtype=np.float32)
    feats[:BLOCK, 0] = 1.0
    feats[BLOCK:, 1] = 1.0
    model = CFModel(FAST)
    model.fit(users, items, values, item_features=feats)
    path = tmp_path / "cf_feats.pt"
    model.save(path)
    assert np.array_equal(model.score(7), CFModel.load(path).score(7))


@pytest.mark.parametrize(
    ("users", "items", "values", "match"),
    [
        ([0, 1], [0, 1, 2], [1, 1, 1], "lengths differ"),
        ([], [], [], "empty"),
        ([0, 1], [0, 1], [1, 0], "non-zero"),
        ([0, 1], [0, 1], [-1, -1], "no positive"),
        ([0, -1], [0, 1], [1, 1], "non-negative"),
        ([0, 1], [0.5, 1], [1, 1], "integer"),
    ],
)
def test_bad_input_gives_clear_value_error(users: object, items: object, values: object, match: str) -> None:
    with pytest.raises(ModelInputError, match=match) as info:
        CFModel(FAST).fit(users, items, values)
    assert isinstance(info.value, ValueError)


def test_unknown_user_and_unfitted_model(trained: tuple[CFModel, dict[int, set[int]]]) -> None:
    model, _ = trained
    with pytest.raises(ModelInputError, match="fold_in"):
        model.score(N_USERS + 5)
    with pytest.raises(ModelInputError, match="out of range"):
        model.score(0, [N_ITEMS + 1])
    with pytest.raises(NotFittedError):
        CFModel(FAST).recommend(0)


def test_fold_in_of_a_trained_users_rows_gives_back_their_vector(
    trained: tuple[CFModel, dict[int, set[int]]],
) -> None:
    """Fold-in is the same least-squares solve ALS made for trained users (items frozen)."""
    model, _ = trained
    users, items, values, _ = planted()
    mine = users == 7
    folded = model.fold_in(items[mine], values[mine])
    trained_vector = model.user_vector(7)
    cos = folded @ trained_vector / (np.linalg.norm(folded) * np.linalg.norm(trained_vector))
    assert cos > 0.99


def test_models_saved_before_the_als_start_still_load(
    trained: tuple[CFModel, dict[int, set[int]]], tmp_path: Path
) -> None:
    import torch

    model, _ = trained
    model.save(tmp_path / "cf.pt")
    state = torch.load(tmp_path / "cf.pt", weights_only=False)
    for key in ("init", "als_reg", "als_reg_exponent", "als_iters", "train_factors"):
        state["config"].pop(key)
    state["config"]["svd_init"] = True
    torch.save(state, tmp_path / "old.pt")
    old = CFModel.load(tmp_path / "old.pt")
    assert old.config.init == "svd"
    assert np.allclose(old.score(3), model.score(3))


EASE_ON = replace(FAST, ease_weight=1.0, ease_lambda=5.0, ease_dislike=0.5)


@pytest.fixture(scope="module")
def with_ease() -> CFModel:
    users, items, values, _ = planted()
    model = CFModel(EASE_ON)
    model.fit(users, items, values)
    return model


def test_ease_matches_the_closed_form() -> None:
    """B = I - P / diag(P), P = (X'X + lambda I)^-1, zero diagonal (Steck 2019), on every kept item."""
    users, items, values, _ = planted()
    model = CFModel(replace(EASE_ON, ease_dislike=0.0, epochs=0))
    model.fit(users, items, values)
    x = np.zeros((N_USERS, N_ITEMS))
    pos = values > 0
    x[users[pos], items[pos]] = np.log1p(values[pos])
    p = np.linalg.inv(x.T @ x + EASE_ON.ease_lambda * np.eye(N_ITEMS))
    b = np.eye(N_ITEMS) - p / np.diag(p)[None, :]
    np.fill_diagonal(b, 0.0)
    assert model._ease is not None
    assert np.allclose(model._ease.weights.cpu().numpy(), b, atol=1e-4)
    factors_only = CFModel(replace(FAST, epochs=0))
    factors_only.fit(users, items, values)
    assert np.allclose(model.score(4), factors_only.score(4) + (x[4] @ b), atol=1e-3)


def test_ease_blend_ranks_blocks_folds_in_and_round_trips(with_ease: CFModel, tmp_path: Path) -> None:
    model = with_ease
    likes = np.array([0, 2, 4, 6, 8]) + BLOCK
    vector = model.fold_in(likes, np.ones(len(likes)))
    assert len(vector) == EASE_ON.dim + N_ITEMS
    recs, _ = model.recommend(vector, k=8, exclude=likes)
    assert all(r >= BLOCK for r in recs), recs
    assert np.allclose(model.score(vector, recs), model.score(vector)[recs], atol=1e-5)
    with pytest.raises(ModelInputError, match="fold_in"):
        model.score(vector[: EASE_ON.dim])
    model.save(tmp_path / "cf.pt")
    again = CFModel.load(tmp_path / "cf.pt")
    assert np.array_equal(model.score_users(np.arange(N_USERS)), again.score_users(np.arange(N_USERS)))
    assert np.array_equal(model.fold_in(likes, np.ones(5)), again.fold_in(likes, np.ones(5)))


def test_ease_keeps_only_the_most_used_items_and_side_evidence_counts() -> None:
    users, items, values, _ = planted()
    capped = CFModel(replace(EASE_ON, ease_max_items=10, epochs=0))
    capped.fit(users, items, values)
    assert capped._ease is not None and len(capped._ease.items) == 10
    assert capped.score(0).shape == (N_ITEMS,)
    side = sp.csr_matrix(([5.0], ([0], [N_ITEMS - 1])), shape=(N_USERS, N_ITEMS))
    plain, more = CFModel(replace(EASE_ON, epochs=0)), CFModel(replace(EASE_ON, epochs=0))
    plain.fit(users, items, values)
    more.fit(users, items, values, side=side)
    assert not np.allclose(plain.score(0), more.score(0))
    with pytest.raises(ModelInputError, match="side has shape"):
        CFModel(EASE_ON).fit(users, items, values, side=side[:5])


def test_score_pairs_gives_the_parts_of_score(with_ease: CFModel) -> None:
    model = with_ease
    users = np.array([0, 0, 5, 31, 59, 59])
    items = np.array([1, 30, 7, 22, 39, 0])
    factor, ease = model.score_pairs(users, items, chunk=4)
    full = np.array([model.score(int(u), [int(i)])[0] for u, i in zip(users, items, strict=True)])
    assert np.allclose(factor + EASE_ON.ease_weight * ease, full, atol=1e-4)
    assert np.abs(ease).max() > 0


def test_cf_training_path_runs_on_cpu_when_no_gpu_is_visible() -> None:
    """With CUDA hidden the model (ALS, BCE head, EASE) trains on cpu; with a GPU it picks cuda."""
    code = (
        "import numpy as np, torch\n"
        "from songrec.models.cf import CFConfig, CFModel\n"
        "rng = np.random.default_rng(0)\n"
        "u = np.repeat(np.arange(20), 5); i = rng.integers(0, 15, len(u))\n"
        "m = CFModel(CFConfig(dim=4, hidden=8, epochs=2, batch_size=32, ease_weight=1.0, ease_lambda=5.0))\n"
        "m.fit(u, i, np.ones(len(u)))\n"
        "assert np.isfinite(m.score(m.fold_in([1, 2], [1, 1]))).all()\n"
        "print(m.device.type, torch.cuda.is_available())\n"
    )
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=root, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-2:] == ["cpu", "False"]
