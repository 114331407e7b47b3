"""Loaders: one function per public Spotify dataset, each mapping its columns to the canonical schema.

Every loader returns ``(frame, issues)``: the frame has the canonical COLUMNS (one row per track of
that file), the issues list every skipped row (see :mod:`songrec.catalog.validate`). What a source
does not know is marked, not invented here:

* ``explicit`` unknown -> 0 with ``explicit_imputed`` (only the Kaggle 1921-2020 set has it);
* Hit Predictor ``year`` -> middle of the file's decade (1965 for the 60s) with ``year_imputed``;
* ``popularity`` unknown -> <NA> with ``popularity_imputed``; the merge fills it with a decade median.
"""

from __future__ import annotations

import ast
import logging
import re
import warnings
import zipfile
from collections.abc import Callable, Collection, Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from songrec.catalog.schema import AUDIO_FEATURES, conform
from songrec.catalog.validate import RowIssue, fail_if_strict, log_summary, validate_staged
from songrec.domain import CatalogError

log = logging.getLogger(__name__)

PathLike = str | Path
LoadResult = tuple[pd.DataFrame, list[RowIssue]]

#: Columns every track source must provide (a row missing one is skipped).
REQUIRED: tuple[str, ...] = ("track_id", "name", "artists", *AUDIO_FEATURES, "key", "mode")

KAGGLE_COLUMNS: dict[str, str] = {
    "track_id": "id",
    "name": "name",
    "artists": "artists",
    "release_date": "release_date",
    "year": "year",
    "popularity": "popularity",
    "explicit": "explicit",
    "key": "key",
    "mode": "mode",
    **{c: c for c in AUDIO_FEATURES},
}
PLAYLIST_COLUMNS: dict[str, str] = {
    "track_id": "track_id",
    "name": "track_name",
    "artists": "track_artist",
    "album": "track_album_name",
    "release_date": "track_album_release_date",
    "popularity": "track_popularity",
    "genre": "playlist_genre",
    "subgenre": "playlist_subgenre",
    "key": "key",
    "mode": "mode",
    **{c: c for c in AUDIO_FEATURES},
}
HIT_PREDICTOR_COLUMNS: dict[str, str] = {
    "track_id": "uri",
    "name": "track",
    "artists": "artist",
    "key": "key",
    "mode": "mode",
    **{c: c for c in AUDIO_FEATURES},
}
CANONICAL_COLUMNS: dict[str, str] = {
    c: c
    for c in (
        "track_id",
        "name",
        "artists",
        "album",
        "release_date",
        "year",
        "popularity",
        "explicit",
        "key",
        "mode",
        *AUDIO_FEATURES,
        "genre",
        "subgenre",
    )
}

#: Artist names that contain ", " themselves, kept whole when a source joins artists with ", ".
COMMA_ARTISTS: frozenset[str] = frozenset(
    {
        "Tyler, The Creator",
        "Earth, Wind & Fire",
        "Crosby, Stills, Nash & Young",
        "Crosby, Stills & Nash",
        "Emerson, Lake & Palmer",
        "Peter, Paul and Mary",
        "Blood, Sweat & Tears",
        "Hootie & The Blowfish, Inc.",
    }
)

_R_MISSING = frozenset({"", "NA"})  # TidyTuesday was written by R: NA means missing
_HIT_DECADE_RE = re.compile(r"dataset-of-(\d{2})s", re.IGNORECASE)
_SKIPPED_LINE_RE = re.compile(r"Skipping line (\d+): (.*)")
_CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.zip", ".csv.bz2", ".csv.xz")


# ----------------------------------------------------------------------------- artists parsing


def parse_artist_list(text: str) -> list[str]:
    """Parse a Python-list string such as ``['A', "Guns N' Roses"]`` without evaluating code."""
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise ValueError("not a list of artist names like ['A', 'B']") from None
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValueError("not a list of artist names like ['A', 'B']")
    return list(value)


def split_artists(text: str, keep_together: Collection[str] = COMMA_ARTISTS) -> list[str]:
    """Split ``"A, B"`` into names, keeping known names that contain a comma in one piece."""
    for name in keep_together:
        if name in text:
            text = text.replace(name, name.replace(", ", "\x00"))
    return [part.replace("\x00", ", ").strip() for part in text.split(", ")]


def _auto_artists(text: str) -> list[str]:
    return parse_artist_list(text) if text.lstrip().startswith("[") else [text.strip()]


# ----------------------------------------------------------------------------- reading


def _display(path: Path) -> str:
    return str(path)


def read_raw_csv(path: PathLike) -> tuple[pd.DataFrame, list[RowIssue], np.ndarray]:
    """Read a CSV (plain, .gz or .zip) as text; returns the frame, lines with a wrong field count,
    and the 1-based data row number of each frame row (those rows shift past skipped lines)."""
    path = Path(path)
    if not path.is_file():
        raise CatalogError(f"Catalogue file {path} does not exist.")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", pd.errors.ParserWarning)
        try:
            frame = pd.read_csv(
                path,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                encoding="utf-8-sig",
                on_bad_lines="warn",
            )
        except (
            OSError,
            EOFError,
            UnicodeDecodeError,
            zipfile.BadZipFile,
            pd.errors.ParserError,
            pd.errors.EmptyDataError,
        ) as exc:
            raise CatalogError(
                f"Could not read {path} as a CSV file ({type(exc).__name__}: {exc}). "
                "Catalogue files must be CSV, optionally compressed as .gz or .zip."
            ) from None
        except ValueError as exc:  # e.g. a zip with several members
            raise CatalogError(f"Could not read {path}: {exc}") from None
    issues: list[RowIssue] = []
    bad_rows: list[int] = []
    for warning in caught:
        for line in str(warning.message).splitlines():
            match = _SKIPPED_LINE_RE.search(line)
            if match:
                data_row = int(match.group(1)) - 1  # the header is line 1
                bad_rows.append(data_row)
                issues.append(RowIssue(_display(path), data_row, "*", "", match.group(2).strip()))
    rows = _row_numbers(len(frame), bad_rows)
    return frame, issues, rows


def _row_numbers(n: int, skipped: Iterable[int]) -> np.ndarray:
    """Data row numbers of the ``n`` parsed rows when the rows in ``skipped`` were dropped."""
    skipped_set = set(skipped)
    rows = np.empty(n, dtype=np.int64)
    current = 0
    for i in range(n):
        current += 1
        while current in skipped_set:
            current += 1
        rows[i] = current
    return rows


def _stage(raw: pd.DataFrame, mapping: Mapping[str, str], path: Path) -> pd.DataFrame:
    missing = sorted({src for src in mapping.values() if src not in raw.columns})
    if missing:
        raise CatalogError(
            f"{path} lacks the column(s) {', '.join(missing)}; its columns are: {', '.join(raw.columns)}."
        )
    return pd.DataFrame({canonical: raw[src] for canonical, src in mapping.items()})


def _load_mapped(
    path: PathLike,
    mapping: Mapping[str, str],
    *,
    source: str,
    artists_parser: Callable[[str], list[str]] | None = None,
    text_missing: Collection[str] = frozenset({""}),
    strict: bool,
) -> tuple[pd.DataFrame, list[RowIssue]]:
    """Read, stage, validate: the part every loader shares. Returns parsed valid rows (not conformed)."""
    path = Path(path)
    raw, read_issues, rows = read_raw_csv(path)
    fail_if_strict(read_issues, strict=strict, what=str(path))
    staged = _stage(raw, mapping, path)
    frame, issues = validate_staged(
        staged,
        file=_display(path),
        required=REQUIRED,
        artists_parser=artists_parser,
        text_missing=text_missing,
        rows=rows,
        derive_year=True,
        strict=strict,
    )
    issues = sorted(read_issues + issues, key=lambda i: i.row)
    log_summary(issues, str(path))
    frame["sources"] = source
    return frame, issues


def _dedupe(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per track id: the first valid row of the file wins."""
    return frame.drop_duplicates("track_id", keep="first").reset_index(drop=True)


def _finish(frame: pd.DataFrame, *, source: str, path: Path, read: int) -> pd.DataFrame:
    frame = _dedupe(frame)
    for column, flag, fill in (("explicit", "explicit_imputed", 0), ("year", "year_imputed", pd.NA)):
        if column not in frame.columns:
            frame[column] = fill
            frame[flag] = True
        else:
            frame[flag] = frame[column].isna()
            if fill is not pd.NA:
                frame[column] = frame[column].fillna(fill)
    if "popularity" not in frame.columns:
        frame["popularity"] = np.nan
    frame["popularity_imputed"] = frame["popularity"].isna()
    log.info("%s: %d track(s) from %s (%d valid rows)", source, len(frame), path, read)
    return conform(frame)


# ----------------------------------------------------------------------------- public loaders


def load_kaggle(path: PathLike, *, strict: bool = False) -> LoadResult:
    """Kaggle "Spotify Dataset 1921-2020, 160k+ Tracks" ``data.csv`` (artists as a Python-list string)."""
    frame, issues = _load_mapped(
        path, KAGGLE_COLUMNS, source="kaggle", artists_parser=parse_artist_list, strict=strict
    )
    return _finish(frame, source="kaggle", path=Path(path), read=len(frame)), issues


def _most_frequent_labels(frame: pd.DataFrame) -> pd.DataFrame:
    """Per track: the genre seen in most rows, then its most frequent subgenre (ties: first seen)."""
    d = frame[["track_id", "genre", "subgenre"]].copy()
    d["_order"] = np.arange(len(d))
    d = d[d["genre"].notna()]
    genre = (
        d.groupby(["track_id", "genre"], sort=False)
        .agg(n=("_order", "size"), first=("_order", "min"))
        .reset_index()
        .sort_values(["track_id", "n", "first"], ascending=[True, False, True])
        .drop_duplicates("track_id")[["track_id", "genre"]]
    )
    sub = d.merge(genre, on=["track_id", "genre"])
    sub = sub[sub["subgenre"].notna()]
    subgenre = (
        sub.groupby(["track_id", "subgenre"], sort=False)
        .agg(n=("_order", "size"), first=("_order", "min"))
        .reset_index()
        .sort_values(["track_id", "n", "first"], ascending=[True, False, True])
        .drop_duplicates("track_id")[["track_id", "subgenre"]]
    )
    return genre.merge(subgenre, on="track_id", how="left")


def _with_top_labels(frame: pd.DataFrame) -> pd.DataFrame:
    labels = _most_frequent_labels(frame)
    first = _dedupe(frame).drop(columns=["genre", "subgenre"])
    return first.merge(labels, on="track_id", how="left")


def _find(path: Path, patterns: Iterable[str]) -> list[Path]:
    if path.is_file():
        return [path]
    if path.is_dir():
        for pattern in patterns:
            hits = sorted(path.glob(pattern))
            if hits:
                return hits
    raise CatalogError(f"No catalogue file found at {path} (looked for {', '.join(patterns)}).")


def load_tidytuesday(path: PathLike, *, strict: bool = False) -> LoadResult:
    """TidyTuesday 2020-01-21 ``spotify_songs.csv`` (or a folder holding it, .gz allowed).

    A track listed in several playlists becomes one row with its most frequent playlist genre.
    """
    file = _find(Path(path), ("spotify_songs.csv", "spotify_songs.csv.*"))[0]
    frame, issues = _load_mapped(
        file, PLAYLIST_COLUMNS, source="tidytuesday", text_missing=_R_MISSING, strict=strict
    )
    return _finish(_with_top_labels(frame), source="tidytuesday", path=file, read=len(frame)), issues


def load_high_low(path: PathLike, *, strict: bool = False) -> LoadResult:
    """Kaggle "Spotify Music Dataset" high/low popularity CSVs (a file or the folder with both).

    ``track_artist`` joins several artists with ", " and is split (known comma names stay whole).
    """
    files = _find(Path(path), ("*_popularity_spotify_data.csv*",))
    frames, issues = [], []
    for file in files:
        frame, found = _load_mapped(
            file, PLAYLIST_COLUMNS, source="high_low", artists_parser=split_artists, strict=strict
        )
        frames.append(frame)
        issues.extend(found)
    frame = pd.concat(frames, ignore_index=True)
    return _finish(_with_top_labels(frame), source="high_low", path=Path(path), read=len(frame)), issues


def hit_predictor_decade(path: PathLike) -> int | None:
    """1960 for ``dataset-of-60s.csv``, 2010 for ``dataset-of-10s.csv``; None if the name has no decade."""
    match = _HIT_DECADE_RE.search(Path(path).name)
    if not match:
        return None
    two = int(match.group(1))
    return (1900 if two >= 30 else 2000) + two


def load_hit_predictor(path: PathLike, *, strict: bool = False) -> LoadResult:
    """Spotify Hit Predictor ``dataset-of-XXs.csv`` files (a file or the folder with all six).

    The files have no popularity, year or explicit flag: year is the middle of the decade in the
    file name (``year_imputed``); a file whose name has no decade leaves the year to the merge.
    """
    files = _find(Path(path), ("dataset-of-*s.csv*",))
    files.sort(key=lambda f: hit_predictor_decade(f) or 0)
    frames, issues = [], []
    for file in files:
        frame, found = _load_mapped(file, HIT_PREDICTOR_COLUMNS, source="hit_predictor", strict=strict)
        decade = hit_predictor_decade(file)
        frame["year"] = pd.NA if decade is None else decade + 5
        frames.append(frame)
        issues.extend(found)
    frame = pd.concat(frames, ignore_index=True)
    result = _finish(frame, source="hit_predictor", path=Path(path), read=len(frame))
    result["year_imputed"] = True
    return result, issues


def load_generic_csv(
    path: PathLike,
    mapping: Mapping[str, str],
    *,
    source: str = "generic",
    artists_sep: str | None = None,
    strict: bool = False,
) -> LoadResult:
    """Any CSV with audio features: ``mapping`` maps canonical column -> column in the file.

    Required: track_id, name, artists, the ten audio features, key and mode. Artists are read as a
    Python-list string when they start with ``[``, else as one name, or split on ``artists_sep``.
    Unmapped year/popularity/explicit are imputed as documented in :mod:`songrec.catalog.merge`.
    """
    unknown = sorted(set(mapping) - set(CANONICAL_COLUMNS))
    if unknown:
        raise CatalogError(
            f"Unknown canonical column(s) in the mapping: {', '.join(unknown)}. "
            f"Known: {', '.join(CANONICAL_COLUMNS)}."
        )
    absent = [c for c in REQUIRED if c not in mapping]
    if absent:
        raise CatalogError(
            f"The column mapping for {path} must name a source column for: {', '.join(absent)}."
        )

    def parser(text: str) -> list[str]:
        if artists_sep is None:
            return _auto_artists(text)
        return split_artists(text) if artists_sep == ", " else text.split(artists_sep)

    frame, issues = _load_mapped(path, mapping, source=source, artists_parser=parser, strict=strict)
    return _finish(frame, source=source, path=Path(path), read=len(frame)), issues


def load_artist_genres(path: PathLike) -> dict[str, list[str]]:
    """Artist name -> genres from the yamaerenay ``data_w_genres.csv`` (zip/gz allowed).

    Genres are a Python-list string (``['show tunes']``); the re-saved variant that stripped the
    brackets (``comedy rock, comic``) is read too. Artists without genres map to ``[]``. Names are
    stripped like the catalogue's artist names; two spellings that differ only by surrounding
    spaces share one entry with the union of their genres.
    """
    raw, _, _ = read_raw_csv(path)
    for column in ("artists", "genres"):
        if column not in raw.columns:
            raise CatalogError(f"{path} has no {column!r} column; is it a data_w_genres.csv file?")
    result: dict[str, list[str]] = {}
    for artist, text in zip(raw["artists"].to_numpy(), raw["genres"].to_numpy(), strict=True):
        name = str(artist).strip()
        if not name:
            continue
        text = str(text).strip()
        if text.startswith("["):
            try:
                genres = parse_artist_list(text)
            except ValueError:
                log.warning("%s: unreadable genres for %r: %r", path, name, text[:80])
                continue
        else:
            genres = [g.strip() for g in text.split(",") if g.strip()]
        merged = result.setdefault(name, [])
        merged.extend(g.strip() for g in genres if g.strip() and g.strip() not in merged)
    return result


# ----------------------------------------------------------------------------- schema detection


def detect_schema(columns: Iterable[str]) -> str | None:
    """Which loader fits a file with these columns: kaggle, tidytuesday, high_low, hit_predictor,
    canonical (already in our schema) or None."""
    cols = {c.strip() for c in columns}
    if {"id", "artists", "name", "year", "explicit", "popularity"} | set(AUDIO_FEATURES) <= cols:
        return "kaggle"
    if set(PLAYLIST_COLUMNS.values()) <= cols:
        return "high_low" if {"analysis_url", "track_href"} & cols else "tidytuesday"
    if set(HIT_PREDICTOR_COLUMNS.values()) <= cols:
        return "hit_predictor"
    if set(REQUIRED) <= cols:
        return "canonical"
    return None


def sniff_schema(path: PathLike) -> str | None:
    """Detect a file's schema from its header only (cheap for compressed files too)."""
    try:
        header = pd.read_csv(path, nrows=0, encoding="utf-8-sig")
    except (OSError, EOFError, UnicodeDecodeError, ValueError, zipfile.BadZipFile) as exc:
        log.debug("not a CSV: %s (%s)", path, exc)
        return None
    return detect_schema(header.columns)


def is_csv(path: Path) -> bool:
    return path.name.lower().endswith(_CSV_SUFFIXES)


def load_any(path: PathLike, *, strict: bool = False, schema: str | None = None) -> tuple[str, LoadResult]:
    """Load one CSV in any known schema; returns (source name, (frame, issues))."""
    path = Path(path)
    schema = schema or sniff_schema(path)
    if schema == "kaggle":
        return "kaggle", load_kaggle(path, strict=strict)
    if schema == "tidytuesday":
        return "tidytuesday", load_tidytuesday(path, strict=strict)
    if schema == "high_low":
        return "high_low", load_high_low(path, strict=strict)
    if schema == "hit_predictor":
        return "hit_predictor", load_hit_predictor(path, strict=strict)
    if schema == "canonical":
        header = pd.read_csv(path, nrows=0, encoding="utf-8-sig").columns
        mapping = {c: c for c in CANONICAL_COLUMNS if c in header}
        return "generic", load_generic_csv(path, mapping, strict=strict)
    raise CatalogError(
        f"{path} is not in a known catalogue schema (Kaggle 1921-2020 data.csv, TidyTuesday spotify_songs, "
        "Hit Predictor dataset-of-XXs, high/low popularity, or songrec's own columns "
        f"{', '.join(REQUIRED)}). Use load_generic_csv with a column mapping for other files."
    )
