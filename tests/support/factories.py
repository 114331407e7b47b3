"""Small catalogues built in code, in the canonical schema, for tests that need only a few rows."""

from __future__ import annotations

import random
import string
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from songrec.catalog.schema import AUDIO_FEATURES

if TYPE_CHECKING:
    from training.text_embedding import TextConfig


def track_id(rng: random.Random) -> str:
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(22))


def make_catalog(n: int = 400, seed: int = 0, clusters: int = 4) -> pd.DataFrame:
    """Tracks in `clusters` sonic styles, with a genre label that matches the style."""
    rng = random.Random(seed)
    nprng = np.random.default_rng(seed)
    centres = nprng.random((clusters, len(AUDIO_FEATURES)))
    rows = []
    for i in range(n):
        c = i % clusters
        feats = np.clip(centres[c] + nprng.normal(0, 0.05, len(AUDIO_FEATURES)), 0, 1)
        row = {name: float(v) for name, v in zip(AUDIO_FEATURES, feats, strict=True)}
        row["duration_ms"] = 120_000 + row["duration_ms"] * 240_000
        row["tempo"] = 60 + row["tempo"] * 140
        row["loudness"] = -30 + row["loudness"] * 28
        rows.append(
            {
                "track_id": track_id(rng),
                "name": f"Song {i}",
                "artists": [f"Artist {i % 37}"],
                "album": f"Album {i % 50}",
                "release_date": str(1960 + (i * 7) % 60),
                "year": 1960 + (i * 7) % 60,
                "popularity": float(nprng.integers(0, 100)),
                "explicit": int(i % 5 == 0),
                "key": int(i % 13) - 1,  # includes -1 (no key)
                "mode": int(i % 2),
                **row,
                "genre": ["rock", "pop", "rap", "edm"][c % 4],
                "subgenre": None,
                "year_imputed": False,
                "popularity_imputed": False,
                "explicit_imputed": False,
                "sources": "test",
            }
        )
    return pd.DataFrame(rows)


def small_text_config(genres_path: Path, **kw: object) -> TextConfig:
    """A text branch small enough for unit tests: SVD-8 -> 8 -> 4, three epochs."""
    from songrec.models.autoencoders import DeepAEConfig
    from training.autoencoder import TrainConfig
    from training.text_embedding import TextConfig

    base = TextConfig(
        svd_dim=8,
        model=DeepAEConfig(encoder=(8,), latent=4),
        train=TrainConfig(epochs=3, batch_size=64, patience=3),
        genres_path=str(genres_path),
    )
    return replace(base, **kw)  # type: ignore[arg-type]
