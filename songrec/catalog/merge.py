"""Merge loader outputs into one catalogue: one row per track id, real values first.

Fill rules (what is done when a source does not know a value):

* explicit: only the Kaggle 1921-2020 set has it; elsewhere 0 with ``explicit_imputed=True``.
* year: Hit Predictor files give only a decade; the year is its middle (1965 for the 60s) with
  ``year_imputed=True`` (front ends show "1960s", never 1965). A source with no date at all gets the
  median year of the catalogue with ``year_imputed`` and ``decade_imputed`` (front ends show no date).
* popularity: missing -> median popularity of tracks of the same decade that have a real value
  (fallback: global median, or 50 when no track has one), ``popularity_imputed=True``.

Overlaps: for every column the first known value in the priority order Kaggle > TidyTuesday >
high/low > Hit Predictor (> any other loader, in the order given) is kept, except that for the
imputable columns a real value from any source beats an imputed one. ``sources`` lists the loaders
that saw the track, in that order.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from songrec.catalog.loaders import hit_predictor_decade, is_csv, load_any, sniff_schema
from songrec.catalog.schema import (
    COLUMNS,
    IMPUTED_FLAGS,
    NUMERIC_FEATURES,
    SOURCE_PRIORITY,
    conform,
)
from songrec.catalog.validate import RowIssue, fail_if_strict
from songrec.domain import CatalogError, CatalogNotFound
from songrec.ops.progress import progress_bar

log = logging.getLogger(__name__)

HASH_COLUMNS: tuple[str, ...] = (*NUMERIC_FEATURES, "key", "mode", "explicit")
FALLBACK_POPULARITY = 50.0
FALLBACK_YEAR = 2000


@dataclass
class CatalogueBuild:
    """A merged catalogue with the rows skipped on the way and a hash that tags derived artifacts."""

    frame: pd.DataFrame
    issues: list[RowIssue] = field(default_factory=list)
    content_hash: str = ""
    inputs: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.frame)


def content_hash(frame: pd.DataFrame) -> str:
    """sha256 over the sorted track ids and their feature values: same catalogue, same hash."""
    ordered = frame.sort_values("track_id", kind="mergesort")
    digest = hashlib.sha256(b"songrec-catalogue-v1\n")
    digest.update("\n".join(ordered["track_id"].astype(str)).encode())
    digest.update(("\n" + ",".join(HASH_COLUMNS) + "\n").encode())
    values = ordered[list(HASH_COLUMNS)].to_numpy(dtype="float64", na_value=np.nan)
    digest.update(np.ascontiguousarray(values, dtype="<f8").tobytes())
    return digest.hexdigest()


def _rank(source: str, extra: list[str]) -> int:
    if source in SOURCE_PRIORITY:
        return SOURCE_PRIORITY.index(source)
    if source not in extra:
        extra.append(source)
    return len(SOURCE_PRIORITY) + extra.index(source)


def _float(series: pd.Series) -> np.ndarray:
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    return np.array(values, dtype="float64", copy=True)


def merge_frames(frames: Sequence[tuple[str, pd.DataFrame]]) -> pd.DataFrame:
    """De-duplicate loader frames by track id (see the module docstring) and apply the fill rules."""
    frames = [(s, f) for s, f in frames if len(f)]
    if not frames:
        return conform(pd.DataFrame({c: [] for c in COLUMNS})).astype({"year": "int64"})
    extra: list[str] = []
    parts = []
    for seq, (source, frame) in enumerate(frames):
        part = frame.copy()
        part["_rank"] = _rank(source, extra)
        part["_seq"] = seq
        part["_pos"] = np.arange(len(part))
        part["sources"] = source
        parts.append(part)
    everything = pd.concat(parts, ignore_index=True)
    everything = everything.sort_values(["_rank", "_seq", "_pos"], kind="mergesort").reset_index(drop=True)
    everything["track_id"] = everything["track_id"].astype(str)
    groups = everything.groupby("track_id", sort=True)

    plain = [c for c in COLUMNS if c not in IMPUTED_FLAGS and c not in IMPUTED_FLAGS.values()]
    plain.remove("sources")
    plain.remove("track_id")
    merged = groups[plain].first()
    for column, flag in IMPUTED_FLAGS.items():
        values = _float(everything[column])
        imputed = everything[flag].to_numpy(dtype=bool)
        pick = (
            pd.DataFrame(
                {"track_id": everything["track_id"], "real": np.where(imputed, np.nan, values), "any": values}
            )
            .groupby("track_id", sort=True)[["real", "any"]]
            .first()
        )
        merged[column] = pick["real"].fillna(pick["any"])
        merged[flag] = pick["real"].isna()
    merged["sources"] = _sources(everything, merged.index)
    merged = merged.reset_index()
    return conform(impute(merged))


def _sources(everything: pd.DataFrame, ids: pd.Index) -> np.ndarray:
    """Comma-joined loader names per track, in priority order (vectorised: few loaders, many tracks)."""
    names = list(pd.unique(everything["sources"]))  # already in priority order
    codes = np.zeros(len(ids), dtype=np.int64)
    for bit, name in enumerate(names):
        has = ids.isin(everything.loc[everything["sources"] == name, "track_id"])
        codes |= has.astype(np.int64) << bit
    labels = {c: ",".join(n for b, n in enumerate(names) if c >> b & 1) for c in np.unique(codes)}
    return np.array([labels[c] for c in codes], dtype=object)


def impute(frame: pd.DataFrame) -> pd.DataFrame:
    """Fill year, explicit and popularity holes with the documented rules and set their flags."""
    frame = frame.copy()
    year = _float(frame["year"])
    year_missing = np.isnan(year)
    if year_missing.any():
        real_years = year[~year_missing & ~frame["year_imputed"].to_numpy(dtype=bool)]
        fill = float(np.median(real_years)) if len(real_years) else FALLBACK_YEAR
        year[year_missing] = round(fill)
        frame["year_imputed"] = frame["year_imputed"].to_numpy(dtype=bool) | year_missing
    frame["decade_imputed"] = year_missing
    frame["year"] = year.astype("int64")

    explicit = _float(frame["explicit"])
    explicit_missing = np.isnan(explicit)
    frame["explicit"] = np.where(explicit_missing, 0, explicit).astype("int64")
    frame["explicit_imputed"] = frame["explicit_imputed"].to_numpy(dtype=bool) | explicit_missing

    popularity = _float(frame["popularity"])
    known = ~np.isnan(popularity) & ~frame["popularity_imputed"].to_numpy(dtype=bool)
    missing = np.isnan(popularity)
    if missing.any():
        decade = (frame["year"].to_numpy() // 10) * 10
        by_decade = pd.Series(popularity[known]).groupby(decade[known]).median()
        overall = float(np.median(popularity[known])) if known.any() else FALLBACK_POPULARITY
        fill = pd.Series(decade[missing]).map(by_decade).fillna(overall).to_numpy(dtype="float64")
        popularity[missing] = fill
        frame["popularity_imputed"] = frame["popularity_imputed"].to_numpy(dtype=bool) | missing
    frame["popularity"] = popularity
    return frame


def discover_sources(data_dir: Path) -> list[tuple[str, Path]]:
    """Every CSV under ``data_dir`` whose header matches a known schema, as (schema, path)."""
    found = []
    for path in sorted(data_dir.rglob("*")):
        if any(part.startswith(".") for part in path.relative_to(data_dir).parts):
            continue
        if path.is_file() and is_csv(path):
            schema = sniff_schema(path)
            if schema is not None:
                found.append((schema, path))
    # Hit Predictor decades in time order: a track listed in two decades keeps the earlier one.
    return sorted(found, key=lambda sp: (str(sp[1].parent), hit_predictor_decade(sp[1]) or 0, sp[1].name))


def build_from_files(
    files: Sequence[tuple[str, Path]], *, strict: bool = False, root: Path | None = None
) -> CatalogueBuild:
    """Load each (schema, path), merge them, and hash the result."""
    loaded: list[tuple[str, pd.DataFrame]] = []
    issues: list[RowIssue] = []
    for schema, path in progress_bar(files, desc="catalogue", unit="file", leave=False):
        source, (frame, found) = load_any(path, strict=strict, schema=schema)
        log.info(
            "catalogue: %-13s %6d tracks, %4d issue(s) from %s", source, len(frame), len(found), path.name
        )
        loaded.append((source, frame))
        issues.extend(found)
    fail_if_strict(issues, strict=strict, what="catalogue")
    frame = merge_frames(loaded)
    if frame.empty:
        raise no_valid_tracks_error([str(p) for _, p in files], issues)
    inputs = [str(p.relative_to(root)) if root else str(p) for _, p in files]
    build = CatalogueBuild(frame, issues, content_hash(frame), inputs)
    log.info(
        "catalogue: %d unique tracks from %d file(s), %d row issue(s), hash %s",
        len(frame),
        len(files),
        len(issues),
        build.content_hash[:12],
    )
    return build


def no_valid_tracks_error(files: Sequence[str], issues: Sequence[RowIssue]) -> CatalogError:
    example = f" First problem: {issues[0]}." if issues else ""
    return CatalogError(
        f"No valid tracks in {', '.join(files)}: {len(issues)} invalid value(s) were found.{example} "
        "Check that the file holds Spotify tracks with audio features."
    )


def build_catalogue(data_dir: str | Path, *, strict: bool = False) -> CatalogueBuild:
    """Build the catalogue from every known dataset file found under ``data_dir`` (like shared/data)."""
    data_dir = Path(data_dir).expanduser()
    if not data_dir.is_dir():
        raise CatalogNotFound(f"Catalogue folder {data_dir} does not exist.")
    files = discover_sources(data_dir)
    if not files:
        raise CatalogNotFound(
            f"No track catalogue files found under {data_dir}. Expected CSV files such as "
            "spotify_songs.csv (TidyTuesday), dataset-of-60s.csv (Hit Predictor), "
            "*_popularity_spotify_data.csv or the Kaggle 1921-2020 data.csv (optionally .gz/.zip)."
        )
    return build_from_files(files, strict=strict, root=data_dir)
