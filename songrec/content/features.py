"""The contractive-autoencoder paper's 26 inputs, as one fitted and saved sklearn pipeline.

12 numeric features min-max scaled, mode and explicit as 0/1, key one-hot over 12 pitch
classes (a key of -1, "no key detected", becomes all zeros). An optional artist block adds
the PCA of each first artist's mean features, so songs by similar-sounding artists sit closer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder

from songrec.catalog.schema import BINARY_FEATURES, KEY_COLUMN, NUMERIC_FEATURES

N_KEYS = 12
N_BASE_FEATURES = len(NUMERIC_FEATURES) + len(BINARY_FEATURES) + N_KEYS  # 26


@dataclass(frozen=True)
class FeatureConfig:
    artist_components: int = 0  # 0 = no artist embedding (the default until measured otherwise)
    artist_weight: float = 1.0


def first_artist(artists: object) -> str:
    if isinstance(artists, list | tuple | np.ndarray) and len(artists):
        return str(artists[0])
    if isinstance(artists, str):
        return artists
    return ""


class ArtistPCA(BaseEstimator, TransformerMixin):
    """Mean scaled features per first artist -> PCA(n): one small vector per artist.

    Codes are scaled into [0, 1] so a sigmoid decoder can reconstruct them; artists unseen at
    fit time get 0.5, the centre of the PCA space: the "average artist", which neither helps
    nor misleads.
    """

    def __init__(self, n_components: int = 4, weight: float = 1.0) -> None:
        self.n_components = n_components
        self.weight = weight

    def fit(self, X: tuple[np.ndarray, pd.Series], y: object = None) -> ArtistPCA:
        base, artists = X
        frame = pd.DataFrame(base).assign(_artist=artists.to_numpy())
        means = frame.groupby("_artist").mean()
        n = min(self.n_components, means.shape[0], means.shape[1])
        self.pca_ = PCA(n_components=n, random_state=0).fit(means.to_numpy())
        codes = self.pca_.transform(means.to_numpy())
        scale = np.abs(codes).max(axis=0)
        self.scale_ = np.where(scale > 0, scale, 1.0)
        self.table_ = dict(zip(means.index, (codes / self.scale_ + 1.0) / 2.0, strict=True))
        return self

    def transform(self, X: tuple[np.ndarray, pd.Series]) -> np.ndarray:
        _, artists = X
        centre = np.full(self.pca_.n_components_, 0.5)
        rows = [self.table_.get(a, centre) for a in artists]
        return np.asarray(rows, dtype=np.float64).reshape(len(rows), -1) * self.weight


def _base_transformer() -> ColumnTransformer:
    return ColumnTransformer(
        [
            ("numeric", MinMaxScaler(clip=True), list(NUMERIC_FEATURES)),
            ("binary", "passthrough", list(BINARY_FEATURES)),
            (
                "key",
                OneHotEncoder(categories=[list(range(N_KEYS))], handle_unknown="ignore", sparse_output=False),
                [KEY_COLUMN],
            ),
        ],
        verbose_feature_names_out=False,
    )


@dataclass
class FeaturePipeline:
    """Fit once on the catalogue, save beside the model, and reuse for every query."""

    config: FeatureConfig
    base: Pipeline
    artist: ArtistPCA | None = None

    @classmethod
    def fit(cls, catalog: pd.DataFrame, config: FeatureConfig | None = None) -> FeaturePipeline:
        config = config or FeatureConfig()
        base = Pipeline([("columns", _base_transformer())]).fit(model_inputs(catalog))
        artist = None
        if config.artist_components > 0:
            scaled = base.transform(model_inputs(catalog))
            artist = ArtistPCA(config.artist_components, config.artist_weight).fit(
                (scaled, catalog["artists"].map(first_artist))
            )
        return cls(config=config, base=base, artist=artist)

    @property
    def n_features(self) -> int:
        extra = self.artist.pca_.n_components_ if self.artist is not None else 0
        return N_BASE_FEATURES + extra

    @property
    def feature_names(self) -> list[str]:
        names = list(self.base.named_steps["columns"].get_feature_names_out())
        if self.artist is not None:
            names += [f"artist_pc{i}" for i in range(self.artist.pca_.n_components_)]
        return names

    def transform(self, catalog: pd.DataFrame) -> np.ndarray:
        scaled = self.base.transform(model_inputs(catalog))
        if self.artist is not None:
            extra = self.artist.transform((scaled, catalog["artists"].map(first_artist)))
            scaled = np.hstack([scaled, extra])
        return scaled.astype(np.float32)

    def save(self, path: Path) -> None:
        joblib.dump({"config": self.config, "base": self.base, "artist": self.artist}, path)

    @classmethod
    def load(cls, path: Path) -> FeaturePipeline:
        state = joblib.load(path)
        return cls(config=state["config"], base=state["base"], artist=state["artist"])


def model_inputs(catalog: pd.DataFrame) -> pd.DataFrame:
    """Only the columns the paper uses, as floats; mode/explicit arrive as 0/1 already."""
    columns = [*NUMERIC_FEATURES, *BINARY_FEATURES, KEY_COLUMN]
    missing = [c for c in columns if c not in catalog.columns]
    if missing:
        raise ValueError(f"catalogue is missing feature columns: {', '.join(missing)}")
    frame = catalog[columns].astype("float64")
    frame[KEY_COLUMN] = frame[KEY_COLUMN].astype("int64")
    return frame
