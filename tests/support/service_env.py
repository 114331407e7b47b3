"""The planted catalogue, its small real artifact and real services on SQLite files, for the service,
chat and bot end-to-end tests. The artifact and engine are built once per session by the
`small_artifact` / `small_engine` fixtures (tests/conftest.py); `open_service` opens a Service on them.

The catalogue is synthetic with planted structure (tests/support/factories.py: four sonic styles, each its own
genre) plus two planted duplicates: "Song 5 - 2011 Remaster" and "Song 6 (Live)" are the same songs as
"Song 5" and "Song 6" for listeners.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from songrec.content.engine import Engine
from songrec.service import Service, ServiceConfig
from tests.support.factories import make_catalog

GENRES = ("rock", "pop", "rap", "edm")  # make_catalog's cluster c has genre GENRES[c]
N_TRACKS = 600


def catalogue(n: int = N_TRACKS, seed: int = 0) -> pd.DataFrame:
    frame = make_catalog(n, seed=seed)
    dupes = frame.iloc[[5, 6]].copy()
    dupes["track_id"] = ["Dup5" + "x" * 18, "Dup6" + "y" * 18]
    dupes["name"] = ["Song 5 - 2011 Remaster", "Song 6 (Live)"]
    dupes["popularity"] = [1.0, 2.0]
    return pd.concat([frame, dupes], ignore_index=True)


def build_artifact(root: Path, seed: int = 0, n: int = N_TRACKS, epochs: int = 60) -> Path:
    """Train the planted catalogue's embedding into `root` (the session's copy is the `small_artifact`
    fixture in tests/conftest.py; call this only for a variant a test needs for itself)."""
    from training.autoencoder import TrainConfig
    from training.embedding import EmbeddingJob, build_embedding_artifact

    build_embedding_artifact(
        catalogue(n, seed), root, EmbeddingJob(train=TrainConfig(epochs=epochs, seed=seed)), progress=False
    )
    return root


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


class ServiceOpener(Protocol):
    """What the `open_service` fixture gives a test: open a real Service on a SQLite file."""

    def __call__(self, db_path: Path, **config: Any) -> contextlib.AbstractAsyncContextManager[Service]: ...


@contextlib.asynccontextmanager
async def open_real_service(
    db_path: Path, artifacts: Path, engine: Engine, *, coordination: Any = None, **config: Any
) -> AsyncIterator[Service]:
    """A real Service on `db_path` serving `engine` (loaded from `artifacts`); closed on exit.
    `coordination`: the shared state (songrec.coordination), default this process's own."""
    options = {"seed": 0, "cpu_workers": 2, **config}
    service = await Service.open(
        db_path=db_path,
        artifacts=artifacts,
        engine=engine,
        config=ServiceConfig(**options),
        coordination=coordination,
    )
    try:
        yield service
    finally:
        await service.close()


def opener(artifacts: Path, engine: Engine) -> ServiceOpener:
    """open_real_service bound to one artifact and engine."""
    return functools.partial(open_real_service, artifacts=artifacts, engine=engine)
