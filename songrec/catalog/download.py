"""Fetch the public TidyTuesday catalogue when nothing local exists, and only keep it if its hash matches."""

from __future__ import annotations

import gzip
import hashlib
import http.client
import logging
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from songrec.domain import CatalogDownloadError, CatalogNotFound
from songrec.ops.progress import progress_bar
from songrec.settings import get_settings

log = logging.getLogger(__name__)

DEFAULT_URL = "https://raw.githubusercontent.com/rfordatascience/tidytuesday/master/data/2020/2020-01-21/spotify_songs.csv"
#: sha256 of the uncompressed spotify_songs.csv (7,971,379 bytes).
DEFAULT_SHA256 = "9902920cfe4940f0914ebb6716801a42f7f19ac88fbd6693eaae7e2822b16845"
CHUNK = 1 << 16
GZIP_MAGIC = b"\x1f\x8b"

HOW_TO_PROVIDE = (
    "To give songrec a track catalogue, do one of:\n"
    "  * set SONGREC_DATA to a folder of Spotify dataset CSVs (for example the shared data folder);\n"
    "  * pass --catalog PATH (a catalogue .parquet, a dataset .csv/.csv.gz, or such a folder);\n"
    "  * connect to the internet so songrec can download the public TidyTuesday catalogue from\n"
    "    {url}"
)


def catalog_url(url: str | None = None) -> str:
    return url or get_settings().catalog_url or DEFAULT_URL


def catalog_sha256(sha256: str | None = None) -> str:
    return (sha256 or get_settings().catalog_sha256 or DEFAULT_SHA256).strip().lower()


def file_sha256(path: Path) -> str:
    """sha256 of the file's content, of the uncompressed content when it is gzip."""
    with path.open("rb") as probe:
        gzipped = probe.read(2) == GZIP_MAGIC
    opener = gzip.open if gzipped else open
    digest = hashlib.sha256()
    with opener(path, "rb") as handle:  # type: ignore[operator]
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def download_catalogue(
    dest: Path, *, url: str | None = None, sha256: str | None = None, timeout: float = 30.0
) -> Path:
    """Download ``url`` to ``dest`` (``dest`` + ``.gz`` when the server sends gzip) after checking its sha256.

    The file is written to a temp file in the same folder and renamed only once its hash matches,
    so a cut connection never leaves a half file. A file already there with the right hash is
    reused. Network failures raise CatalogNotFound (with what to do instead); a hash mismatch
    raises CatalogDownloadError and leaves nothing behind. Returns the path written.
    """
    url = catalog_url(url)
    expected = catalog_sha256(sha256)
    gz_dest = dest.with_name(dest.name + ".gz")
    for existing in (dest, gz_dest):
        if existing.is_file() and file_sha256(existing) == expected:
            return existing
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            _fetch(url, out, timeout)
        try:
            actual = file_sha256(tmp)
        except (OSError, EOFError) as exc:
            raise CatalogDownloadError(f"The catalogue downloaded from {url} is damaged ({exc}).") from None
        if actual != expected:
            raise CatalogDownloadError(
                f"The catalogue downloaded from {url} has sha256 {actual}, but {expected} was expected, "
                "so it was not used. The file may have changed upstream or been damaged on the way. "
                "If you trust the new file, set SONGREC_CATALOG_SHA256 to its hash; otherwise set "
                "SONGREC_DATA or pass --catalog with a local copy."
            )
        with tmp.open("rb") as probe:
            final = gz_dest if probe.read(2) == GZIP_MAGIC else dest
        os.chmod(tmp, 0o644)
        os.replace(tmp, final)
        log.info("catalogue downloaded from %s to %s", url, final)
        return final
    finally:
        if tmp.exists():
            tmp.unlink()


def _fetch(url: str, out: object, timeout: float) -> None:
    request = urllib.request.Request(url, headers={"User-Agent": "songrec"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            with progress_bar(total=total, unit="B", unit_scale=True, desc="catalogue download") as bar:
                while chunk := response.read(CHUNK):
                    out.write(chunk)  # type: ignore[attr-defined]
                    bar.update(len(chunk))
    except urllib.error.HTTPError as exc:
        raise CatalogNotFound(
            f"No track catalogue found locally, and the download from {url} failed: "
            f"the server answered HTTP {exc.code} {exc.reason}.\n" + HOW_TO_PROVIDE.format(url=url)
        ) from None
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise CatalogNotFound(
            f"No track catalogue found locally, and the download from {url} failed ({reason}).\n"
            + HOW_TO_PROVIDE.format(url=url)
        ) from None
