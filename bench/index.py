"""HNSW vs exact brute force (numpy and torch) on the served embeddings: recall@10 and queries/s.

Side by side in one run on the current artifact (SONGREC_HOME), or a fresh one if none exists.
Usage: python bench/index.py [--queries 2000] [--out reports/index.md]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from report import write_report  # bench/ is on sys.path when a bench runs

from songrec.content.engine import Engine
from songrec.content.index import TrackIndex


def torch_exact(base: torch.Tensor, queries: torch.Tensor, k: int) -> np.ndarray:
    d = torch.cdist(queries, base)
    return torch.topk(d, k, largest=False).indices.cpu().numpy()


def timed(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=Path("reports/index.md"))
    args = parser.parse_args()
    engine = Engine.load()
    index: TrackIndex = engine.index
    rng = np.random.default_rng(0)
    rows = rng.choice(index.size, size=min(args.queries, index.size), replace=False)
    queries = index.vectors[rows]
    k = 10
    truth = index.exact(queries, k)
    recall = index.recall_at(k, sample=len(rows))
    device = "cuda" if torch.cuda.is_available() else "cpu"
    base_t = torch.as_tensor(index.vectors, device=device)
    q_t = torch.as_tensor(queries, device=device)
    one = queries[:200]
    results = {
        "hnswlib batch": timed(lambda: index.query(queries, k)) / len(queries),
        "hnswlib one-by-one": timed(lambda: [index.query(q[None], k) for q in one]) / len(one),
        "numpy exact batch": timed(lambda: index.exact(queries, k), 1) / len(queries),
        "numpy exact one-by-one": timed(lambda: [index.exact(q[None], k) for q in one], 1) / len(one),
        f"torch exact batch ({device})": timed(lambda: torch_exact(base_t, q_t, k)) / len(queries),
        f"torch exact one-by-one ({device})": timed(
            lambda: [torch_exact(base_t, q[None], k) for q in q_t[:200]], 1
        )
        / 200,
    }
    torch_ids = torch_exact(base_t, q_t, k)
    torch_recall = np.mean([len(set(a) & set(t.rows)) / k for a, t in zip(torch_ids, truth, strict=True)])
    hnsw_one = results["hnswlib one-by-one"]
    lines = [
        f"# Index benchmark: {index.size:,} tracks, {index.dim}-d, {len(rows):,} queries, k={k}",
        "",
        f"HNSW recall@10 vs exact: {recall:.4f} (M={index.config.M}, ef={index.config.ef}); "
        f"torch exact agrees with numpy exact on {torch_recall:.4f} of neighbours (ties aside)",
        "",
        "| method | queries/s | time per query vs hnswlib one-by-one |",
        "| --- | --- | --- |",
        *[f"| {name} | {1 / s:,.0f} | {s / hnsw_one:.1f}x |" for name, s in results.items()],
    ]
    text = "\n".join(lines) + "\n"
    write_report(text, args.out)


if __name__ == "__main__":
    main()
