"""A real small artifact (built once per test process) and real services on SQLite files, for the
service, chat and bot end-to-end tests.

The catalogue is synthetic with planted structure (tests/factories.py: four sonic styles, each its own
genre) plus two planted duplicates: "Song 5 - 2011 Remaster" and "Song 6 (Live)" are the same songs as
"Song 5" and "Song 6" for listeners.
"""

from __future__ import annotations

import contextlib
import functools
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pandas as pd

from songrec.engine import Engine
from songrec.service import Service, ServiceConfig
from tests.factories import make_catalog

GENRES = ("rock", "pop", "rap", "edm")  # make_catalog's cluster c has genre GENRES[c]
N_TRACKS = 600


def _root() -> Path:
    base = Path(os.environ.get("SONGREC_HOME") or tempfile.gettempdir())
    return Path(tempfile.mkdtemp(prefix="service-artifacts-", dir=base))


def catalogue(n: int = N_TRACKS, seed: int = 0) -> pd.DataFrame:
    frame = make_catalog(n, seed=seed)
    dupes = frame.iloc[[5, 6]].copy()
    dupes["track_id"] = ["Dup5" + "x" * 18, "Dup6" + "y" * 18]
    dupes["name"] = ["Song 5 - 2011 Remaster", "Song 6 (Live)"]
    dupes["popularity"] = [1.0, 2.0]
    return pd.concat([frame, dupes], ignore_index=True)


def artifact(seed: int = 0, n: int = N_TRACKS, epochs: int = 60) -> Path:
    """Build (once per arguments) and return an artifact root for the planted catalogue."""
    return _artifact(seed, n, epochs)


@functools.cache
def _artifact(seed: int, n: int, epochs: int) -> Path:
    from training.autoencoder import TrainConfig
    from training.embedding import EmbeddingJob, build_embedding_artifact

    root = _root()
    build_embedding_artifact(
        catalogue(n, seed), root, EmbeddingJob(train=TrainConfig(epochs=epochs, seed=seed)), progress=False
    )
    return root


@functools.cache
def engine(seed: int = 0) -> Engine:
    return Engine.load(artifact(seed))


def rows_of_genre(eng: Engine, genre: str) -> list[int]:
    ids = eng.catalog["track_id"].astype(str)
    return [i for i, g in enumerate(eng.catalog["genre"]) if g == genre and not ids.iat[i].startswith("Dup")]


def typical(eng: Engine, genre: str, n: int, skip: int = 0) -> list[int]:
    """The genre's rows nearest its centre in embedding space: a planted taste that is surely distinct."""
    rows = rows_of_genre(eng, genre)
    centre = eng.embeddings[rows].mean(axis=0)
    order = sorted(rows, key=lambda r: float(((eng.embeddings[r] - centre) ** 2).sum()))
    return order[skip : skip + n]


def track_id(eng: Engine, row: int) -> str:
    return str(eng.catalog["track_id"].iat[row])


@contextlib.asynccontextmanager
async def open_service(db_path: Path, **config: Any) -> AsyncIterator[Service]:
    options = {"seed": 0, "cpu_workers": 2, **config}
    service = await Service.open(
        db_path=db_path, artifacts=artifact(), engine=engine(), config=ServiceConfig(**options)
    )
    try:
        yield service
    finally:
        await service.close()
