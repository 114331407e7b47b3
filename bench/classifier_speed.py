"""Serving cost of the like/dislike families, side by side: predict_proba on 120 candidate rows.

    .venv/bin/python bench/classifier_speed.py [--rows 200000] [--users 2000]

Each family is fitted on the same synthetic votes (per-user tastes over 13 sonic features, 3,000
artists), then scores the same 120 rows for one known user 200 times on one thread, which is what a
recommend asks of it several times (songrec/service/planner.py). Figures are ms per call and the ratio.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from songrec.models.classifier import DENSE, ENSEMBLE, ClassifierConfig, LikeClassifier  # noqa: E402


def votes(rows: int, users: int, seed: int = 0) -> tuple[list[str], np.ndarray, np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    u = rng.integers(0, users, rows)
    x = rng.random((rows, 13)).astype(np.float32)
    taste = rng.normal(size=(users, 13))
    y = (((x - 0.5) * taste[u]).sum(1) + rng.normal(0, 1, rows) > 0).astype(np.float32)
    return [f"u{i}" for i in u], x, y, [f"a{i}" for i in rng.integers(0, 3000, rows)]


def per_call_ms(
    cfg: ClassifierConfig, data: tuple[list[str], np.ndarray, np.ndarray, list[str]]
) -> tuple[float, float]:
    names, x, y, artists = data
    start = time.perf_counter()
    model = LikeClassifier(cfg)
    model.fit(names, x, y, artists)
    fit_s = time.perf_counter() - start
    rows = np.random.default_rng(1).integers(0, len(y), 120)
    users, xs, arts = [names[0]] * 120, x[rows], [artists[i] for i in rows]
    model.predict_proba(users, xs, arts)
    start = time.perf_counter()
    for _ in range(200):
        model.predict_proba(users, xs, arts)
    return fit_s, (time.perf_counter() - start) / 200 * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--users", type=int, default=2000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    data = votes(args.rows, args.users)
    families = {
        "ensemble (default)": replace(ENSEMBLE, device="cpu", threads=1),
        "dense": replace(DENSE, epochs=3, batch_size=1024, device="cpu"),
    }
    ms = {}
    for name, cfg in families.items():
        fit_s, ms[name] = per_call_ms(cfg, data)
        print(f"{name}: fit {fit_s:.1f} s, predict_proba on 120 rows {ms[name]:.2f} ms per call", flush=True)
    print(f"ensemble / dense: {ms['ensemble (default)'] / ms['dense']:.2f}x")


if __name__ == "__main__":
    main()
