"""Find "the" catalogue without being told: explicit path > SONGREC_DATA > last cached > download.

Every catalogue built from files is cached as parquet under ``config.home()/catalog/``, keyed by
the content of its input files and the loader version, so a second call only reads the parquet.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from songrec import settings as config
from songrec.catalog.download import HOW_TO_PROVIDE, catalog_url, download_catalogue
from songrec.catalog.loaders import REQUIRED, is_csv, parse_artist_list, sniff_schema
from songrec.catalog.merge import (
    CatalogueBuild,
    build_from_files,
    content_hash,
    discover_sources,
    merge_frames,
    no_valid_tracks_error,
)
from songrec.catalog.schema import conform
from songrec.catalog.store import read_catalogue, save_catalogue
from songrec.catalog.validate import fail_if_strict, log_summary, validate_staged
from songrec.domain import CatalogDownloadError, CatalogError, CatalogNotFound

log = logging.getLogger(__name__)

#: Bump when loaders, validation or fill rules change, so old caches are rebuilt.
LOADER_VERSION = "1"
DEFAULT_POINTER = "default.json"
DOWNLOAD_NAME = "spotify_songs.csv"


def cache_dir() -> Path:
    path = config.home() / "catalog"
    path.mkdir(parents=True, exist_ok=True)
    return path


def load_default_catalogue(
    path: str | Path | None = None,
    strict: bool = False,
    *,
    url: str | None = None,
    sha256: str | None = None,
    download: bool = True,
    use_cache: bool = True,
) -> CatalogueBuild:
    """The catalogue to use, from the first of these that exists:

    1. ``path``: a catalogue parquet, a dataset CSV in any known schema, or a folder like shared/data;
    2. the SONGREC_DATA folder;
    3. the catalogue cached by the last call that used 2 or 4;
    4. a download of the public TidyTuesday CSV (``url``/``sha256``, or SONGREC_CATALOG_URL /
       SONGREC_CATALOG_SHA256), checked against its sha256.

    Raises CatalogNotFound, saying what to do, when none is available.
    """
    if path is not None:
        return _from_path(Path(path).expanduser(), strict=strict, use_cache=use_cache)
    data = config.data_dir()
    if data is not None:
        return _from_files(_discover(data), root=data, strict=strict, use_cache=use_cache, default=True)
    named = config.get_settings().data
    if named is not None:
        log.warning("SONGREC_DATA=%s is not a folder; looking elsewhere", named)
    cached = _cached_default(strict=strict)
    if cached is not None:
        return cached
    if download:
        dest = cache_dir() / "downloads" / DOWNLOAD_NAME
        csv = download_catalogue(dest, url=url, sha256=sha256)
        schema = sniff_schema(csv)
        if schema is None:
            raise CatalogDownloadError(
                f"The file downloaded from {catalog_url(url)} is not a catalogue CSV in a known schema."
            )
        return _from_files([(schema, csv)], root=csv.parent, strict=strict, use_cache=use_cache, default=True)
    raise CatalogNotFound("No track catalogue found.\n" + HOW_TO_PROVIDE.format(url=catalog_url(url)))


def _discover(folder: Path) -> list[tuple[str, Path]]:
    files = discover_sources(folder)
    if not files:
        raise CatalogNotFound(
            f"No track catalogue files found under {folder}. Expected CSV files such as spotify_songs.csv, "
            "dataset-of-60s.csv, *_popularity_spotify_data.csv or the Kaggle data.csv (optionally .gz/.zip).\n"
            + HOW_TO_PROVIDE.format(url=catalog_url())
        )
    return files


def _from_path(path: Path, *, strict: bool, use_cache: bool) -> CatalogueBuild:
    if path.is_dir():
        return _from_files(_discover(path), root=path, strict=strict, use_cache=use_cache)
    if not path.is_file():
        raise CatalogNotFound(
            f"The catalogue path {path} does not exist.\n" + HOW_TO_PROVIDE.format(url=catalog_url())
        )
    if path.suffix.lower() == ".parquet":
        build, ours = read_catalogue(path)
        if ours:
            fail_if_strict(build.issues, strict=strict, what=str(path))
            return build
        return _revalidate(build.frame, path, strict=strict)
    if not is_csv(path):
        raise CatalogError(
            f"{path} is neither a .parquet catalogue nor a .csv (.csv.gz/.csv.zip) dataset file."
        )
    schema = sniff_schema(path)
    if schema is None:
        raise CatalogError(
            f"{path} is not in a known catalogue schema (Kaggle 1921-2020 data.csv, TidyTuesday spotify_songs, "
            "Hit Predictor dataset-of-XXs, high/low popularity, or songrec's own columns "
            f"{', '.join(REQUIRED)}). Use songrec.catalog.load_generic_csv with a column mapping."
        )
    return _from_files([(schema, path)], root=path.parent, strict=strict, use_cache=use_cache)


def _cache_key(files: Sequence[tuple[str, Path]]) -> str:
    digest = hashlib.sha256(f"songrec-catalogue loader v{LOADER_VERSION}\n".encode())
    for schema, path in files:
        digest.update(f"{schema}\n{path.name}\n".encode())
        with path.open("rb") as handle:
            digest.update(hashlib.file_digest(handle, "sha256").digest())
    return digest.hexdigest()


def _from_files(
    files: Sequence[tuple[str, Path]], *, root: Path, strict: bool, use_cache: bool, default: bool = False
) -> CatalogueBuild:
    target = cache_dir() / f"catalogue-{_cache_key(files)[:20]}.parquet"
    build: CatalogueBuild | None = None
    if use_cache and target.is_file():
        try:
            build, _ = read_catalogue(target)
            log.info("catalogue: %d tracks from cache %s", len(build.frame), target)
        except CatalogError as exc:
            log.warning("ignoring unreadable catalogue cache %s: %s", target, exc)
    if build is None:
        build = build_from_files(files, strict=strict, root=root)
        if use_cache:
            save_catalogue(build, target)
    fail_if_strict(build.issues, strict=strict, what="catalogue")
    if default and use_cache:
        pointer = cache_dir() / DEFAULT_POINTER
        tmp = pointer.with_name(f".{pointer.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"parquet": target.name, "inputs": build.inputs}))
        os.replace(tmp, pointer)
    return build


def _cached_default(*, strict: bool) -> CatalogueBuild | None:
    pointer = cache_dir() / DEFAULT_POINTER
    try:
        name = json.loads(pointer.read_text())["parquet"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    target = cache_dir() / Path(name).name
    if not target.is_file():
        return None
    try:
        build, _ = read_catalogue(target)
    except CatalogError as exc:
        log.warning("ignoring unreadable catalogue cache %s: %s", target, exc)
        return None
    log.info("catalogue: %d tracks from the last cached catalogue %s", len(build.frame), target)
    fail_if_strict(build.issues, strict=strict, what=str(target))
    return build


def _revalidate(frame: pd.DataFrame, path: Path, *, strict: bool) -> CatalogueBuild:
    """A parquet songrec did not write: check every value as if it came from a CSV, then merge."""
    columns = [c for c in frame.columns if c not in ("sources",) and not c.endswith("_imputed")]
    staged = pd.DataFrame(
        {
            c: frame[c].map(repr) if c == "artists" else frame[c].astype(object).where(frame[c].notna(), "")
            for c in columns
        }
    ).astype(str)
    valid, issues = validate_staged(
        staged,
        file=str(path),
        required=REQUIRED,
        artists_parser=parse_artist_list,
        strict=strict,
    )
    log_summary(issues, str(path))
    for flag in ("year_imputed", "popularity_imputed", "explicit_imputed"):
        column = flag.removesuffix("_imputed")
        valid[flag] = valid[column].isna() if column in valid else True
    merged = merge_frames([("parquet", conform(valid))])
    if merged.empty:
        raise no_valid_tracks_error([str(path)], issues)
    return CatalogueBuild(merged, issues, content_hash(merged), [str(path)])
