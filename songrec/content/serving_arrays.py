"""Per-row arrays the serving path needs, computed once at training time and memory-mapped at load.

Deriving them at load costs seconds and memory: the scaled audio features need the fitted sklearn
pipeline (and sklearn's import alone takes seconds), the same-song keys run a regex per row. Training
saves them as plain .npy files in the artifact's `serving/` folder; an older artifact without them
still loads, deriving them from the catalogue as before.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from songrec.catalog.schema import NUMERIC_FEATURES
from songrec.content.packed import StringColumn, mapped
from songrec.content.songkey import title_key

log = logging.getLogger(__name__)

SERVING_DIR = "serving"  # the artifact's folder of these arrays
SCALED_FILE = "scaled.npy"  # float32 (rows, 12): the min-max scaled numeric features, for reasons
KEYS = "keys"  # packed strings (rows,): same-song keys (title + first artist)
FIRST_ARTIST = "first_artist"  # packed strings (rows,): casefolded first artist, "" when none
#: The first pass saved both as fixed-width unicode .npy (4 bytes a character, padded: 95 MiB at 70k rows).
_OLD_FILES = ("keys.npy", "first_artist.npy")


def _strings(values: list[str]) -> np.ndarray:
    """An object array of str: element access gives str, and no fixed-width padding."""
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


@dataclass(frozen=True)
class ServingArrays:
    scaled: np.ndarray
    keys: np.ndarray  # object array of str
    first_artist: np.ndarray  # object array of str

    @classmethod
    def derive(cls, catalog: pd.DataFrame, pipeline_path: Path) -> ServingArrays:
        """From the catalogue (artists as lists) and the fitted pipeline: what an old artifact needs."""
        from songrec.content.features import FeaturePipeline, model_inputs

        pipeline = FeaturePipeline.load(pipeline_path)
        return cls.compute(catalog, pipeline.base.transform(model_inputs(catalog)))

    @classmethod
    def compute(cls, catalog: pd.DataFrame, base_features: np.ndarray) -> ServingArrays:
        """`base_features` is the pipeline's base transform of the catalogue (numeric features first)."""
        scaled = np.asarray(base_features[:, : len(NUMERIC_FEATURES)], dtype=np.float32)
        artists = [list(a) if a is not None else [] for a in catalog["artists"]]
        keys = _strings([str(title_key(n, a)) for n, a in zip(catalog["name"], artists, strict=True)])
        first = _strings([str(a[0]).casefold() if len(a) else "" for a in artists])
        return cls(scaled=scaled, keys=keys, first_artist=first)

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        np.save(directory / SCALED_FILE, np.ascontiguousarray(self.scaled, dtype=np.float32))
        StringColumn.pack(self.keys.tolist()).save(directory, KEYS)
        StringColumn.pack(self.first_artist.tolist()).save(directory, FIRST_ARTIST)

    @classmethod
    def load(cls, directory: Path, rows: int) -> ServingArrays | None:
        """The saved arrays, memory-mapped; None when the artifact predates them (or they do not fit)."""
        if not (directory / SCALED_FILE).is_file():
            return None
        scaled = mapped(directory / SCALED_FILE)
        packed = [StringColumn.load(directory, name) for name in (KEYS, FIRST_ARTIST)]
        if all(c is not None for c in packed):
            keys, first = (_strings(c.to_list()) for c in packed)  # type: ignore[union-attr]
        elif all((directory / name).is_file() for name in _OLD_FILES):
            keys, first = (_strings(np.load(directory / n, allow_pickle=False).tolist()) for n in _OLD_FILES)
        else:
            return None
        if not (len(scaled) == len(keys) == len(first) == rows) or scaled.shape[1:] != (
            len(NUMERIC_FEATURES),
        ):
            log.warning("%s: serving arrays do not match the catalogue; deriving them instead", directory)
            return None
        return cls(scaled=scaled, keys=keys, first_artist=first)
