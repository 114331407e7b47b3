"""Embedding quality on real playlists: is a track's neighbourhood musically right?

Reconstruction loss says how well an autoencoder copies its input, not whether its neighbours
make sense. This protocol scores an embedding on the TidyTuesday tracks (each listed in real,
human-made Spotify playlists), with labels no model ever sees as input:

* neighbour metrics (10 nearest among TidyTuesday tracks, self excluded): share with the same
  playlist genre and subgenre (precision@10), share of tracks with another track by the same
  first artist in their 10 (hit rate@10), share of neighbours from the same decade;
* playlist co-membership: for each playlist with >= 10 tracks, 5 seeds (fixed per playlist)
  rank every other TidyTuesday track by its largest similarity to a seed (the rule serving uses
  for several anchors); R-precision and NDCG@100 of the playlist's remaining tracks.

Similarity is the negative squared L2 distance, what the HNSW index serves. Embeddings may be
computed over the whole catalogue; only TidyTuesday rows are scored.

The protocol lives here; the methods it compares are in training/quality_methods.py and the report
(reports/quality.md, `songrec evaluate`) in training/quality_report.py.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from songrec import settings as songrec_config
from songrec.content.features import first_artist
from training.colisting import PLAYLISTS_RELPATH, CoListingError, is_heldout, playlists_path
from training.colisting import read_memberships as read_playlist_file

log = logging.getLogger(__name__)

K_NEIGHBOURS = 10
N_SEEDS = 5
MIN_PLAYLIST = 10
K_RANK = 100
NEIGHBOUR_QUERIES = 6000  # tracks whose 10 neighbours are scored (fixed sample; s.e. of a share < 0.007)
#: Columns of the playlist source that hold labels: never model input.
LABEL_COLUMNS: tuple[str, ...] = (
    "genre",
    "subgenre",
    "playlist_genre",
    "playlist_subgenre",
    "playlist_id",
    "playlist_name",
)


class QualityError(RuntimeError):
    """The protocol cannot run (no playlist file, no overlap with the catalogue)."""


# ----------------------------------------------------------------------------- evaluation set


@dataclass
class EvalSet:
    """The scored tracks: catalogue rows, their labels (integer codes, -1 unknown), playlists."""

    rows: np.ndarray
    genre: np.ndarray
    subgenre: np.ndarray
    artist: np.ndarray
    decade: np.ndarray
    playlists: dict[str, np.ndarray]  # playlist id -> local indices into rows

    @property
    def n(self) -> int:
        return len(self.rows)

    @classmethod
    def from_labels(
        cls,
        rows: Sequence[int] | np.ndarray,
        genre: Sequence[object],
        subgenre: Sequence[object],
        artist: Sequence[object],
        decade: Sequence[object],
        playlists: Mapping[str, Sequence[int]] | None = None,
    ) -> EvalSet:
        def codes(values: Sequence[object]) -> np.ndarray:
            return pd.factorize(pd.Series(list(values), dtype=object), use_na_sentinel=True)[0].astype(
                np.int64
            )

        return cls(
            rows=np.asarray(rows, dtype=np.int64),
            genre=codes(genre),
            subgenre=codes(subgenre),
            artist=codes(artist),
            decade=codes(decade),
            playlists={str(k): np.asarray(v, dtype=np.int64) for k, v in (playlists or {}).items()},
        )

    def subset_playlists(self, ids: Iterable[str]) -> EvalSet:
        keep = set(ids)
        return EvalSet(
            self.rows, self.genre, self.subgenre, self.artist, self.decade,
            {k: v for k, v in self.playlists.items() if k in keep},
        )  # fmt: skip


def default_playlists_path() -> Path:
    path = playlists_path()
    if path is None:
        raise QualityError(
            f"The quality protocol needs the TidyTuesday playlists file: set SONGREC_DATA to the folder "
            f"that holds {PLAYLISTS_RELPATH}, or pass --playlists."
        )
    return path


def read_memberships(path: Path) -> pd.DataFrame:
    try:
        return read_playlist_file(path)
    except CoListingError as exc:
        raise QualityError(str(exc)) from None


def load_eval_set(
    catalog: pd.DataFrame, memberships: pd.DataFrame | None = None, min_playlist: int = MIN_PLAYLIST
) -> EvalSet:
    """TidyTuesday tracks of ``catalog`` with their labels and playlists of >= ``min_playlist`` tracks."""
    if memberships is None:
        memberships = read_memberships(default_playlists_path())
    position = pd.Series(np.arange(len(catalog)), index=catalog["track_id"].astype(str).to_numpy())
    position = position[~position.index.duplicated()]
    listed = memberships[memberships["track_id"].isin(position.index)]
    track_ids = pd.unique(listed["track_id"])
    if len(track_ids) == 0:
        raise QualityError(
            "No catalogue track appears in the playlists file: is it the TidyTuesday catalogue?"
        )
    rows = position.loc[track_ids].to_numpy()
    local = pd.Series(np.arange(len(rows)), index=track_ids)
    frame = catalog.iloc[rows]
    playlists = {
        pid: local.loc[group["track_id"]].to_numpy()
        for pid, group in listed.groupby("playlist_id", sort=True)
        if len(group) >= min_playlist
    }
    years = pd.to_numeric(frame["year"], errors="coerce")
    return EvalSet.from_labels(
        rows,
        genre=frame["genre"].astype(object).where(frame["genre"].notna(), None).tolist(),
        subgenre=frame["subgenre"].astype(object).where(frame["subgenre"].notna(), None).tolist(),
        artist=frame["artists"].map(first_artist).replace("", None).tolist(),
        decade=(years // 10 * 10).astype(object).where(years.notna(), None).tolist(),
        playlists=playlists,
    )


def split_playlists(ids: Iterable[str]) -> tuple[list[str], list[str]]:
    """(train ids, held-out ids) by the co-listing stage's fixed hash rule (training/colisting.py)."""
    ordered = sorted(set(ids))
    return [p for p in ordered if not is_heldout(p)], [p for p in ordered if is_heldout(p)]


# ----------------------------------------------------------------------------- metrics


def ndcg_at_k(relevant: np.ndarray, n_relevant: int, k: int = K_RANK) -> float:
    """Binary-relevance NDCG@k of one ranking (``relevant[i]``: is the i-th ranked item relevant)."""
    if n_relevant <= 0:
        return float("nan")
    gains = np.asarray(relevant[:k], dtype=np.float64)
    discounts = 1.0 / np.log2(np.arange(2, len(gains) + 2))
    ideal = (1.0 / np.log2(np.arange(2, min(n_relevant, k) + 2))).sum()
    return float((gains * discounts).sum() / ideal)


def r_precision(relevant: np.ndarray, n_relevant: int) -> float:
    if n_relevant <= 0:
        return float("nan")
    return float(np.asarray(relevant[:n_relevant], dtype=np.float64).sum() / n_relevant)


def _tensor(vectors: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(np.ascontiguousarray(vectors, dtype=np.float32))


def nearest(
    vectors: np.ndarray, k: int = K_NEIGHBOURS, queries: np.ndarray | None = None, chunk: int = 2048
) -> np.ndarray:
    """(len(queries), k) indices of each query row's k nearest other rows by squared L2, exact."""
    x = _tensor(vectors)
    sq = (x * x).sum(1)
    queries = np.arange(len(x)) if queries is None else np.asarray(queries, dtype=np.int64)
    k = min(k, len(x) - 1)
    out = np.empty((len(queries), k), dtype=np.int64)
    for start in range(0, len(queries), chunk):
        rows = torch.as_tensor(queries[start : start + chunk])
        q = x[rows]
        d = sq[rows, None] - 2 * q @ x.T + sq[None, :]
        d[torch.arange(len(rows)), rows] = float("inf")
        out[start : start + len(rows)] = torch.topk(d, k, dim=1, largest=False).indices.numpy()
    return out


def query_sample(n: int, size: int | None = NEIGHBOUR_QUERIES, seed: int = 0) -> np.ndarray:
    """The tracks whose neighbourhoods are scored: all, or a fixed random sample (the costly part)."""
    if size is None or n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


def neighbour_metrics(
    neighbours: np.ndarray, data: EvalSet, queries: np.ndarray | None = None
) -> dict[str, float]:
    """Label agreement of each query track with its neighbours (rows of ``neighbours``)."""
    queries = np.arange(data.n) if queries is None else queries

    def precision(labels: np.ndarray) -> float:
        mine = labels[queries]
        known = mine >= 0
        same = labels[neighbours] == mine[:, None]
        return float(same[known].mean()) if known.any() else float("nan")

    counts = np.bincount(data.artist[data.artist >= 0], minlength=max(int(data.artist.max()) + 1, 1))
    artist = data.artist[queries]
    eligible = (artist >= 0) & (counts[np.maximum(artist, 0)] >= 2)
    hit = (data.artist[neighbours] == artist[:, None]).any(axis=1)
    return {
        "genre_p10": precision(data.genre),
        "subgenre_p10": precision(data.subgenre),
        "artist_hit10": float(hit[eligible].mean()) if eligible.any() else float("nan"),
        "decade_p10": precision(data.decade),
    }


def playlist_seeds(
    data: EvalSet, n_seeds: int = N_SEEDS, seed: int = 0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per playlist (sorted by id): (seed tracks, held-back tracks); the draw depends only on
    the playlist id and ``seed``, so any subset of playlists gets the same seeds."""
    out = []
    for pid in sorted(data.playlists):
        members = np.unique(data.playlists[pid])
        if len(members) <= n_seeds:
            continue
        rng = np.random.default_rng([seed, zlib.crc32(pid.encode())])
        chosen = rng.choice(len(members), size=n_seeds, replace=False)
        mask = np.zeros(len(members), dtype=bool)
        mask[chosen] = True
        out.append((members[mask], members[~mask]))
    return out


def comembership(
    data: EvalSet,
    vectors: np.ndarray | None = None,
    scores: np.ndarray | None = None,
    rule: str = "max",
    n_seeds: int = N_SEEDS,
    seed: int = 0,
    k: int = K_RANK,
) -> dict[str, float]:
    """R-precision and NDCG@k of each playlist's held-back tracks, ranked from its seeds.

    ``vectors``: similarity to the seeds (max or mean over seeds); ``scores``: one fixed score per
    track, the same ranking for every playlist (the popularity baseline).
    """
    if (vectors is None) == (scores is None):
        raise ValueError("give either vectors or scores")
    x = _tensor(vectors) if vectors is not None else None
    sq = (x * x).sum(1) if x is not None else None
    fixed = torch.as_tensor(np.asarray(scores, dtype=np.float64)) if scores is not None else None
    rp, nd = [], []
    for seeds, rest in playlist_seeds(data, n_seeds, seed):
        if x is not None:
            s = x[torch.as_tensor(seeds)]
            sim = -(sq[:, None] - 2 * x @ s.T + (s * s).sum(1)[None, :])  # type: ignore[index]
            score = sim.max(dim=1).values if rule == "max" else sim.mean(dim=1)
            score = score.double()
        else:
            score = fixed.clone()  # type: ignore[union-attr]
        score[torch.as_tensor(seeds)] = -float("inf")
        depth = min(max(k, len(rest)), len(score) - len(seeds))
        top = torch.topk(score, depth).indices.numpy()
        relevant = np.isin(top, rest)
        rp.append(r_precision(relevant, len(rest)))
        nd.append(ndcg_at_k(relevant, len(rest), k))
    return {"r_precision": float(np.mean(rp)), f"ndcg{k}": float(np.mean(nd)), "playlists": len(rp)}


@dataclass
class Method:
    """One row of the comparison: an embedding over catalogue rows, or a fixed score per row."""

    name: str
    vectors: np.ndarray | None = None
    scores: np.ndarray | None = None
    note: str = ""
    info: dict[str, object] = field(default_factory=dict)


def evaluate(
    method: Method,
    data: EvalSet,
    rule: str = "max",
    sample: int | None = NEIGHBOUR_QUERIES,
    queries: np.ndarray | None = None,
) -> dict[str, float]:
    """Every metric of the protocol for one method; inputs are indexed by catalogue row.

    ``queries`` (local indices) replaces the fixed sample of tracks whose neighbourhoods are scored.
    """
    started = time.perf_counter()
    queries = query_sample(data.n, sample) if queries is None else np.asarray(queries, dtype=np.int64)
    if method.vectors is not None:
        vectors = np.asarray(method.vectors, dtype=np.float32)[data.rows]
        result = neighbour_metrics(nearest(vectors, queries=queries), data, queries)
        result.update(comembership(data, vectors=vectors, rule=rule))
    else:
        fixed = np.asarray(method.scores, dtype=np.float64)[data.rows]
        order = np.argsort(-fixed, kind="stable")[: K_NEIGHBOURS + 1]
        neighbours = np.array([[j for j in order if j != i][:K_NEIGHBOURS] for i in queries])
        result = neighbour_metrics(neighbours, data, queries)
        result.update(comembership(data, scores=fixed, rule=rule))
    result["dim"] = float(method.vectors.shape[1]) if method.vectors is not None else 0.0
    log.info(
        "%s: %s (%.1fs)",
        method.name,
        {k: round(v, 4) for k, v in result.items()},
        time.perf_counter() - started,
    )
    return result


# ----------------------------------------------------------------------------- caching


def cache_dir() -> Path:
    path = songrec_config.home() / "cache" / "quality"
    path.mkdir(parents=True, exist_ok=True)
    return path


def catalogue_key(catalog: pd.DataFrame) -> str:
    """Cheap content key of everything a model could read from the catalogue."""
    from songrec.content.features import model_inputs

    hashed = pd.util.hash_pandas_object(model_inputs(catalog), index=False).to_numpy()
    ids = pd.util.hash_pandas_object(catalog["track_id"].astype(str), index=False).to_numpy()
    names = pd.util.hash_pandas_object(catalog["name"].astype(str), index=False).to_numpy()
    artists = pd.util.hash_pandas_object(
        catalog["artists"].map(lambda a: "|".join(map(str, a))), index=False
    ).to_numpy()
    digest = hashlib.sha1(np.stack([hashed, ids, names, artists]).tobytes()).hexdigest()
    return digest[:16]


def cached(key: Mapping[str, object], build: Callable[[], np.ndarray], use_cache: bool = True) -> np.ndarray:
    """An embedding from the cache, or built and stored under ``cache_dir()``."""
    name = hashlib.sha1(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:20]
    path = cache_dir() / f"{name}.npy"
    if use_cache and path.is_file():
        return np.load(path)
    value = np.asarray(build(), dtype=np.float32)
    if use_cache:
        tmp = path.with_suffix(".tmp.npy")
        np.save(tmp, value)
        tmp.replace(path)
        path.with_suffix(".json").write_text(json.dumps(key, sort_keys=True, default=str))
    return value


# ----------------------------------------------------------------------------- held-out playlists


@dataclass
class HeldOut:
    results: list[tuple[Method, dict[str, float]]]
    n_train: int
    n_held: int
    n_tracks: int


def run_protocol(
    methods: Sequence[Method], data: EvalSet, rule: str = "max"
) -> list[tuple[Method, dict[str, float]]]:
    return [(m, evaluate(m, data, rule)) for m in methods]


def heldout_data(data: EvalSet) -> tuple[EvalSet, np.ndarray, int]:
    """(held-out playlists only, their tracks as neighbour queries, number of training playlists)."""
    train_ids, held_ids = split_playlists(data.playlists)
    held = data.subset_playlists(held_ids)
    tracks = np.unique(np.concatenate(list(held.playlists.values()))) if held.playlists else np.zeros(0, int)
    return held, tracks, len(train_ids)


def heldout_results(methods: Sequence[Method], data: EvalSet, rule: str = "max") -> HeldOut:
    """The headline: every method on playlists (and tracks) the co-listing stage never trained on."""
    held, tracks, n_train = heldout_data(data)
    results = [(m, evaluate(m, held, rule, queries=tracks)) for m in methods]
    return HeldOut(results, n_train, len(held.playlists), len(tracks))
