"""Default catalogue resolution: explicit paths, SONGREC_DATA, the cache, and the download over 127.0.0.1."""

from __future__ import annotations

import csv
import gzip
import hashlib
import http.server
import io
import socket
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pandas as pd
import pytest

from songrec.catalog import load_default_catalogue, save_catalogue
from songrec.catalog import resolve as resolve_module
from songrec.catalog.download import DEFAULT_SHA256, DEFAULT_URL
from songrec.domain import CatalogDownloadError, CatalogError, CatalogNotFound

HEADER = [
    "track_id",
    "track_name",
    "track_artist",
    "track_popularity",
    "track_album_id",
    "track_album_name",
    "track_album_release_date",
    "playlist_name",
    "playlist_id",
    "playlist_genre",
    "playlist_subgenre",
    "danceability",
    "energy",
    "key",
    "loudness",
    "mode",
    "speechiness",
    "acousticness",
    "instrumentalness",
    "liveness",
    "valence",
    "tempo",
    "duration_ms",
]
IDS = [f"{i:02d}" + "QRSTUVWXYZqrstuvwxyz" for i in range(6)]


def tidy_csv(ids: list[str] = IDS[:3], *, bad_tempo_for: str | None = None) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for n, track in enumerate(ids):
        tempo = "fast" if track == bad_tempo_for else "120.5"
        writer.writerow(
            [
                track,
                f"Song {n}",
                "Artist",
                str(40 + n),
                "alb",
                "Album",
                f"{2000 + n}-01-02",
                "pl",
                "pid",
                "pop",
            ]
            + ["dance pop", "0.7", "0.8", "5", "-6.1", "1", "0.05", "0.1", "0", "0.2", "0.6", tempo, "200000"]
        )
    return out.getvalue().encode()


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own SONGREC_HOME and no outside catalogue sources."""
    home = tmp_path / "home"
    monkeypatch.setenv("SONGREC_HOME", str(home))
    for name in ("SONGREC_DATA", "SONGREC_CATALOG_URL", "SONGREC_CATALOG_SHA256"):
        monkeypatch.delenv(name, raising=False)
    return home


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A real HTTP server on 127.0.0.1 serving files from a folder; yields (base url, folder)."""
    root = tmp_path / "www"
    root.mkdir()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", root
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/spotify_songs.csv"


def assert_says_what_to_do(message: str) -> None:
    assert "SONGREC_DATA" in message and "--catalog" in message and "internet" in message


def test_defaults_are_the_public_tidytuesday_file() -> None:
    assert DEFAULT_URL == (
        "https://raw.githubusercontent.com/rfordatascience/tidytuesday/master/data/2020/2020-01-21/spotify_songs.csv"
    )
    assert DEFAULT_SHA256 == "9902920cfe4940f0914ebb6716801a42f7f19ac88fbd6693eaae7e2822b16845"


def test_download_with_good_hash_then_cached(server: tuple[str, Path], home: Path) -> None:
    base, root = server
    body = tidy_csv()
    (root / "spotify_songs.csv").write_bytes(body)
    build = load_default_catalogue(url=f"{base}/spotify_songs.csv", sha256=hashlib.sha256(body).hexdigest())
    assert sorted(build.frame["track_id"]) == sorted(IDS[:3])
    assert build.frame["sources"].eq("tidytuesday").all()
    downloads = home / "catalog" / "downloads"
    assert [p.name for p in downloads.iterdir()] == ["spotify_songs.csv"]  # no .part file left
    assert (downloads / "spotify_songs.csv").read_bytes() == body
    # Offline now: the cached catalogue is found before any download is tried.
    again = load_default_catalogue(url=closed_port_url(), sha256="0" * 64)
    assert again.content_hash == build.content_hash
    pd.testing.assert_frame_equal(again.frame, build.frame)


def test_download_url_and_hash_from_the_environment_gzip_body(
    server: tuple[str, Path], monkeypatch: pytest.MonkeyPatch, home: Path
) -> None:
    base, root = server
    body = tidy_csv(IDS[:2])
    (root / "songs.csv.gz").write_bytes(gzip.compress(body))
    monkeypatch.setenv("SONGREC_CATALOG_URL", f"{base}/songs.csv.gz")
    monkeypatch.setenv("SONGREC_CATALOG_SHA256", hashlib.sha256(body).hexdigest())  # of the uncompressed CSV
    build = load_default_catalogue()
    assert sorted(build.frame["track_id"]) == sorted(IDS[:2])
    assert (home / "catalog" / "downloads" / "spotify_songs.csv.gz").is_file()


def test_download_with_bad_hash_is_refused_and_leaves_nothing(server: tuple[str, Path], home: Path) -> None:
    base, root = server
    body = tidy_csv()
    (root / "spotify_songs.csv").write_bytes(body)
    expected = "ab" * 32
    with pytest.raises(CatalogDownloadError) as info:
        load_default_catalogue(url=f"{base}/spotify_songs.csv", sha256=expected)
    message = str(info.value)
    assert expected in message and hashlib.sha256(body).hexdigest() in message
    assert "SONGREC_CATALOG_SHA256" in message
    downloads = home / "catalog" / "downloads"
    assert not downloads.exists() or list(downloads.iterdir()) == []
    assert not (home / "catalog" / "default.json").exists()


def test_server_down_gives_a_clear_error() -> None:
    url = closed_port_url()
    with pytest.raises(CatalogNotFound) as info:
        load_default_catalogue(url=url, sha256="0" * 64)
    message = str(info.value)
    assert url in message and "download" in message
    assert_says_what_to_do(message)


def test_http_404_gives_a_clear_error(server: tuple[str, Path]) -> None:
    base, _ = server
    with pytest.raises(CatalogNotFound, match="HTTP 404") as info:
        load_default_catalogue(url=f"{base}/missing.csv")
    assert_says_what_to_do(str(info.value))


def test_offline_with_nothing_raises_catalog_not_found() -> None:
    with pytest.raises(CatalogNotFound) as info:
        load_default_catalogue(download=False)
    assert_says_what_to_do(str(info.value))


def test_songrec_data_folder_then_its_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    (data / "spotify-tidytuesday-2020-01-21").mkdir(parents=True)
    (data / "spotify-tidytuesday-2020-01-21" / "spotify_songs.csv.gz").write_bytes(gzip.compress(tidy_csv()))
    (data / "notes").mkdir()
    (data / "notes" / "other.csv").write_text("a,b\n1,2\n")  # unknown schema: ignored
    monkeypatch.setenv("SONGREC_DATA", str(data))
    build = load_default_catalogue(download=False)
    assert len(build.frame) == 3
    assert build.inputs == ["spotify-tidytuesday-2020-01-21/spotify_songs.csv.gz"]

    # Second call reads the parquet cache instead of building again.
    def no_rebuild(*args: object, **kwargs: object) -> None:
        raise AssertionError("catalogue rebuilt although cached")

    monkeypatch.setattr(resolve_module, "build_from_files", no_rebuild)
    assert load_default_catalogue(download=False).content_hash == build.content_hash
    # Without SONGREC_DATA the last default catalogue is still found.
    monkeypatch.delenv("SONGREC_DATA")
    assert load_default_catalogue(download=False).content_hash == build.content_hash


def test_explicit_csv_path_is_auto_detected_and_cached_by_content(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "songs.csv"
    path.write_bytes(tidy_csv(IDS[:4], bad_tempo_for=IDS[1]))
    build = load_default_catalogue(path)
    assert sorted(build.frame["track_id"]) == sorted([IDS[0], IDS[2], IDS[3]])
    assert [(i.row, i.column, i.value) for i in build.issues] == [(2, "tempo", "fast")]
    with pytest.raises(CatalogError, match="row 2"):
        load_default_catalogue(path, strict=True)  # from the cache, still strict
    path.write_bytes(tidy_csv(IDS[:2]))  # new content -> new cache entry
    assert len(load_default_catalogue(path)) == 2
    # An explicit path does not become the default catalogue.
    with pytest.raises(CatalogNotFound):
        load_default_catalogue(download=False)


def test_explicit_parquet_and_folder(tmp_path: Path) -> None:
    csv_path = tmp_path / "folder" / "spotify_songs.csv"
    csv_path.parent.mkdir()
    csv_path.write_bytes(tidy_csv())
    from_folder = load_default_catalogue(csv_path.parent)
    parquet = save_catalogue(from_folder, tmp_path / "cat.parquet")
    from_parquet = load_default_catalogue(parquet)
    assert from_parquet.content_hash == from_folder.content_hash
    pd.testing.assert_frame_equal(from_parquet.frame, from_folder.frame)


def test_foreign_parquet_is_validated(tmp_path: Path) -> None:
    good = load_default_catalogue(_write(tmp_path / "s.csv", tidy_csv()))
    foreign = good.frame.drop(columns=["sources", "year_imputed", "popularity_imputed", "explicit_imputed"])
    foreign.loc[1, "danceability"] = 3.0
    path = tmp_path / "foreign.parquet"
    foreign.to_parquet(path)
    build = load_default_catalogue(path)
    assert len(build.frame) == 2
    assert [(i.row, i.column, i.value) for i in build.issues] == [(2, "danceability", "3.0")]
    with pytest.raises(CatalogError):
        load_default_catalogue(path, strict=True)


def test_bad_explicit_paths(tmp_path: Path) -> None:
    with pytest.raises(CatalogNotFound, match="does not exist") as info:
        load_default_catalogue(tmp_path / "nope.csv")
    assert_says_what_to_do(str(info.value))
    with pytest.raises(CatalogError, match="not in a known catalogue schema"):
        load_default_catalogue(_write(tmp_path / "other.csv", b"a,b\n1,2\n"))
    with pytest.raises(CatalogError, match="neither"):
        load_default_catalogue(_write(tmp_path / "x.txt", b"hello"))
    all_bad = tidy_csv(["short"])
    with pytest.raises(CatalogError, match="No valid tracks") as info:
        load_default_catalogue(_write(tmp_path / "bad.csv", all_bad))
    assert "'short'" in str(info.value)
    (tmp_path / "empty").mkdir()
    with pytest.raises(CatalogNotFound, match="No track catalogue files"):
        load_default_catalogue(tmp_path / "empty")


def _write(path: Path, body: bytes) -> Path:
    path.write_bytes(body)
    return path
