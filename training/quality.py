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
"""

from __future__ import annotations

import argparse
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

from songrec import config as songrec_config
from songrec.features import first_artist
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
    from songrec.features import model_inputs

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


# ----------------------------------------------------------------------------- the comparison


@dataclass(frozen=True)
class Comparison:
    """What the side-by-side table trains; small knobs so the protocol runs in minutes on 2 cores."""

    artist_components: int = 4
    strong_dim: int = 32
    strong_weight: float = 2.0  # best of 0.5/1/2/3 for the baseline on held-out playlists
    text_weight: float = 1.0
    epochs: int | None = None  # override the autoencoders' epoch cap (None: their FAST recipe)
    use_cache: bool = True
    progress: bool = True


def raw_features(catalog: pd.DataFrame) -> np.ndarray:
    """The 26 scaled paper features (the pipeline reads only model_inputs' columns)."""
    from songrec.features import FeaturePipeline

    return FeaturePipeline.fit(catalog).transform(catalog)


def pca_features(raw: np.ndarray, n: int = 10) -> np.ndarray:
    from sklearn.decomposition import PCA

    return PCA(n_components=n, random_state=0).fit_transform(raw).astype(np.float32)


def first_artist_genre_svd(
    catalog: pd.DataFrame, genres: Mapping[str, list[str]], dim: int = 32
) -> np.ndarray:
    """TF-IDF over the first artist's genres (whole names), reduced by SVD; zeros when unknown."""
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    from training.text_embedding import _identity, norm_name

    docs = [[norm_name(g) for g in genres.get(first_artist(a).strip(), [])] for a in catalog["artists"]]
    matrix = TfidfVectorizer(analyzer=_identity, min_df=2, sublinear_tf=True).fit_transform(docs)
    svd = TruncatedSVD(n_components=min(dim, matrix.shape[1] - 1), random_state=0)
    return normalize(svd.fit_transform(matrix)).astype(np.float32)


def job_embedding(
    catalog: pd.DataFrame, job: object, comparison: Comparison, what: str = "served"
) -> np.ndarray:
    """Train an EmbeddingJob on the catalogue (cached); ``what``: served, audio or text code.

    One fit fills the cache for all three, so the text-alone and fused rows share a training run.
    """
    from dataclasses import asdict

    from training.embedding import fit_job

    spec = asdict(job)  # type: ignore[call-overload]
    if spec.get("colisted") is None:  # jobs without the stage keep the keys they had before it existed
        spec.pop("colisted", None)
        spec.pop("colisted_weight", None)

    def key(part: str) -> dict[str, object]:
        return {"catalog": catalogue_key(catalog), "job": spec, "what": part, "v": 1}

    def build() -> np.ndarray:
        fitted = fit_job(catalog, job, progress=comparison.progress)  # type: ignore[arg-type]
        parts = {"served": fitted.embeddings, "audio": fitted.audio}
        if fitted.text is not None:
            parts["text"] = fitted.text.embeddings
        if fitted.colisted is not None:
            parts["colisted"] = fitted.colisted.embeddings
        for part, value in parts.items():
            if part != what and comparison.use_cache:
                cached(key(part), lambda v=value: v)  # type: ignore[misc]
        return parts[what]

    return cached(key(what), build, comparison.use_cache)


def with_epochs(job: object, epochs: int | None) -> object:
    """The job with both autoencoders' epoch caps set (the search trains short runs)."""
    from dataclasses import replace

    if epochs is None:
        return job
    job = replace(job, train=replace(job.train, epochs=epochs))  # type: ignore[type-var,attr-defined]
    if job.text is not None:  # type: ignore[attr-defined]
        job = replace(job, text=replace(job.text, train=replace(job.text.train, epochs=epochs)))  # type: ignore[type-var,attr-defined]
    return job


def describe_job(job: object) -> str:
    """E.g. "deep 64-32-10 elu + text SVD-128 -> 32 (w=3)"."""
    model = job.model  # type: ignore[attr-defined]
    if model.kind == "cae":
        audio = f"CAE {model.n_inputs}-{model.hidden}"
    else:
        audio = f"deep {'-'.join(map(str, (*model.encoder, model.latent)))} {'/'.join(model.activations)}"
    text = job.text  # type: ignore[attr-defined]
    out = audio
    if text is not None:
        out += f" + text {text.kind} SVD-{text.svd_dim} -> {text.model.latent} (w={job.text_weight:g})"  # type: ignore[attr-defined]
    colisted = getattr(job, "colisted", None)
    if colisted is not None:
        out += f" + co-listing {colisted.dim}-d (w={job.colisted_weight:g})"  # type: ignore[attr-defined]
    return out


def comparison_methods(catalog: pd.DataFrame, comparison: Comparison | None = None) -> list[Method]:
    """Every row of the side-by-side table, trained on the whole catalogue."""
    from songrec.features import FeatureConfig
    from songrec.models.autoencoders import CAEConfig, DeepAEConfig
    from training.embedding import DEFAULT_JOB, EmbeddingJob
    from training.fusion import fuse
    from training.text_embedding import TextConfig, load_genres

    c = comparison or Comparison()
    n = len(catalog)
    raw = raw_features(catalog)
    genres, _ = load_genres(TextConfig())
    strong = fuse([raw, first_artist_genre_svd(catalog, genres, c.strong_dim)], [1.0, c.strong_weight])
    methods = [
        Method(
            "random",
            vectors=np.random.default_rng(0).standard_normal((n, 10)).astype(np.float32),
            note="baseline",
        ),
        Method("popularity", scores=catalog["popularity"].fillna(0).to_numpy(np.float64), note="baseline"),
        Method("raw 26 features", vectors=raw, note="baseline"),
        Method("PCA-10 of raw", vectors=pca_features(raw, 10), note="baseline"),
        Method("raw + artist-genre TF-IDF/SVD", vectors=strong, note="strong baseline"),
    ]
    artist = FeatureConfig(artist_components=c.artist_components)
    for label, model in (("CAE 26-10", CAEConfig()), ("deep AE 64-32-10", DeepAEConfig())):
        for suffix, features in (("", FeatureConfig()), (f" + artist PCA-{c.artist_components}", artist)):
            job = with_epochs(EmbeddingJob(model=model, features=features), c.epochs)
            methods.append(Method(label + suffix, vectors=job_embedding(catalog, job, c), note="audio AE"))
    default = with_epochs(DEFAULT_JOB, c.epochs)
    text_job = default if default.text is not None else with_epochs(EmbeddingJob(text=TextConfig()), c.epochs)  # type: ignore[attr-defined]
    t = text_job.text  # type: ignore[attr-defined]
    text_name = f"text AE alone ({t.kind} SVD-{t.svd_dim} -> {t.model.latent})"
    methods.append(Method(text_name, vectors=job_embedding(catalog, text_job, c, "text"), note="text AE"))
    if default.text is None:  # type: ignore[attr-defined]
        methods.append(
            Method("fused CAE + text AE (w=1)", vectors=job_embedding(catalog, text_job, c), note="fused")
        )
    if getattr(default, "colisted", None) is not None:
        co = job_embedding(catalog, default, c, "colisted")
        methods.append(Method(f"co-listing encoder alone ({co.shape[1]}-d)", vectors=co, note="co-listing"))
    label = "default (songrec train): " + describe_job(default)
    methods.append(Method(label, vectors=job_embedding(catalog, default, c), note="default"))
    return methods


# ----------------------------------------------------------------------------- report

METRICS: tuple[tuple[str, str], ...] = (
    ("genre_p10", "genre P@10"),
    ("subgenre_p10", "subgenre P@10"),
    ("artist_hit10", "same-artist HR@10"),
    ("decade_p10", "decade P@10"),
    ("r_precision", "playlist R-prec"),
    ("ndcg100", "playlist NDCG@100"),
)


def markdown_table(
    results: Sequence[tuple[Method, Mapping[str, float]]], best_baseline: float | None = None
) -> str:
    head = (
        "| method | kind | dim | " + " | ".join(label for _, label in METRICS) + " | NDCG vs best baseline |"
    )
    lines = [head, "|" + "---|" * (len(METRICS) + 4)]
    for method, r in results:
        ratio = f"{r['ndcg100'] / best_baseline:.2f}x" if best_baseline else ""
        cells = " | ".join(f"{r[key]:.3f}" for key, _ in METRICS)
        lines.append(f"| {method.name} | {method.note} | {int(r['dim']) or '-'} | {cells} | {ratio} |")
    return "\n".join(lines)


def best_baseline_ndcg(results: Sequence[tuple[Method, Mapping[str, float]]]) -> float:
    return max(r["ndcg100"] for m, r in results if "baseline" in m.note)


def bar_chart(results: Sequence[tuple[Method, Mapping[str, float]]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [m.name for m, _ in results]
    fig, axes = plt.subplots(
        1, len(METRICS), figsize=(3.0 * len(METRICS), 0.42 * len(names) + 1.8), sharey=True
    )
    y = np.arange(len(names))
    colours = {
        "baseline": "#9e9e9e",
        "strong baseline": "#616161",
        "audio AE": "#42a5f5",
        "text AE": "#ab47bc",
        "co-listing": "#26a69a",
    }
    for ax, (key, label) in zip(axes, METRICS, strict=True):
        values = [r[key] for _, r in results]
        ax.barh(y, values, color=[colours.get(m.note, "#ef6c00") for m, _ in results])
        ax.set_title(label, fontsize=9)
        ax.set_xlim(0, max(max(values) * 1.15, 1e-3))
        ax.tick_params(axis="x", labelsize=7)
    axes[0].set_yticks(y, names, fontsize=8)
    axes[0].invert_yaxis()
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run_protocol(
    methods: Sequence[Method], data: EvalSet, rule: str = "max"
) -> list[tuple[Method, dict[str, float]]]:
    return [(m, evaluate(m, data, rule)) for m in methods]


# ----------------------------------------------------------------------------- command line


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


def heldout_table(
    results: Sequence[tuple[Method, Mapping[str, float]]], n_train: int, n_held: int, n_tracks: int
) -> list[str]:
    best = best_baseline_ndcg(results) if any("baseline" in m.note for m, _ in results) else None
    return [
        "## Held-out playlists (the headline)",
        "",
        f"Playlists are split by a fixed hash of playlist_id (training/colisting.py): the co-listing stage of "
        f"the default trains on the other playlists with every track of a held-out playlist removed. Every row "
        f"below is scored on the {n_held} held-out playlists with >= {MIN_PLAYLIST} tracks (same seeds, same "
        f"candidates: all TidyTuesday tracks), and its neighbour metrics on the {n_tracks:,} tracks listed in "
        f"them, none of which the co-listing stage saw co-listed ({n_train} playlists with >= {MIN_PLAYLIST} "
        "tracks are on the training side). The all-playlist table below is kept for methods that never see playlists.",
        "",
        markdown_table(results, best),
    ]


@dataclass
class HeldOut:
    results: list[tuple[Method, dict[str, float]]]
    n_train: int
    n_held: int
    n_tracks: int


def headline(results: Sequence[tuple[Method, Mapping[str, float]]]) -> str:
    """The default's NDCG@100 against the best baseline's, or "" when either is missing."""
    default = next((r for m, r in results if m.note == "default"), None)
    if default is None or not any("baseline" in m.note for m, _ in results):
        return ""
    best = best_baseline_ndcg(results)
    return (
        f"Default embedding NDCG@100 / best baseline NDCG@100 on held-out playlists = "
        f"{default['ndcg100']:.3f} / {best:.3f} = **{default['ndcg100'] / best:.2f}x** (target >= 1.3x)."
    )


def write_report(
    results: Sequence[tuple[Method, Mapping[str, float]]],
    data: EvalSet,
    out: Path,
    title: str,
    notes: Sequence[str] = (),
    heldout: HeldOut | None = None,
) -> Path:
    """reports/quality.md (tables) and reports/quality.png (bar chart of the headline table)."""
    out.mkdir(parents=True, exist_ok=True)
    best = best_baseline_ndcg(results) if any("baseline" in m.note for m, _ in results) else None
    lines = [f"# {title}", ""]
    if heldout is not None:
        lines += [*heldout_table(heldout.results, heldout.n_train, heldout.n_held, heldout.n_tracks), ""]
        summary = headline(heldout.results)
        lines += [summary, ""] if summary else []
    lines += [
        "## All playlists" if heldout is not None else "## Scores",
        "",
        f"{data.n:,} TidyTuesday tracks scored (embeddings fitted on the whole catalogue); "
        f"{len(data.playlists)} playlists with >= {MIN_PLAYLIST} tracks, {N_SEEDS} fixed seeds each, candidates ranked "
        f"by max similarity (-squared L2) to a seed. Genre, subgenre and playlist ids are never model input. Rows "
        "marked co-listing or default trained on most of these playlists' co-listings, so only the table above "
        "compares them fairly.",
        "",
        markdown_table(results, best),
        "",
        *notes,
    ]
    path = out / "quality.md"
    path.write_text("\n".join(lines).rstrip() + "\n")
    chart = heldout.results if heldout is not None else results
    bar_chart(chart, out / "quality.png", title + (" (held-out playlists)" if heldout is not None else ""))
    payload = {"all_playlists": {m.name: r for m, r in results}}
    if heldout is not None:
        payload["heldout_playlists"] = {m.name: r for m, r in heldout.results}
    (out / "quality.json").write_text(json.dumps(payload, indent=1))
    return path


def add_evaluate_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--catalog", type=Path, help="catalogue file or folder (default: SONGREC_DATA, cache)"
    )
    parser.add_argument(
        "--playlists",
        type=Path,
        help=f"TidyTuesday spotify_songs.csv(.gz) (default: SONGREC_DATA/{PLAYLISTS_RELPATH})",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("reports"), help="folder for quality.md / quality.png"
    )
    parser.add_argument(
        "--artifact", action="store_true", help="also score the embedding the current artifact serves"
    )
    parser.add_argument("--only-artifact", action="store_true", help="score only the current artifact (fast)")
    parser.add_argument("--epochs", type=int, help="cap the autoencoders' epochs (quicker, rougher)")
    parser.add_argument(
        "--no-cache", action="store_true", help="retrain everything instead of reusing cached codes"
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads (1 is fastest on a busy 2-core box)"
    )
    parser.add_argument(
        "--no-heldout", "--no-finetune", action="store_true", help="skip the held-out playlists table"
    )
    parser.add_argument("--quiet", action="store_true")


def artifact_method(catalog: pd.DataFrame) -> Method:
    """The served embedding of the current artifact, aligned to ``catalog`` rows by track id."""
    from songrec.artifacts import ArtifactStore
    from songrec.config import artifacts_dir

    store = ArtifactStore(artifacts_dir(), "embedding")
    version, manifest, _ = store.resolve_good()
    path = store.path(version)
    served = np.load(path / "index" / "embeddings.npy")
    ids = pd.read_parquet(path / "catalog.parquet", columns=["track_id"])["track_id"].astype(str).to_numpy()
    position = pd.Series(np.arange(len(ids)), index=ids)
    position = position[~position.index.duplicated()]
    wanted = catalog["track_id"].astype(str)
    vectors = np.zeros((len(catalog), served.shape[1]), dtype=np.float32)
    known = wanted.isin(position.index).to_numpy()
    vectors[known] = served[position.loc[wanted[known]].to_numpy()]
    if not known.all():
        log.warning(
            "%d catalogue tracks are not in artifact %s; they score as the origin", (~known).sum(), version
        )
    return Method(f"current artifact {version}", vectors=vectors, note="served")


def evaluate_command(args: argparse.Namespace) -> int:
    """`songrec evaluate`: the side-by-side table (or only the served artifact)."""
    import sys

    from songrec.artifacts import ArtifactError
    from songrec.catalog import CatalogError, load_default_catalogue

    torch.set_num_threads(max(1, int(args.threads)))
    try:
        catalog = load_default_catalogue(args.catalog).frame.reset_index(drop=True)
        memberships = read_memberships(args.playlists) if args.playlists else None
        data = load_eval_set(catalog, memberships)
        methods: list[Method] = []
        if not args.only_artifact:
            comparison = Comparison(epochs=args.epochs, use_cache=not args.no_cache, progress=not args.quiet)
            methods = comparison_methods(catalog, comparison)
        if args.artifact or args.only_artifact:
            methods.append(artifact_method(catalog))
    except (CatalogError, QualityError, ArtifactError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    results = run_protocol(methods, data)
    held = None if args.no_heldout else heldout_results(methods, data)
    path = write_report(results, data, args.out, "Embedding quality on TidyTuesday playlists", heldout=held)
    print(path.read_text())
    print(
        f"scored {len(methods)} methods in {time.perf_counter() - started:.0f}s; chart: {args.out / 'quality.png'}"
    )
    return 0
