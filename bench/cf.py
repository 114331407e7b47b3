"""Benchmark the CF model against popularity, item-kNN and implicit's ALS on Last.fm HetRec 2011.

Protocol: leave-one-out. For every user with >= 2 interactions one random interaction (seed 0) is held
out; each model trains on the rest and ranks ALL items the user has not interacted with in training
(full ranking, no sampled negatives). HR@10 and NDCG@10 are averaged over those users. Hyper-parameters
were chosen with ``--validate``, which holds out a second interaction per user from the training set
and never looks at the test items.

    SONGREC_DATA=/work/shared/data .venv/bin/python bench/cf.py
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from report import write_report  # bench/ is on sys.path when a bench runs

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from songrec.models.cf import CFConfig, CFModel  # noqa: E402

K = 10


@dataclass
class Split:
    n_users: int
    n_items: int
    train: pd.DataFrame  # columns u, i, plays
    test_users: np.ndarray
    test_items: np.ndarray


def data_dir() -> Path:
    base = os.environ.get("SONGREC_DATA") or str(ROOT.parent / "shared" / "data")
    path = Path(base) / "lastfm-hetrec2011-2k"
    if not (path / "user_artists.dat.gz").exists():
        sys.exit(f"dataset not found at {path}; set SONGREC_DATA to the shared data folder")
    return path


def load() -> tuple[pd.DataFrame, dict[int, int]]:
    df = pd.read_csv(data_dir() / "user_artists.dat.gz", sep="\t")
    users = {u: k for k, u in enumerate(sorted(df.userID.unique()))}
    items = {a: k for k, a in enumerate(sorted(df.artistID.unique()))}
    out = pd.DataFrame(
        {"u": df.userID.map(users), "i": df.artistID.map(items), "plays": df.weight.astype(float)}
    )
    return out, items


def leave_one_out(df: pd.DataFrame, n_users: int, n_items: int, seed: int) -> Split:
    rng = np.random.default_rng(seed)
    df = df.iloc[rng.permutation(len(df))]
    counts = df.groupby("u").u.transform("size")
    first = ~df.duplicated("u") & (counts >= 2)
    held = df[first].sort_values("u")
    return Split(n_users, n_items, df[~first].reset_index(drop=True), held.u.to_numpy(), held.i.to_numpy())


def tag_features(items: dict[int, int], dims: int = 32) -> np.ndarray:
    """TF-IDF of the tags users gave each artist, reduced by truncated SVD and L2-normalised."""
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfTransformer
    from sklearn.preprocessing import normalize

    tags = pd.read_csv(data_dir() / "user_taggedartists.dat.gz", sep="\t")
    tags = tags[tags.artistID.isin(items)]
    tag_ids = {t: k for k, t in enumerate(tags.tagID.unique())}
    counts = sp.csr_matrix(
        (np.ones(len(tags)), (tags.artistID.map(items), tags.tagID.map(tag_ids))),
        shape=(len(items), len(tag_ids)),
    )
    tfidf = TfidfTransformer(sublinear_tf=True).fit_transform(counts)
    reduced = TruncatedSVD(dims, random_state=0).fit_transform(tfidf)
    return normalize(reduced).astype(np.float32)


def train_matrix(split: Split, values: np.ndarray | None = None) -> sp.csr_matrix:
    vals = np.ones(len(split.train)) if values is None else values
    return sp.csr_matrix((vals, (split.train.u, split.train.i)), shape=(split.n_users, split.n_items))


def evaluate(
    split: Split, scorer: Callable[[np.ndarray], np.ndarray], batch: int = 256
) -> tuple[float, float]:
    """HR@K and NDCG@K with full ranking; training items are excluded from each user's ranking."""
    seen = train_matrix(split)
    hits, ndcg = [], []
    for s in range(0, len(split.test_users), batch):
        users, targets = split.test_users[s : s + batch], split.test_items[s : s + batch]
        scores = np.asarray(scorer(users), dtype=np.float64)
        sub = seen[users].tocoo()
        scores[sub.row, sub.col] = -np.inf
        target = scores[np.arange(len(users)), targets][:, None]
        rank = (scores > target).sum(axis=1)  # ties count in the target's favour
        hits.append(rank < K)
        ndcg.append(np.where(rank < K, 1.0 / np.log2(rank + 2.0), 0.0))
    return float(np.concatenate(hits).mean()), float(np.concatenate(ndcg).mean())


# ---- models -------------------------------------------------------------------------------------
def popularity(split: Split) -> Callable[[np.ndarray], np.ndarray]:
    pop = np.bincount(split.train.i, minlength=split.n_items).astype(np.float64)
    return lambda users: np.tile(pop, (len(users), 1))


def item_knn(split: Split, neighbours: int = 200) -> Callable[[np.ndarray], np.ndarray]:
    """Cosine item-item similarity on log play counts, top-`neighbours` per item kept."""
    x = train_matrix(split, np.log1p(split.train.plays.to_numpy())).tocsc()
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=0))).ravel()
    c = (x @ sp.diags(1.0 / np.maximum(norms, 1e-12))).tocsc()
    ct = c.T.tocsr()
    rows, cols, vals = [], [], []
    for s in range(0, split.n_items, 2048):
        sims = (ct[s : s + 2048] @ c).toarray()
        np.fill_diagonal(sims[:, s : s + 2048], 0.0)
        top = np.argpartition(-sims, neighbours, axis=1)[:, :neighbours]
        r = np.repeat(np.arange(s, s + len(sims)), neighbours)
        rows.append(r)
        cols.append(top.ravel())
        vals.append(np.take_along_axis(sims, top, axis=1).ravel())
    sim = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(split.n_items,) * 2
    )
    xr = x.tocsr()
    return lambda users: (xr[users] @ sim).toarray()


def als(
    split: Split, factors: int, reg: float, alpha: float, iters: int, seed: int
) -> Callable[[np.ndarray], np.ndarray]:
    from implicit.als import AlternatingLeastSquares  # benchmark-only dependency

    conf = train_matrix(split, alpha * np.log1p(split.train.plays.to_numpy())).astype(np.float32)
    model = AlternatingLeastSquares(
        factors=factors, regularization=reg, alpha=1.0, iterations=iters, random_state=seed, num_threads=2
    )
    model.fit(conf, show_progress=False)
    uf, itf = np.asarray(model.user_factors), np.asarray(model.item_factors)
    return lambda users: uf[users] @ itf.T


def ours(split: Split, cfg: CFConfig, features: np.ndarray | None) -> Callable[[np.ndarray], np.ndarray]:
    model = CFModel(cfg)
    tr = split.train
    model.fit(
        tr.u.to_numpy(),
        tr.i.to_numpy(),
        tr.plays.to_numpy(),
        item_features=features,
        n_users=split.n_users,
        n_items=split.n_items,
    )
    return model.score_users


# ---- runs ---------------------------------------------------------------------------------------
ALS_DEFAULT = {"factors": 64, "reg": 0.1, "alpha": 1.0, "iters": 15}
OURS_DEFAULT = CFConfig(epochs=2, batch_size=16384, lr=2e-3, neg_ratio=8, neg_weight=4.0, l2=1e-4)


def timed(
    name: str, make: Callable[[], Callable[[np.ndarray], np.ndarray]], split: Split
) -> tuple[str, float, float, float]:
    t0 = time.perf_counter()
    hr, ndcg = evaluate(split, make())
    row = (name, hr, ndcg, time.perf_counter() - t0)
    print(f"{name:45s} HR@{K} {hr:.4f}  NDCG@{K} {ndcg:.4f}  ({row[3]:.0f} s)", flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--validate", action="store_true", help="tune on a validation hold-out, not the test set"
    )
    parser.add_argument("--tags", action="store_true", help="also run our model with tag-based item features")
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "cf.md")
    args = parser.parse_args()
    torch.set_num_threads(2)
    t_start = time.perf_counter()
    df, items = load()
    n_users, n_items = int(df.u.max()) + 1, len(items)
    split = leave_one_out(df, n_users, n_items, args.seed)
    if args.validate:
        split = leave_one_out(split.train, n_users, n_items, args.seed + 1)
    feats = tag_features(items) if args.tags else None

    rows = [
        timed("popularity", lambda: popularity(split), split),
        timed("item-kNN (cosine, 200 neighbours)", lambda: item_knn(split), split),
        timed(
            "implicit ALS ({factors} f, reg {reg}, alpha {alpha}, {iters} it)".format(**ALS_DEFAULT),
            lambda: als(split, seed=args.seed, **ALS_DEFAULT),
            split,
        ),
        timed("songrec CFModel (no item features)", lambda: ours(split, OURS_DEFAULT, None), split),
    ]
    if feats is not None:
        rows.append(
            timed("songrec CFModel (+ tag features)", lambda: ours(split, OURS_DEFAULT, feats), split)
        )

    users_eval = len(split.test_users)
    lines = [
        f"# CF baseline: Last.fm HetRec 2011 leave-one-out ({'validation' if args.validate else 'test'})",
        "",
        f"Data: `lastfm-hetrec2011-2k/user_artists.dat.gz`, {n_users} users x {n_items} artists, "
        f"{len(df)} interactions (play counts). One random interaction held out per user with >= 2 "
        f"interactions ({users_eval} users); models rank **all** artists the user has not played in training "
        f"(full ranking, no sampled negatives). Seed {args.seed}.",
        "",
        f"| model | HR@{K} | NDCG@{K} | train+eval s |",
        "| --- | --- | --- | --- |",
        *[f"| {n} | {hr:.4f} | {nd:.4f} | {s:.0f} |" for n, hr, nd, s in rows],
        "",
        f"CFModel config: `{OURS_DEFAULT}`.",
        f"Total wall time {time.perf_counter() - t_start:.0f} s on {torch.get_num_threads()} torch threads.",
    ]
    text = "\n".join(lines) + "\n"
    write_report(text, args.out)


if __name__ == "__main__":
    main()
