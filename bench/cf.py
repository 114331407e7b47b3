"""Benchmark the CF model against popularity, item-kNN, implicit's ALS and EASE on Last.fm HetRec 2011.

Protocol: leave-one-out. For every user with >= 2 interactions one random interaction (seed 0) is held
out; each model trains on the rest and ranks ALL items the user has not interacted with in training
(full ranking, no sampled negatives). HR@10 and NDCG@10 are averaged over those users. Every figure
is averaged over several split seeds. Hyper-parameters of ALS and of ours were chosen with
``--validate --grid``, which holds out a second interaction per user from the training set and never
looks at the test items.

EASE (Steck 2019) is the closed form B = I - P / diag(P), P = (X'X + lambda I)^-1 with a zero diagonal,
on log1p play counts over the artists with >= 2 users. songrec's CF model adds an EASE score to its
factor logit (weight tuned on validation); its EASE profile also holds the artists a user tagged
(HetRec's user_taggedartists, side information the baselines do not get; `--no-side` turns it off).

    SONGREC_DATA=/work/shared/data OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/cf.py
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from report import write_report  # bench/ is on sys.path when a bench runs

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from songrec.models.cf import CFConfig, CFModel  # noqa: E402
from songrec.models.ease import EASEConfig, fit_ease, kept_items  # noqa: E402

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


def user_tags(items: dict[int, int]) -> sp.csr_matrix:
    """(users, artists) 1 where the user tagged the artist (any tag, any time), in load()'s indices."""
    plays = pd.read_csv(data_dir() / "user_artists.dat.gz", sep="\t")
    users = {u: k for k, u in enumerate(sorted(plays.userID.unique()))}
    tags = pd.read_csv(data_dir() / "user_taggedartists.dat.gz", sep="\t")
    tags = tags[tags.userID.isin(users) & tags.artistID.isin(items)]
    m = sp.csr_matrix(
        (np.ones(len(tags), np.float32), (tags.userID.map(users), tags.artistID.map(items))),
        shape=(len(users), len(items)),
    )
    m.data[:] = 1.0
    return m


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


def ease(split: Split, lam: float) -> Callable[[np.ndarray], np.ndarray]:
    """EASE on log1p play counts, artists with >= 2 users (the others score 0 and rank last)."""
    x = train_matrix(split, np.log1p(split.train.plays.to_numpy())).astype(np.float32).tocsr()
    cfg = EASEConfig(lam=lam, min_users=2, max_items=split.n_items)
    coo = x.tocoo()
    model = fit_ease(x, kept_items(coo.row, coo.col, split.n_items, cfg), cfg, torch.device("cpu"))
    sub = x[:, model.items.numpy()]
    return lambda users: model.scores(torch.as_tensor(sub[users].toarray())).numpy()


def ours(
    split: Split, cfg: CFConfig, features: np.ndarray | None, side: sp.csr_matrix | None = None
) -> CFModel:
    model = CFModel(cfg)
    tr = split.train
    model.fit(
        tr.u.to_numpy(),
        tr.i.to_numpy(),
        tr.plays.to_numpy(),
        item_features=features,
        n_users=split.n_users,
        n_items=split.n_items,
        side=side,
    )
    return model


def without_ease(model: CFModel) -> Callable[[np.ndarray], np.ndarray]:
    """The same fitted model scored by its factor logit alone (what songrec's CF was before EASE)."""

    def score(users: np.ndarray) -> np.ndarray:
        weight = model.config.ease_weight
        model.config = replace(model.config, ease_weight=0.0)
        try:
            return model.score_users(users)
        finally:
            model.config = replace(model.config, ease_weight=weight)

    return score


def factors_only(split: Split, cfg: CFConfig) -> Callable[[np.ndarray], np.ndarray]:
    """Our factor start alone (the head starts at zero, so this is the model's ranking before BCE)."""
    model = CFModel(replace(cfg, epochs=0))
    tr = split.train
    model.fit(
        tr.u.to_numpy(), tr.i.to_numpy(), tr.plays.to_numpy(), n_users=split.n_users, n_items=split.n_items
    )
    users = np.stack([model.user_vector(u) for u in range(split.n_users)])
    items = model.item_vectors()
    return lambda u: users[u] @ items.T


# ---- runs ---------------------------------------------------------------------------------------
# Both chosen by --grid on the validation hold-out (seed 0), never on test items.
ALS_DEFAULT = {"factors": 64, "reg": 30.0, "alpha": 1.0, "iters": 15}
EASE_LAMBDA = 2000.0
EASE_GRID = (500.0, 1000.0, 2000.0, 4000.0)
#: The artists a user tagged enter their EASE profile with this weight (log1p plays are 0.7 .. 12).
TAG_WEIGHT = 4.0
EASE_WEIGHT = 8.0
OURS_DEFAULT = CFConfig(ease_weight=EASE_WEIGHT, ease_lambda=EASE_LAMBDA, ease_max_items=100_000)
OURS_EASE_GRID = [(w, beta) for beta in (0.0, 2.0, 4.0) for w in (1.0, 2.0, 4.0, 8.0, 16.0)]
ALS_GRID = [{"reg": r, "alpha": a} for r in (1.0, 3.0, 10.0, 30.0, 100.0) for a in (0.5, 1.0, 2.0)]
OURS_GRID = [
    {"als_reg_exponent": e, "als_reg": r / 10 ** (1.5 * e), "confidence_alpha": a}
    for e in (0.0, 0.5, 1.0)
    for r in (1.0, 3.0, 10.0, 30.0)
    for a in (0.5, 1.0, 2.0)
]


def timed(
    name: str, make: Callable[[], Callable[[np.ndarray], np.ndarray]], split: Split
) -> tuple[str, float, float, float]:
    t0 = time.perf_counter()
    hr, ndcg = evaluate(split, make())
    row = (name, hr, ndcg, time.perf_counter() - t0)
    print(f"{name:45s} HR@{K} {hr:.4f}  NDCG@{K} {ndcg:.4f}  ({row[3]:.0f} s)", flush=True)
    return row


def model_makers(
    split: Split, seed: int, feats: np.ndarray | None, side: sp.csr_matrix | None
) -> list[Callable[[], Callable[[np.ndarray], np.ndarray]]]:
    """Popularity, item-kNN, ALS, EASE, ours before EASE, ours (and ours with tag features), in order.

    "Ours before EASE" is the same fitted model scored without its EASE part (fitted once for both).
    """
    cfg = replace(OURS_DEFAULT, seed=seed)
    fitted: dict[str, CFModel] = {}

    def main_model() -> CFModel:
        if "m" not in fitted:
            fitted["m"] = ours(split, cfg, None, None if side is None else TAG_WEIGHT * side)
        return fitted["m"]

    makers = [
        lambda: popularity(split),
        lambda: item_knn(split),
        lambda: als(split, seed=seed, **ALS_DEFAULT),
        lambda: ease(split, EASE_LAMBDA),
        lambda: without_ease(main_model()),
        lambda: main_model().score_users,
    ]
    if feats is not None:
        tagged = None if side is None else TAG_WEIGHT * side
        makers.append(lambda: ours(split, cfg, feats, tagged).score_users)
    return makers


def grid(split: Split, seed: int, side: sp.csr_matrix | None) -> None:
    """Validation figures for every grid point: ALS, our factor start (epochs=0), EASE, our EASE blend."""
    for p in ALS_GRID:
        timed(
            f"ALS reg {p['reg']} alpha {p['alpha']}",
            lambda p=p: als(split, 64, iters=15, seed=seed, **p),
            split,
        )
    for p in OURS_GRID:
        cfg = replace(OURS_DEFAULT, epochs=0, ease_weight=0.0, seed=seed, **p)
        name = f"ours exp {p['als_reg_exponent']} reg {p['als_reg']:.3g} alpha {p['confidence_alpha']}"
        timed(name, lambda cfg=cfg: factors_only(split, cfg), split)
    for lam in EASE_GRID:
        timed(f"EASE lambda {lam:g}", lambda lam=lam: ease(split, lam), split)
    for beta in sorted({b for _, b in OURS_EASE_GRID}):
        tagged = None if side is None or beta == 0 else beta * side
        model = ours(split, replace(OURS_DEFAULT, seed=seed), None, tagged)
        for w, b in OURS_EASE_GRID:
            if b == beta:
                model.config = replace(model.config, ease_weight=w)
                timed(f"ours EASE weight {w:g} tag weight {beta:g}", lambda m=model: m.score_users, split)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=[0, 1, 2], help="one leave-one-out split each"
    )
    parser.add_argument(
        "--validate", action="store_true", help="hold out a second item per user; never looks at test items"
    )
    parser.add_argument("--grid", action="store_true", help="with --validate: the tuning grid of both models")
    parser.add_argument("--tags", action="store_true", help="also run our model with tag-based item features")
    parser.add_argument(
        "--no-side", action="store_true", help="our EASE profile without the artists a user tagged"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "cf.md")
    args = parser.parse_args()
    torch.set_num_threads(2)
    t_start = time.perf_counter()
    df, items = load()
    n_users, n_items = int(df.u.max()) + 1, len(items)
    feats = tag_features(items) if args.tags else None
    side = None if args.no_side else user_tags(items)
    profile = "plays" if side is None else f"plays + {TAG_WEIGHT:g} x the user's tagged artists"
    names = [
        "popularity",
        "item-kNN (cosine, 200 neighbours)",
        "implicit ALS ({factors} f, reg {reg}, alpha {alpha}, {iters} it)".format(**ALS_DEFAULT),
        f"EASE (lambda {EASE_LAMBDA:g}, log1p plays, artists with >= 2 users)",
        "songrec CFModel before: factors + head, no EASE (no item features)",
        f"songrec CFModel: factors + head + {EASE_WEIGHT:g} x EASE on {profile}",
    ] + (["songrec CFModel (+ tag features)"] if feats is not None else [])
    results: dict[str, list[tuple[float, float, float]]] = {n: [] for n in names}
    users_eval = []
    for seed in args.seeds:
        split = leave_one_out(df, n_users, n_items, seed)
        if args.validate:
            split = leave_one_out(split.train, n_users, n_items, seed + 1)
        if args.grid:
            grid(split, seed, side)
            continue
        users_eval.append(len(split.test_users))
        print(f"-- split seed {seed}", flush=True)
        makers = model_makers(split, seed, feats, side)
        for name, make in zip(names, makers, strict=True):
            results[name].append(timed(name, make, split)[1:])
    if args.grid:
        return

    def cell(values: list[float], digits: int = 4) -> str:
        arr = np.asarray(values)
        return f"{arr.mean():.{digits}f} ± {arr.std():.{digits}f}" if len(arr) > 1 else f"{arr[0]:.{digits}f}"

    als_name, ease_name, ours_name = names[2], names[3], names[5]

    def ratio(m: int, base: str = als_name) -> float:
        pairs = zip(results[ours_name], results[base], strict=True)
        return float(np.mean([o[m] / a[m] for o, a in pairs]))

    best = [max(a[1], e[1]) for a, e in zip(results[als_name], results[ease_name], strict=True)]
    vs_best = float(np.mean([o[1] / b for o, b in zip(results[ours_name], best, strict=True)]))

    lines = [
        f"# CF baseline: Last.fm HetRec 2011 leave-one-out ({'validation' if args.validate else 'test'})",
        "",
        f"Data: `lastfm-hetrec2011-2k/user_artists.dat.gz`, {n_users} users x {n_items} artists, "
        f"{len(df)} interactions (play counts). For each split seed ({', '.join(map(str, args.seeds))}) one "
        f"random interaction is held out per user with >= 2 interactions ({users_eval[0]} users); models rank "
        "**all** artists the user has not played in training (full ranking, no sampled negatives). "
        "Figures are mean ± std over the splits.",
        "",
        f"| model | HR@{K} | NDCG@{K} | train+eval s |",
        "| --- | --- | --- | --- |",
        *[
            f"| {n} | {cell([r[0] for r in rs])} | {cell([r[1] for r in rs])} | {np.mean([r[2] for r in rs]):.0f} |"
            for n, rs in results.items()
        ],
        "",
        f"Ours / ALS on the same split, averaged: HR@{K} {ratio(0):.3f}x, NDCG@{K} {ratio(1):.3f}x; "
        f"ours / EASE: HR@{K} {ratio(0, ease_name):.3f}x, NDCG@{K} {ratio(1, ease_name):.3f}x; "
        f"ours / the better of EASE and ALS, NDCG@{K}: {vs_best:.3f}x. "
        f"Ours / popularity HR@{K}: "
        f"{np.mean([o[0] / p[0] for o, p in zip(results[ours_name], results['popularity'], strict=True)]):.2f}x.",
        "",
        "Hyper-parameters of ALS, EASE (lambda), our factor start and our EASE weight and tag weight were "
        "all chosen with `--validate --grid --seeds 0` (a second held-out item per user; test items never "
        "seen). Our EASE profile holds the artists the user tagged (HetRec `user_taggedartists`), side "
        "information the other rows do not get; the before row and the EASE row show what the blend and "
        "the tags each add.",
        f"CFModel config: `{OURS_DEFAULT}`.",
        f"Total wall time {time.perf_counter() - t_start:.0f} s on {torch.get_num_threads()} torch threads.",
    ]
    text = "\n".join(lines) + "\n"
    write_report(text, args.out)


if __name__ == "__main__":
    main()
