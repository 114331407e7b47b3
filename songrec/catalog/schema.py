"""The canonical catalogue schema every loader produces.

One row per track; loaders map their source columns onto these names so the merge,
the feature pipeline and every front end can rely on a single shape.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Audio features that the paper min-max scales (with popularity and year).
AUDIO_FEATURES: tuple[str, ...] = (
    "acousticness",
    "danceability",
    "energy",
    "duration_ms",
    "instrumentalness",
    "valence",
    "tempo",
    "liveness",
    "loudness",
    "speechiness",
)

#: The 12 numeric inputs of the contractive-autoencoder paper, in order.
NUMERIC_FEATURES: tuple[str, ...] = (
    "acousticness",
    "danceability",
    "energy",
    "duration_ms",
    "instrumentalness",
    "valence",
    "popularity",
    "tempo",
    "liveness",
    "loudness",
    "speechiness",
    "year",
)

BINARY_FEATURES: tuple[str, ...] = ("mode", "explicit")
KEY_COLUMN = "key"

#: Every column of a merged catalogue, with its pandas dtype.
COLUMNS: dict[str, str] = {
    "track_id": "string",  # bare 22-character Spotify id
    "name": "string",
    "artists": "object",  # list[str], first artist first
    "album": "string",
    "release_date": "string",
    "year": "int64",
    "popularity": "float64",  # 0..100
    "explicit": "int64",  # 0/1
    "key": "int64",  # 0..11, -1 = no key detected
    "mode": "int64",  # 0/1
    **{c: "float64" for c in AUDIO_FEATURES},
    "genre": "string",  # playlist genre where a source knows it, else <NA>
    "subgenre": "string",
    "year_imputed": "bool",  # the year is not a source's: only its decade is known, or not even that
    "decade_imputed": "bool",  # not even the decade is known: the year is the catalogue's median
    "popularity_imputed": "bool",
    "explicit_imputed": "bool",
    "sources": "string",  # comma-separated loader names that saw this track
}

#: Loader names, highest priority first: for each column a real value from an earlier source wins.
SOURCE_PRIORITY: tuple[str, ...] = ("kaggle", "tidytuesday", "high_low", "hit_predictor")

#: Columns that may be filled by imputation, with the flag column that says so.
IMPUTED_FLAGS: dict[str, str] = {
    "year": "year_imputed",
    "popularity": "popularity_imputed",
    "explicit": "explicit_imputed",
}


def conform(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with exactly the COLUMNS, in order, with their dtypes.

    Missing columns are added empty. Integer columns that still hold <NA> (a loader's frame before
    imputation) stay nullable ``Int64`` instead of failing; a merged catalogue never has them.
    """
    out: dict[str, pd.Series] = {}
    n = len(frame)
    for column, dtype in COLUMNS.items():
        if column in frame.columns:
            series = frame[column]
        elif dtype == "bool":
            series = pd.Series(np.zeros(n, dtype=bool), index=frame.index)
        else:
            series = pd.Series([pd.NA] * n, index=frame.index, dtype=object)
        if dtype == "object":
            out[column] = series.astype(object)
        elif dtype == "int64":
            numeric = pd.to_numeric(series, errors="raise")
            out[column] = numeric.astype("Int64") if numeric.isna().any() else numeric.astype("int64")
        else:
            out[column] = series.astype(dtype)
    return pd.DataFrame(out, index=frame.index)
