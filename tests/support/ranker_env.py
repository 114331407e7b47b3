"""Planted tastes for the learning-loop tests: synthetic listeners' votes written into a real SQLite store,
and a private artifacts root (a copy of the small test embedding) for each test's ranker versions.

Four listener types over the four planted genres: each likes two genres and dislikes the other two, so
the global model alone cannot tell them apart and the personal parts (user embedding, CF) must learn.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from songrec.content.engine import Engine
from songrec.store import Store
from tests.support import service_env
from training.ranker_job import RankerJobConfig

TASTES: tuple[tuple[str, ...], ...] = (("rock", "pop"), ("rap", "edm"), ("rock", "rap"), ("pop", "edm"))
FIRST_USER = 1000
GENRES = ("rock", "pop", "rap", "edm")
POOL_PER_GENRE = 40
TRAINED_USERS = range(FIRST_USER, FIRST_USER + 24)


def fast_config(**changes: object) -> RankerJobConfig:
    """Small enough to train in a few seconds on two cores."""
    cfg = RankerJobConfig(**FAST)  # type: ignore[arg-type]
    for name, value in changes.items():
        setattr(cfg, name, value)
    return cfg


FAST = {"clf_epochs": 40, "clf_batch": 128, "cf_epochs": 15, "cf_dim": 4, "cf_l2": 1e-3, "min_cap": 100}


def fast_args() -> list[str]:
    """The same small config for `python -m training ranker`."""
    return ["--config-json", json.dumps(FAST)]


def fresh_root(tmp_path: Path, artifact: Path) -> Path:
    """An artifacts root with the test embedding (`artifact`, the small_artifact fixture) and no ranker yet."""
    root = tmp_path / "artifacts"
    shutil.copytree(artifact / "embedding", root / "embedding")
    return root


def taste_of(user_id: int) -> tuple[str, ...]:
    return TASTES[(user_id - FIRST_USER) % len(TASTES)]


def planted_votes(
    eng: Engine, users: range, per_user: int = 80, seed: int = 0, shuffle_labels: bool = False
) -> list[tuple[int, str, int, float]]:
    """(user, track, vote, time) rows: each user votes on random tracks according to their taste."""
    rng = np.random.default_rng(seed)
    genres = eng.catalog["genre"].astype(str).to_numpy()
    ids = eng.catalog["track_id"].astype(str).to_numpy()
    pool = pool_rows(eng)
    out = []
    t = 1_700_000_000.0
    for user in users:
        likes = set(taste_of(user))
        for row in rng.choice(pool, size=per_user, replace=False):
            value = 1 if genres[row] in likes else -1
            if shuffle_labels:
                value = int(rng.choice([-1, 1]))
            t += 1.0
            out.append((user, str(ids[row]), value, t))
    return out


def pool_rows(eng: Engine, per_genre: int = POOL_PER_GENRE) -> np.ndarray:
    """The tracks listeners vote on: a shared pool, so CF sees each track rated several times."""
    return np.concatenate([service_env.rows_of_genre(eng, g)[:per_genre] for g in GENRES])


def write_votes(db_path: Path, rows: list[tuple[int, str, int, float]]) -> None:
    async def go() -> None:
        store = await Store.open(db_path)
        try:
            await store.add_feedback_bulk(rows)
        finally:
            await store.close()

    asyncio.run(go())


def rows_for(eng: Engine, genres: tuple[str, ...], n: int = POOL_PER_GENRE) -> np.ndarray:
    """Pool tracks of these genres (candidates whose planted label is known)."""
    picked: list[int] = []
    for g in genres:
        picked += service_env.rows_of_genre(eng, g)[:n]
    return np.asarray(picked, dtype=np.int64)


def disliked_genres(user_id: int) -> tuple[str, ...]:
    return tuple(g for g in GENRES if g not in taste_of(user_id))


@dataclass(frozen=True)
class Trained:
    """A database with planted votes and an artifacts root with a promoted ranker trained on them."""

    db: Path
    root: Path


def train(base: Path, artifact: Path, eng: Engine) -> Trained:
    """Plant TRAINED_USERS' votes in `base` and train a ranker on them (the session's copy is the
    `trained_ranker` fixture in tests/conftest.py)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:  # its own thread: callers may be inside an event loop
        return pool.submit(_train_once, base, artifact, eng).result()


def _train_once(base: Path, artifact: Path, eng: Engine) -> Trained:
    from training.cli import main as training_main

    root = fresh_root(base, artifact)
    db = base / "songrec.sqlite3"
    write_votes(db, planted_votes(eng, TRAINED_USERS))
    # through `python -m training ranker`'s entry point (in-process), so the run is recorded too
    code = training_main(["ranker", "--db", str(db), "--artifacts", str(root), *fast_args()])
    assert code == 0
    return Trained(db, root)


def trained_copy(trained: Trained, tmp_path: Path) -> tuple[Path, Path]:
    """(database, artifacts root): a copy of `trained` (the trained_ranker fixture) private to one test."""
    db, root = trained.db, trained.root
    mine = tmp_path / "trained"
    shutil.copytree(root, mine / "artifacts")
    for suffix in ("", "-wal", "-shm"):
        src = Path(f"{db}{suffix}")
        if src.exists():
            shutil.copy(src, mine / f"songrec.sqlite3{suffix}")
    return mine / "songrec.sqlite3", mine / "artifacts"
