"""Benchmark the like/dislike classifier against scikit-learn baselines on one listener's votes.

Stratified 5-fold CV (shuffled, seed 0) on a CSV in the McIntire file's schema: the 13 sonic
attributes, `song_title`, `artist` and a 0/1 `target` (default: the McIntire file, 2,017 songs one
listener liked or disliked). A first, unnamed column is a row index (sorted by the label in McIntire's
file): it is dropped and never used as a feature. The artist is used only through taste features
computed inside each training fold (out-of-fold for the training rows), handed to the baselines too so
that the comparison is like for like. Every model runs with fixed defaults: nothing is tuned on folds.

    SONGREC_DATA=/work/shared/data .venv/bin/python bench/classifier.py
    .venv/bin/python bench/classifier.py --data listener.csv --out reports/classifier-listener.md
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from report import write_report  # bench/ is on sys.path when a bench runs
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from songrec.models.classifier import (  # noqa: E402
    BOOSTED,
    DENSE,
    ENSEMBLE,
    LikeClassifier,
    artist_features,
    oof_artist_features,
)

SONIC = [
    "acousticness",
    "danceability",
    "duration_ms",
    "energy",
    "instrumentalness",
    "key",
    "liveness",
    "loudness",
    "mode",
    "speechiness",
    "tempo",
    "time_signature",
    "valence",
]
USER = "listener"
REQUIRED = [*SONIC, "song_title", "artist", "target"]


@dataclass
class Result:
    name: str
    acc: list[float] = field(default_factory=list)
    auc: list[float] = field(default_factory=list)
    seconds: float = 0.0


def default_path() -> Path:
    base = os.environ.get("SONGREC_DATA") or str(ROOT.parent / "shared" / "data")
    path = Path(base) / "spotify-song-attributes-mcintire" / "spotify_data.csv.gz"
    if not path.exists():
        sys.exit(
            f"error: dataset not found at {path}; set SONGREC_DATA to the shared data folder or pass --data"
        )
    return path


def load(path: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(sonic features, 0/1 labels, artists); exits with one line naming what is wrong with the file."""
    try:
        df = pd.read_csv(path)
    except (OSError, ValueError) as exc:
        sys.exit(f"error: cannot read {path}: {exc}")
    df = df.drop(columns=[c for c in df.columns if str(c).startswith("Unnamed")])  # the row index
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        sys.exit(
            f"error: {path} lacks column(s) {', '.join(missing)} (the McIntire schema: the 13 sonic "
            "attributes, song_title, artist and a 0/1 target)"
        )
    df = df.dropna(subset=REQUIRED)
    if not df["target"].isin([0, 1]).all() or df["target"].nunique() != 2:
        sys.exit(f"error: {path}: target must hold both 0 (dislike) and 1 (like), and nothing else")
    try:
        x = df[SONIC].to_numpy(np.float32)
    except ValueError as exc:
        sys.exit(f"error: {path}: a sonic column is not numeric ({exc})")
    return x, df["target"].to_numpy(np.int64), df["artist"].astype(str).tolist()


def sklearn_models() -> dict[str, Callable[[], object]]:
    return {
        "logistic regression": lambda: make_pipeline(
            StandardScaler(), LogisticRegression(C=1.0, max_iter=2000)
        ),
        "random forest": lambda: RandomForestClassifier(n_estimators=500, n_jobs=2, random_state=0),
        "gradient boosting": lambda: HistGradientBoostingClassifier(random_state=0),
    }


def run(path: Path, folds: int, seed: int, epochs: int | None) -> list[Result]:
    torch.set_num_threads(2)
    x, y, artists = load(path)
    users = [USER] * len(y)
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    dense = replace(DENSE, seed=seed) if epochs is None else replace(DENSE, seed=seed, epochs=epochs)
    presets = {
        " (ensemble, default)": replace(ENSEMBLE, seed=seed),
        " (boosted)": replace(BOOSTED, seed=seed),
        " (dense, the seed's)": dense,
    }
    results: dict[str, Result] = {}

    def record(name: str, fold_y: np.ndarray, proba: np.ndarray, seconds: float) -> None:
        r = results.setdefault(name, Result(name))
        r.acc.append(accuracy_score(fold_y, proba >= 0.5))
        r.auc.append(roc_auc_score(fold_y, proba))
        r.seconds += seconds

    for tr, te in cv.split(x, y):
        tr_users, te_users = [users[i] for i in tr], [users[i] for i in te]
        tr_art, te_art = [artists[i] for i in tr], [artists[i] for i in te]
        a_tr = oof_artist_features(
            tr_users, tr_art, y[tr].astype(np.float32), rng=np.random.default_rng(seed)
        )
        a_te = artist_features(tr_users, tr_art, y[tr].astype(np.float32), te_users, te_art)
        variants = {
            "sonic": (x[tr], x[te]),
            "sonic + artist": (np.hstack([x[tr], a_tr]), np.hstack([x[te], a_te])),
        }

        for suffix, cfg in presets.items():
            for variant, with_artist in (("", True), (" (sonic only)", False)):
                t0 = time.perf_counter()
                model = LikeClassifier(cfg)
                model.fit(tr_users, x[tr], y[tr], artists=tr_art if with_artist else None)
                proba = model.predict_proba(te_users, x[te], artists=te_art if with_artist else None)
                name = f"songrec LikeClassifier{suffix}{variant}".replace(") (", ", ")
                record(name, y[te], proba, time.perf_counter() - t0)

        for name, make in sklearn_models().items():
            for variant, (xtr, xte) in variants.items():
                t0 = time.perf_counter()
                clf = make()
                clf.fit(xtr, y[tr])
                record(f"{name} ({variant})", y[te], clf.predict_proba(xte)[:, 1], time.perf_counter() - t0)
    return list(results.values())


def table(results: list[Result], folds: int, seed: int, path: Path, rows: int) -> str:
    ranked = sorted(results, key=lambda r: -np.mean(r.acc))
    shown = "/".join(path.parts[-2:])
    lines = [
        f"# Like/dislike classifier: stratified {folds}-fold CV (shuffled, seed {seed})",
        "",
        f"Data: `{shown}` ({rows:,} songs, one listener; a row-index column is dropped). "
        "Features: 13 sonic attributes; '+ artist' adds artist like-rate/count features computed inside "
        "each training fold (out-of-fold for training rows). songrec's default is 'ensemble', which "
        "averages boosted trees and ExtraTrees over sonic, artist and personal features; 'boosted' is the "
        "boosted trees alone (k-fold personal logits) and 'dense' the seed's dense network, both presets.",
        "",
        "| model | accuracy mean | accuracy std | ROC-AUC mean | ROC-AUC std | fit+predict s (all folds) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in ranked:
        lines.append(
            f"| {r.name} | {np.mean(r.acc):.4f} | {np.std(r.acc):.4f} | {np.mean(r.auc):.4f} | "
            f"{np.std(r.auc):.4f} | {r.seconds:.1f} |"
        )
    best = ranked[0]
    by_auc = max(results, key=lambda r: np.mean(r.auc))
    lines += [
        "",
        f"Best accuracy: **{best.name}** ({np.mean(best.acc):.4f}); best ROC-AUC: **{by_auc.name}** "
        f"({np.mean(by_auc.auc):.4f}).",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="CSV in the McIntire schema (default: the McIntire file)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=None, help="override the dense preset's epochs")
    parser.add_argument("--out", type=Path, help="report (default reports/classifier[-<data name>].md)")
    args = parser.parse_args()
    path = args.data or default_path()
    out = args.out or ROOT / "reports" / (
        "classifier.md" if args.data is None else f"classifier-{path.name.split('.')[0]}.md"
    )
    t0 = time.perf_counter()
    load_before = os.getloadavg()
    results = run(path, args.folds, args.seed, args.epochs)
    text = table(results, args.folds, args.seed, path, len(load(path)[1]))
    load_after = os.getloadavg()
    text += (
        f"\nTotal wall time: {time.perf_counter() - t0:.0f} s ({torch.get_num_threads()} torch threads, "
        f"{os.cpu_count()} cores; 1-min load average {load_before[0]:.1f} at the start, "
        f"{load_after[0]:.1f} at the end, 15-min {load_after[2]:.1f}).\n"
    )
    write_report(text, out)


if __name__ == "__main__":
    main()
