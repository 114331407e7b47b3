"""The rows of the quality table: baselines, both autoencoders, the text and co-listing encoders, the default.

Each is a `training.quality.Method` over the whole catalogue; trained embeddings are cached by catalogue
and job (training.quality.cached), so a rerun of the protocol only scores.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from songrec.content.features import first_artist
from training.quality import Method, cached, catalogue_key

log = logging.getLogger("training.quality")


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
    from songrec.content.features import FeaturePipeline

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
    from songrec.content.features import FeatureConfig
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


def artifact_method(catalog: pd.DataFrame) -> Method:
    """The served embedding of the current artifact, aligned to ``catalog`` rows by track id."""
    from songrec.content.artifacts import ArtifactStore
    from songrec.settings import artifacts_dir

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
