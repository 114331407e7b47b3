"""`songrec import-playlist`, `songrec export-playlist` and chat's /import and /export, against the
fake Spotify, with the real service on a real SQLite file and the small real artifact.

The commands run in this process (songrec.cli.main), with the environment a user would set: SONGREC_HOME
holding the artifact, SPOTIFY_* pointing at the fake.
"""

from __future__ import annotations

import io
import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from songrec.cli import main as cli
from songrec.cli.chat import Chat, user_id_for
from songrec.content.engine import Engine
from songrec.spotify import SpotifyClient, SpotifyConfig
from tests.support.spotify_env import (
    DEPRECATED,
    catalogue_track,
    mirrored_fake,
    open_spotify_service,
    spotify_env,
    store_login,
)
from tests.support.spotify_server import FakeSpotify

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def fake(small_engine: Engine) -> Iterator[FakeSpotify]:
    server = mirrored_fake(small_engine)
    try:
        yield server
    finally:
        server.stop()
    assert server.calls(path=re.compile(DEPRECATED)) == []


@pytest.fixture
def home(small_artifact: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A SONGREC_HOME whose artifacts are the small test artifact (linked, not copied)."""
    root = tmp_path / "home"
    root.mkdir()
    (root / "artifacts").symlink_to(small_artifact, target_is_directory=True)
    monkeypatch.setenv("SONGREC_HOME", str(root))
    monkeypatch.delenv("SONGREC_DB", raising=False)
    for name in ("SPOTIFY_CLIENT_ID", "SPOTIFY_CLIENT_SECRET", "SPOTIFY_TOKEN_CACHE"):
        monkeypatch.delenv(name, raising=False)
    return root


@pytest.fixture
def with_spotify(fake: FakeSpotify, home: Path, monkeypatch: pytest.MonkeyPatch) -> SpotifyConfig:
    for name, value in spotify_env(fake, home).items():
        monkeypatch.setenv(name, value)
    return SpotifyConfig.from_env()


def songrec(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def suggested(home: Path, user: str) -> list[str]:
    with sqlite3.connect(home / "songrec.sqlite3") as conn:
        rows = conn.execute(
            "SELECT track_id FROM suggestions WHERE user_id = ? ORDER BY id", (user_id_for(user),)
        ).fetchall()
    return [r[0] for r in rows]


def test_import_then_export_a_playlist(
    small_engine: Engine,
    fake: FakeSpotify,
    home: Path,
    with_spotify: SpotifyConfig,
    capsys: pytest.CaptureFixture[str],
) -> None:
    eng = small_engine
    known = [catalogue_track(eng, r) for r in range(10, 16)]
    stranger = fake.add_track("Song Nobody Has", "Unsigned Band")
    pid = fake.add_playlist("Gym", [known[0][0], stranger, *[k[0] for k in known[1:]]])

    code, out, err = songrec(
        capsys, "import-playlist", f"https://open.spotify.com/playlist/{pid}", "--user", "ann", "-k", "4"
    )
    assert code == 0, err
    assert "Took 6 of 7 tracks from the playlist “Gym”" in out
    assert "1 isn't in the catalogue yet (e.g. Song Nobody Has by Unsigned Band)" in out
    for _, name, artist in known:
        assert f"{name} — {artist}" in out
    assert "Suggestions from them:" in out and "songrec export-playlist --user ann" in out
    picks = suggested(home, "ann")
    assert len(picks) == 4 and not set(picks) & {k[0] for k in known}

    store_login(fake, with_spotify, expired=True)
    code, out, err = songrec(capsys, "export-playlist", "--user", "ann", "--name", "Gym picks")
    assert code == 0, err
    url = out.split(": ", 1)[1].split()[0]
    created = fake.playlists[url.rsplit("/", 1)[1]]
    assert created.name == "Gym picks" and created.entries == picks
    assert out.startswith("Created “Gym picks” with 4 songs: https://open.spotify.com/playlist/")


def test_unavailable_playlist_and_expired_login_are_explained(
    small_engine: Engine,
    fake: FakeSpotify,
    home: Path,
    with_spotify: SpotifyConfig,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pid = fake.add_playlist("Discover Weekly", [catalogue_track(small_engine, 1)[0]], editorial=True)
    code, out, err = songrec(capsys, "import-playlist", f"spotify:playlist:{pid}", "--user", "bo")
    assert code == cli.EXIT_INPUT and "Spotify-made playlists" in err and "Traceback" not in err

    assert songrec(capsys, "import-playlist", "https://open.spotify.com/show/x", "--user", "bo")[0] == 2

    code, out, err = songrec(capsys, "export-playlist", "--user", "bo")
    assert code == cli.EXIT_INPUT and "nothing to export yet" in err

    good = fake.add_playlist("Mine", [catalogue_track(small_engine, r)[0] for r in (2, 3)])
    assert songrec(capsys, "import-playlist", good, "--user", "bo", "-k", "2")[0] == 0
    store_login(fake, with_spotify, expired=True)
    fake.revoke_refresh_tokens()
    code, out, err = songrec(capsys, "export-playlist", "--user", "bo")
    assert code == cli.EXIT_INPUT
    assert "expired or was revoked" in err and "songrec spotify-login" in err


def test_without_spotify_credentials_the_commands_say_how(
    fake: FakeSpotify, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = songrec(capsys, "import-playlist", "spotify:playlist:37i9dQZF1DXcBWIGoYBM5M")
    assert code == cli.EXIT_INPUT and "SPOTIFY_CLIENT_ID" in err and "Traceback" not in err
    code, out, err = songrec(capsys, "export-playlist", "--count", "5")
    assert code == cli.EXIT_INPUT and "songrec spotify-login" in err and "SPOTIFY_CLIENT_ID" in err
    code, out, err = songrec(capsys, "recommend", "Song 12", "-k", "3")  # the rest still works
    assert code == 0 and out.startswith("Songs like Song 12")
    assert fake.requests == []


async def test_chat_import_and_export(
    small_artifact: Path, small_engine: Engine, fake: FakeSpotify, tmp_path: Path
) -> None:
    cfg = SpotifyConfig(
        client_id=fake.client_id,
        client_secret=fake.client_secret,
        token_cache_path=tmp_path / "token.json",
        api_prefix=fake.api_prefix,
        accounts_url=fake.accounts_url,
    )
    known = [catalogue_track(small_engine, r)[0] for r in range(30, 36)]
    pid = fake.add_playlist("Chill", known)
    out = io.StringIO()

    async def no(_: str) -> str:
        return "n"

    async with (
        SpotifyClient(cfg, timeout=5) as client,
        open_spotify_service(
            tmp_path / "chat.sqlite3", client, artifacts=small_artifact, engine=small_engine
        ) as service,
    ):
        chat = Chat(service, user_id_for("cy"), out, no)
        await chat.handle(f"/import https://open.spotify.com/playlist/{pid}")
        text = out.getvalue()
        assert "Took 6 of 6 tracks from the playlist “Chill”" in text and " 1. " in text
        await chat.handle("/export 3")
        assert "Spotify export needs the operator's Spotify login" in out.getvalue()
        store_login(fake, cfg)
        await chat.handle("/export 3")
        line = out.getvalue().splitlines()[-1]
        assert line.startswith("Created “songrec suggestions ") and "with 3 songs" in line
        pid_out = line.rsplit("/", 1)[1]
        assert fake.playlists[pid_out].entries == [s.track.track_id for s in chat.shown][-3:]
        await chat.handle("/export soon")
        assert "Give a number" in out.getvalue().splitlines()[-1]


def test_recommend_takes_spotify_links_outside_the_catalogue(
    small_engine: Engine,
    fake: FakeSpotify,
    home: Path,
    with_spotify: SpotifyConfig,
    capsys: pytest.CaptureFixture[str],
) -> None:
    eng = small_engine
    _, name, artist = catalogue_track(eng, 75)
    other_release = fake.add_track(name, artist, album=f"{name} (Live at Home)")
    code, out, err = songrec(capsys, "recommend", f"spotify:track:{other_release}", "-k", "3")
    assert code == 0, err
    assert out.startswith(f"Songs like {name} — {artist}")

    unknown = fake.add_track("Brand New Single", artist)
    code, out, err = songrec(capsys, "recommend", f"https://open.spotify.com/track/{unknown}")
    assert code == cli.EXIT_NOT_FOUND
    assert f"“Brand New Single” by {artist} is not in the catalogue yet" in err and f"by {artist}" in err

    ids = [catalogue_track(eng, r)[0] for r in (80, 81, 82)]
    album, _ = fake.add_album("Three", "Various", ["x", "y", "z"], track_ids=ids)
    code, out, err = songrec(
        capsys, "recommend", f"https://open.spotify.com/album/{album}", "-k", "5", "--json"
    )
    assert code == 0, err
    payload = json.loads(out)
    assert payload["seed"]["track_id"] == ids[0]
    assert len(payload["suggestions"]) == 5 and not {s["track_id"] for s in payload["suggestions"]} & set(ids)
