"""What serving reads from an embedding artifact besides the index, saved at training time.

The per-row arrays (ServingArrays), every row's TrackInfo (TrackTable) and the title search index
(TitleIndex) all live under the artifact's `serving/` folder as .npy files, memory-mapped at load:
start-up neither reads the catalogue parquet nor builds a Python object per row. An artifact from
before any of them builds what it lacks from its catalogue, as every start used to.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from songrec.content.lookup import TITLES_DIR, TitleIndex
from songrec.content.serving_arrays import SERVING_DIR, ServingArrays
from songrec.content.track_table import TRACKS_DIR, TrackTable

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

CATALOG_FILE = "catalog.parquet"


def read_catalog(path: Path) -> pd.DataFrame:
    """The artifact's catalogue with artists as lists (parquet gives arrays, or None)."""
    import pandas as pd

    catalog = pd.read_parquet(path)
    catalog["artists"] = catalog["artists"].map(lambda a: list(a) if a is not None else [])
    return catalog


def _popularity(tracks: TrackTable) -> np.ndarray:
    """Popularity with unknown as 0 (what catalog["popularity"].fillna(0) gives)."""
    pop = tracks.popularity
    return np.where(np.isnan(pop), 0.0, pop).astype(np.float64)


@dataclass(frozen=True)
class ServingParts:
    arrays: ServingArrays
    tracks: TrackTable
    titles: TitleIndex
    catalog: pd.DataFrame | None = None  # set when it had to be read (an older artifact)

    @classmethod
    def compute(cls, catalog: pd.DataFrame, base_features: np.ndarray) -> ServingParts:
        """At training time: `base_features` is the pipeline's base transform of the catalogue."""
        tracks = TrackTable.from_catalog(catalog)
        return cls(
            arrays=ServingArrays.compute(catalog, base_features),
            tracks=tracks,
            titles=TitleIndex.build(catalog, tracks),
            catalog=catalog,
        )

    def save(self, artifact: Path) -> None:
        serving = artifact / SERVING_DIR
        self.arrays.save(serving)
        self.tracks.save(serving / TRACKS_DIR)
        self.titles.save(serving / TITLES_DIR)

    @classmethod
    def load(cls, artifact: Path, rows: int) -> ServingParts | None:
        """Everything memory-mapped from `serving/`; None when any part is missing or does not fit."""
        serving = artifact / SERVING_DIR
        arrays = ServingArrays.load(serving, rows)
        catalogue = artifact / CATALOG_FILE
        tracks = TrackTable.load(serving / TRACKS_DIR, rows, catalogue) if arrays is not None else None
        if arrays is None or tracks is None:
            return None
        titles = TitleIndex.load(serving / TITLES_DIR, tracks, _popularity(tracks), tracks.row_of_id())
        if titles is None:
            return None
        return cls(arrays=arrays, tracks=tracks, titles=titles)

    @classmethod
    def build(cls, artifact: Path) -> ServingParts:
        """An older artifact: read the catalogue and build what is missing (seconds, as before)."""
        log.info("%s: no saved serving parts; building them from the catalogue", artifact.name)
        catalog = read_catalog(artifact / CATALOG_FILE)
        serving = artifact / SERVING_DIR
        arrays = ServingArrays.load(serving, len(catalog)) or ServingArrays.derive(
            catalog, artifact / "pipeline.joblib"
        )
        tracks = TrackTable.load(
            serving / TRACKS_DIR, len(catalog), artifact / CATALOG_FILE
        ) or TrackTable.from_catalog(catalog)
        return cls(arrays=arrays, tracks=tracks, titles=TitleIndex.build(catalog, tracks), catalog=catalog)
