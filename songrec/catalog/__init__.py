"""The track catalogue: load public Spotify datasets, validate, merge, cache and resolve a default.

``load_default_catalogue()`` is the one call most code needs; it returns a :class:`CatalogueBuild`
(``.frame`` in the canonical schema of :mod:`songrec.catalog.schema`, ``.issues``, ``.content_hash``).
"""

from __future__ import annotations

from songrec.catalog.loaders import (
    load_artist_genres,
    load_generic_csv,
    load_high_low,
    load_hit_predictor,
    load_kaggle,
    load_tidytuesday,
)
from songrec.catalog.merge import CatalogueBuild, build_catalogue, merge_frames
from songrec.catalog.resolve import load_default_catalogue
from songrec.catalog.store import read_catalogue, save_catalogue
from songrec.catalog.validate import RowIssue
from songrec.domain import CatalogDownloadError, CatalogError, CatalogNotFound

__all__ = [
    "CatalogDownloadError",
    "CatalogError",
    "CatalogNotFound",
    "CatalogueBuild",
    "RowIssue",
    "build_catalogue",
    "load_artist_genres",
    "load_default_catalogue",
    "load_generic_csv",
    "load_high_low",
    "load_hit_predictor",
    "load_kaggle",
    "load_tidytuesday",
    "merge_frames",
    "read_catalogue",
    "save_catalogue",
]
