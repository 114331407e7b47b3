"""A fake Spotify whose library overlaps the small test catalogue, and a real Service wired to it.

The catalogue (tests/support/service_env.py) has "Song i" by "Artist i % 37" with random base62 ids. The fake
serves some of those songs under the catalogue's own ids (as a real catalogue built from Spotify data
does), plus songs the catalogue lacks, so every resolve/import path has something real to find.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from songrec.content.engine import Engine
from songrec.service import Service, ServiceConfig
from songrec.spotify import SpotifyClient, SpotifyConfig
from tests.support.spotify_server import FakeSpotify

#: Catalogue rows the fake serves under the catalogue's ids.
MIRRORED = range(0, 60)
DEPRECATED = r"audio-features|audio-analysis|recommendations|related-artists"


class RecordingSleep:
    """Stands in for asyncio.sleep inside SpotifyClient: retry delays are recorded, not waited for."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def catalogue_track(eng: Engine, row: int) -> tuple[str, str, str]:
    """(track id, name, first artist) of a catalogue row."""
    rec = eng.catalog.iloc[row]
    return str(rec["track_id"]), str(rec["name"]), str(rec["artists"][0])


def mirrored_fake(eng: Engine) -> FakeSpotify:
    """A started fake serving MIRRORED catalogue rows under their catalogue ids (caller stops it)."""
    fake = FakeSpotify()
    for row in MIRRORED:
        tid, name, artist = catalogue_track(eng, row)
        fake.add_track(name, artist, album=f"Album of {name}", track_id=tid)
    return fake.start()


def spotify_config(fake: FakeSpotify, tmp_path: Path, **overrides: Any) -> SpotifyConfig:
    options: dict[str, Any] = {
        "client_id": fake.client_id,
        "client_secret": fake.client_secret,
        "token_cache_path": tmp_path / "spotify_token.json",
        "api_prefix": fake.api_prefix,
        "accounts_url": fake.accounts_url,
    }
    options.update(overrides)
    return SpotifyConfig(**options)


def spotify_env(fake: FakeSpotify, tmp_path: Path) -> dict[str, str]:
    """The environment variables that point songrec (CLI, chat, bot) at the fake."""
    return {
        "SPOTIFY_CLIENT_ID": fake.client_id,
        "SPOTIFY_CLIENT_SECRET": fake.client_secret,
        "SPOTIFY_API_PREFIX": fake.api_prefix,
        "SPOTIFY_ACCOUNTS_URL": fake.accounts_url,
        "SPOTIFY_TOKEN_CACHE": str(tmp_path / "spotify_token.json"),
    }


def store_login(fake: FakeSpotify, cfg: SpotifyConfig, *, expired: bool = False) -> dict[str, Any]:
    """What `songrec spotify-login` leaves behind: a stored token with a refresh token."""
    token = fake.issue_user_token(expired=expired)
    cfg.token_cache_path.write_text(json.dumps(token))
    return token


@contextlib.asynccontextmanager
async def open_spotify_service(
    db_path: Path, spotify: SpotifyClient | None, *, artifacts: Path, engine: Engine, **config: Any
) -> AsyncIterator[Service]:
    """A real Service (on the small_artifact / small_engine fixtures' values) that talks to `spotify`."""
    options = {"seed": 0, "cpu_workers": 2, **config}
    service = await Service.open(
        db_path=db_path,
        artifacts=artifacts,
        engine=engine,
        config=ServiceConfig(**options),
        spotify=spotify,
    )
    try:
        yield service
    finally:
        await service.close()
