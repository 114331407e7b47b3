"""The ranker training job on planted tastes in a real SQLite store: it learns, folds in strangers,
refuses to promote a worse model, caps a spammer, and records every run."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from songrec.content.artifacts import ArtifactStore
from songrec.content.engine import Engine
from songrec.models.ranker import RANKER_KIND, HybridRanker, load_ranker
from songrec.store import Store
from tests.support import ranker_env
from training.cli import main as training_main
from training.ranker_job import RankerJobConfig, Votes, cap_per_user, read_votes, run_job, split_last

USERS = ranker_env.TRAINED_USERS


def _votes_by_user(rows: list[tuple[int, str, int, float]]) -> dict[int, dict[str, int]]:
    out: dict[int, dict[str, int]] = {}
    for user, track, value, _ in rows:
        out.setdefault(user, {})[track] = value
    return out


async def _runs(db: Path) -> list:
    store = await Store.open(db, readonly=True)
    try:
        return await store.last_training_runs(10)
    finally:
        await store.close()


@pytest.fixture(scope="module")
def trained(
    small_engine: Engine, trained_ranker: ranker_env.Trained, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path, dict[int, dict[str, int]]]:
    """One real training run through `python -m training ranker`'s entry point (shared, copied)."""
    db, root = ranker_env.trained_copy(trained_ranker, tmp_path_factory.mktemp("ranker"))
    return db, root, _votes_by_user(ranker_env.planted_votes(small_engine, USERS))


def _ranker(eng: Engine, root: Path, votes: dict[int, dict[str, int]]) -> HybridRanker:
    return load_ranker(root, eng, lambda u: votes.get(u, {}))


def _auc_liked_over_disliked(user: int, score: np.ndarray, liked: np.ndarray, disliked: np.ndarray) -> float:
    y = np.r_[np.ones(len(liked)), np.zeros(len(disliked))]
    return float(roc_auc_score(y, score))


def test_the_job_learns_planted_tastes_and_records_the_run(small_engine: Engine, trained) -> None:
    db, root, votes = trained
    eng = small_engine
    ranker = _ranker(small_engine, root, votes)
    for user in list(USERS)[:8]:
        liked = ranker_env.rows_for(eng, ranker_env.taste_of(user))
        disliked = ranker_env.rows_for(eng, ranker_env.disliked_genres(user))
        rows = np.r_[liked, disliked]
        parts = ranker.score(user, rows)
        total = parts["like"] + parts.get("cf", 0.0)
        auc = _auc_liked_over_disliked(user, total, liked, disliked)
        assert auc > 0.9, f"user {user}: AUC {auc:.3f} (chance is 0.5)"
    [run] = asyncio.run(_runs(db))
    assert run.status == "succeeded" and run.promoted
    assert run.device == "cpu" and run.finished_at is not None
    assert run.metrics["val_auc"] > 0.9
    assert run.artifact_version == ArtifactStore(root, RANKER_KIND).current_version()
    assert run.reason.startswith("promoted")


def test_cold_start_user_gets_no_ranker_parts(small_engine: Engine, trained) -> None:
    _, root, votes = trained
    ranker = _ranker(small_engine, root, votes)
    assert ranker.score(999_999, np.arange(10)) == {}


def test_fold_in_places_a_user_not_seen_at_training_time(small_engine: Engine, trained) -> None:
    _, root, votes = trained
    eng = small_engine
    newcomer = ranker_env.FIRST_USER + 400  # same taste as FIRST_USER, never trained on
    assert ranker_env.taste_of(newcomer) == ranker_env.taste_of(ranker_env.FIRST_USER)
    rows = ranker_env.planted_votes(eng, range(newcomer, newcomer + 1), per_user=24, seed=7)
    mine = {track: value for _, track, value, _ in rows}
    ranker = _ranker(small_engine, root, {**votes, newcomer: mine})
    assert not ranker.classifier.knows(str(newcomer)) and str(newcomer) not in ranker.user_index
    rated = {eng.row_of(t) for t in mine}
    liked = np.asarray([r for r in ranker_env.rows_for(eng, ranker_env.taste_of(newcomer)) if r not in rated])
    disliked = np.asarray(
        [r for r in ranker_env.rows_for(eng, ranker_env.disliked_genres(newcomer)) if r not in rated]
    )
    logits = ranker.cf_logits(newcomer, np.r_[liked, disliked], mine)
    assert logits is not None
    auc = _auc_liked_over_disliked(newcomer, logits, liked, disliked)
    assert auc > 0.8, f"fold-in AUC {auc:.3f}"
    # cached: the second call reuses the folded vector (same vote set)
    assert len(ranker._folded) == 1
    ranker.cf_logits(newcomer, liked, mine)
    assert len(ranker._folded) == 1


def test_promotion_refuses_a_worse_model_and_says_why(small_engine: Engine, tmp_path: Path, trained) -> None:
    _, good_root, _ = trained
    root = tmp_path / "artifacts"
    import shutil

    shutil.copytree(good_root, root)
    store = ArtifactStore(root, RANKER_KIND)
    before = store.current_version()
    db = tmp_path / "shuffled.sqlite3"
    ranker_env.write_votes(db, ranker_env.planted_votes(small_engine, USERS, shuffle_labels=True))
    code = training_main(["ranker", "--db", str(db), "--artifacts", str(root), *ranker_env.fast_args()])
    assert code == 0
    [run] = asyncio.run(_runs(db))
    assert run.status == "succeeded" and not run.promoted
    assert "not promoted" in run.reason and "worse than current" in run.reason
    assert run.artifact_version is not None and run.artifact_version != before
    assert store.current_version() == before  # serving keeps the good one
    assert run.artifact_version in store.versions()  # kept for inspection


def test_one_users_weight_is_capped(small_artifact: Path, small_engine: Engine, tmp_path: Path) -> None:
    eng = small_engine
    root = ranker_env.fresh_root(tmp_path, small_artifact)
    db = tmp_path / "spam.sqlite3"
    rows = ranker_env.planted_votes(eng, USERS, per_user=40)
    ids = eng.catalog["track_id"].astype(str).tolist()
    spammer = 4242
    rows += [(spammer, t, 1, 1_800_000_000.0 + i) for i, t in enumerate(ids[:500])]  # likes everything
    ranker_env.write_votes(db, rows)
    result = run_job(db, root, ranker_env.fast_config(max_user_share=0.05, min_cap=50))
    m = result.metrics
    assert m["user_cap"] == max(50, int(0.05 * (24 * 40 + 500)))
    assert m["capped_users"] == 1  # only the spammer
    assert m["train_rows"] + m["val_rows"] == 24 * 40 + m["user_cap"]


def test_cap_keeps_each_users_newest_votes_and_split_holds_out_the_newest() -> None:
    n = 300
    users = np.r_[np.full(250, 1), np.full(50, 2)]
    votes = Votes(
        np.arange(1, n + 1), users, np.asarray([f"t{i}" for i in range(n)], dtype=object), np.ones(n)
    )
    cfg = RankerJobConfig(max_rows_per_user=1000, max_user_share=0.2, min_cap=10, val_fraction=0.2)
    kept, cap, capped = cap_per_user(votes, cfg)
    assert cap == 60 and capped == 1
    assert (kept.users == 1).sum() == 60 and (kept.users == 2).sum() == 50
    assert kept.ids[kept.users == 1].min() == 191  # the newest 60 of user 1
    train, val = split_last(kept, cfg)
    assert val.sum() == 12 + 10
    for user in (1, 2):
        mine = kept.users == user
        assert kept.ids[mine & val].min() > kept.ids[mine & train].max()


def test_opted_out_listeners_are_left_out_of_the_next_retrain(
    small_artifact: Path, small_engine: Engine, tmp_path: Path
) -> None:
    eng = small_engine
    db = tmp_path / "privacy.sqlite3"
    rows = ranker_env.planted_votes(eng, USERS, per_user=40)
    ranker_env.write_votes(db, rows)
    users = sorted({r[0] for r in rows})
    private, off = users[0], users[1]
    per_user = {u: sum(1 for r in rows if r[0] == u) for u in (private, off)}

    async def opt_out() -> None:
        store = await Store.open(db)
        try:
            await store.set_user_settings(private, {"privacy": "private"})
            await store.set_user_settings(off, {"privacy": "off"})
            await store.set_user_settings(users[2], {"privacy": "shared"})  # opted back in: kept
        finally:
            await store.close()

    asyncio.run(opt_out())
    votes = asyncio.run(read_votes(db))
    assert private not in set(votes.users.tolist()) and off not in set(votes.users.tolist())
    assert users[2] in set(votes.users.tolist())
    assert len(votes) == len(rows) - per_user[private] - per_user[off]
    result = run_job(db, ranker_env.fresh_root(tmp_path, small_artifact), ranker_env.fast_config())
    assert result.metrics["train_rows"] + result.metrics["val_rows"] == len(votes)


def test_without_a_visible_gpu_the_job_trains_on_the_cpu(
    small_artifact: Path, small_engine: Engine, tmp_path: Path
) -> None:
    """What CI proves of the cuda paths: hidden GPUs leave a working CPU run (and say so in the run)."""
    import os
    import subprocess
    import sys

    root = ranker_env.fresh_root(tmp_path, small_artifact)
    db = tmp_path / "cpu.sqlite3"
    ranker_env.write_votes(db, ranker_env.planted_votes(small_engine, USERS, per_user=30))
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    cmd = [sys.executable, "-m", "training", "ranker", "--db", str(db), "--artifacts", str(root)]
    done = subprocess.run(
        [*cmd, *ranker_env.fast_args()],
        env=env,
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    (run,) = asyncio.run(_runs(db))
    assert run.status == "succeeded" and run.device == "cpu" and run.metrics["device"] == "cpu"
