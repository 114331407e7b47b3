"""SpotifyClient, resolve_track_ref and spotify_login against the fake Spotify on 127.0.0.1."""

from __future__ import annotations

import base64
import json
import logging
import re
import socket
import stat
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from spotipy.exceptions import SpotifyException

from songrec.domain import (
    MalformedSpotifyLink,
    SpotifyAuthError,
    SpotifyFeatureUnavailable,
    SpotifyNotConfigured,
    SpotifyNotFound,
    SpotifyPlaylistHidden,
    SpotifyRateLimited,
    SpotifyUnavailable,
)
from songrec.spotify import (
    Resolution,
    SpotifyClient,
    SpotifyConfig,
    SpotifyTrack,
    TrackCache,
    parse_redirect,
    resolve_track_ref,
    spotify_login,
)
from songrec.spotify.links import SpotifyRef
from tests.support.spotify_server import FakeSpotify, make_id, seeded_fake


class MemoryTrackCache:
    """In-memory TrackCache for these tests (songrec.store.Store provides the same two methods)."""

    def __init__(self) -> None:
        self.data: dict[str, dict[str, Any]] = {}
        self.gets = 0

    async def get_spotify_track(self, track_id: str) -> dict[str, Any] | None:
        self.gets += 1
        payload = self.data.get(track_id)
        return json.loads(json.dumps(payload)) if payload is not None else None

    async def put_spotify_track(self, track_id: str, payload: dict[str, Any]) -> None:
        self.data[track_id] = json.loads(json.dumps(payload))  # must be JSON-serialisable, as in SQLite


class RecordingSleep:
    """Stands in for asyncio.sleep so retry delays are asserted, not waited for."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


@pytest.fixture
def fake() -> Iterator[FakeSpotify]:
    with seeded_fake() as server:
        yield server


@pytest.fixture
def cfg(fake: FakeSpotify, tmp_path: Path) -> SpotifyConfig:
    return SpotifyConfig(
        client_id=fake.client_id,
        client_secret=fake.client_secret,
        token_cache_path=tmp_path / "spotify_token.json",
        api_prefix=fake.api_prefix,
        accounts_url=fake.accounts_url,
    )


@pytest.fixture
def sleeps() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
async def cache(tmp_path: Path) -> AsyncIterator[TrackCache]:
    """The real SQLite-backed Store when it is importable, else the in-memory stand-in."""
    try:
        from songrec.store import Store
    except ImportError:  # pragma: no cover - only while the store is being written
        yield MemoryTrackCache()
        return
    store = await Store.open(tmp_path / "songrec.sqlite3")
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
async def client(
    cfg: SpotifyConfig, cache: TrackCache, sleeps: RecordingSleep
) -> AsyncIterator[SpotifyClient]:
    async with SpotifyClient(cfg, cache, sleep=sleeps, timeout=5, max_attempts=3) as spotify:
        yield spotify


def track_id(fake: FakeSpotify, name: str) -> str:
    return next(t.id for t in fake.tracks.values() if t.name == name)


def store_login(fake: FakeSpotify, cfg: SpotifyConfig, expired: bool = False) -> dict[str, Any]:
    token = fake.issue_user_token(expired=expired)
    cfg.token_cache_path.write_text(json.dumps(token))
    return token


# ----------------------------------------------------------------------------------- configuration


def test_config_from_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SONGREC_HOME", str(tmp_path))
    cfg = SpotifyConfig.from_env({"SPOTIFY_CLIENT_ID": "abc", "SPOTIFY_CLIENT_SECRET": "s3cr3t-value"})
    assert cfg.configured
    assert cfg.redirect_uri == "http://127.0.0.1:8888/callback"
    assert cfg.token_cache_path.parent == tmp_path
    assert cfg.token_url == "https://accounts.spotify.com/api/token"
    assert "s3cr3t-value" not in repr(cfg)
    assert "s3cr3t-value" not in repr(SpotifyClient(cfg))
    overridden = SpotifyConfig.from_env(
        {"SPOTIFY_API_PREFIX": "http://127.0.0.1:1/v1", "SPOTIFY_ACCOUNTS_URL": "http://127.0.0.1:1/"}
    )
    assert overridden.prefix == "http://127.0.0.1:1/v1/"
    assert overridden.token_url == "http://127.0.0.1:1/api/token"
    assert not overridden.configured


async def test_missing_credentials_say_which_variables(tmp_path: Path) -> None:
    async with SpotifyClient(SpotifyConfig(client_id="abc", token_cache_path=tmp_path / "t.json")) as spotify:
        with pytest.raises(SpotifyNotConfigured) as info:
            await spotify.track(make_id("x"))
    assert "SPOTIFY_CLIENT_SECRET" in str(info.value)
    assert "SPOTIFY_CLIENT_ID" not in str(info.value)
    with pytest.raises(SpotifyNotConfigured, match="SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET"):
        SpotifyConfig(token_cache_path=tmp_path / "t.json").require()


async def test_resolve_without_client_uses_catalogue_or_explains() -> None:
    tid = make_id("known")
    resolution = await resolve_track_ref(f"spotify:track:{tid}", {tid}.__contains__, None)
    assert resolution.catalogue_ids == (tid,)
    with pytest.raises(SpotifyNotConfigured, match="SPOTIFY_CLIENT_ID"):
        await resolve_track_ref(f"spotify:track:{make_id('unknown')}", {tid}.__contains__, None)


async def test_bad_client_secret_is_an_auth_error(cfg: SpotifyConfig, fake: FakeSpotify) -> None:
    bad = SpotifyConfig(**{**cfg.__dict__, "client_secret": "wrong"})
    async with SpotifyClient(bad) as spotify:
        with pytest.raises(SpotifyAuthError, match="SPOTIFY_CLIENT_SECRET"):
            await spotify.search_tracks("queen")
    assert fake.api_calls() == []


# ----------------------------------------------------------------------------------- resolve


@pytest.mark.parametrize(
    "form",
    [
        "https://open.spotify.com/track/{id}",
        "https://open.spotify.com/intl-de/track/{id}?si=0123456789abcdef",
        "https://open.spotify.com/track/{id}/?si=abc",
        "spotify:track:{id}",
        "{id}",
    ],
)
async def test_resolve_catalogue_track_by_url_uri_or_id(
    form: str, fake: FakeSpotify, client: SpotifyClient
) -> None:
    tid = track_id(fake, "Bohemian Rhapsody")
    resolution = await resolve_track_ref(form.format(id=tid), {tid}.__contains__, client)
    assert resolution.catalogue_ids == (tid,)
    assert resolution.ref == SpotifyRef("track", tid)
    assert not resolution.not_in_catalogue
    assert fake.api_calls() == []  # in the catalogue: no need to ask Spotify


async def test_resolve_track_not_in_catalogue_carries_metadata(
    fake: FakeSpotify, client: SpotifyClient
) -> None:
    tid = track_id(fake, "Love of My Life")
    resolution = await resolve_track_ref(
        f"https://open.spotify.com/intl-fr/track/{tid}?si=x", lambda _: False, client
    )
    assert resolution.not_in_catalogue
    assert resolution.catalogue_ids == ()
    [track] = resolution.tracks
    assert (track.id, track.name, track.artists, track.album, track.release_year) == (
        tid,
        "Love of My Life",
        ("Queen",),
        "A Night at the Opera",
        1975,
    )
    assert track.popularity is None  # no longer served to development-mode apps
    assert resolution.missing == (track,)
    assert resolution.artist == "Queen"
    assert "catalogue" in (resolution.note or "")
    assert [r.path for r in fake.calls("GET", f"/v1/tracks/{tid}")] == [f"/v1/tracks/{tid}"]


async def test_resolve_prefers_the_catalogue_version_of_a_remaster(
    fake: FakeSpotify, client: SpotifyClient
) -> None:
    remaster = track_id(fake, "Dreams - 2004 Remaster")
    original = track_id(fake, "Dreams")
    resolution = await resolve_track_ref(f"spotify:track:{remaster}", {original}.__contains__, client)
    assert resolution.catalogue_ids == (original,)
    assert resolution.tracks[0].id == remaster
    search = fake.calls("GET", "/v1/search")
    assert len(search) == 1 and int(search[0].query["limit"]) <= 10


async def test_resolve_by_song_name_searches(fake: FakeSpotify, client: SpotifyClient) -> None:
    tid = track_id(fake, "Bohemian Rhapsody")
    resolution = await resolve_track_ref("bohemian rhapsody queen", {tid}.__contains__, client)
    assert resolution.source == "search"
    assert resolution.catalogue_ids == (tid,)
    assert resolution.tracks[0].name == "Bohemian Rhapsody"
    with pytest.raises(SpotifyNotFound, match="found nothing"):
        await resolve_track_ref("no such song anywhere", lambda _: True, client)


async def test_resolve_malformed_link_raises_before_any_request(
    fake: FakeSpotify, client: SpotifyClient
) -> None:
    with pytest.raises(MalformedSpotifyLink, match="looks malformed"):
        await resolve_track_ref("https://open.spotify.com/track/123", lambda _: True, client)
    assert fake.calls() == []


async def test_resolve_unknown_track_id(fake: FakeSpotify, client: SpotifyClient) -> None:
    with pytest.raises(SpotifyNotFound, match="check the link"):
        await resolve_track_ref(f"spotify:track:{make_id('nope')}", lambda _: False, client)


async def test_resolve_album_returns_its_tracks_as_seeds(fake: FakeSpotify, client: SpotifyClient) -> None:
    album_id = next(a.id for a in fake.albums.values() if a.name == "A Night at the Opera")
    known = {track_id(fake, "Bohemian Rhapsody"), track_id(fake, "You're My Best Friend")}
    resolution = await resolve_track_ref(
        f"https://open.spotify.com/album/{album_id}", known.__contains__, client
    )
    assert resolution.source == "album"
    assert resolution.title == "A Night at the Opera"
    assert resolution.catalogue_ids == (
        track_id(fake, "You're My Best Friend"),
        track_id(fake, "Bohemian Rhapsody"),
    )
    assert [t.name for t in resolution.missing] == ["Death on Two Legs", "Love of My Life"]
    assert all(t.album == "A Night at the Opera" and t.release_year == 1975 for t in resolution.tracks)


async def test_resolve_artist_gives_a_name_to_search_the_catalogue(
    fake: FakeSpotify, client: SpotifyClient
) -> None:
    artist_id = next(aid for aid, name in fake.artists.items() if name == "Fleetwood Mac")
    resolution = await resolve_track_ref(f"spotify:artist:{artist_id}", lambda _: True, client)
    assert isinstance(resolution, Resolution)
    assert resolution.artist == "Fleetwood Mac"
    assert resolution.not_in_catalogue and "Fleetwood Mac" in (resolution.note or "")


# ----------------------------------------------------------------------------------- errors and retries


@pytest.mark.filterwarnings("ignore:You're using:DeprecationWarning")
async def test_deprecated_endpoints_raise_feature_unavailable(
    fake: FakeSpotify, client: SpotifyClient
) -> None:
    tid = track_id(fake, "Dreams")
    with pytest.raises(SpotifyFeatureUnavailable, match="catalogue"):
        await client.audio_features([tid])
    with pytest.raises(SpotifyFeatureUnavailable, match="catalogue"):
        await client.recommendations([tid])
    statuses = [(r.path.rstrip("/"), r.status) for r in fake.api_calls()]
    assert statuses == [("/v1/audio-features", 403), ("/v1/recommendations", 404)]  # not retried


async def test_429_is_retried_after_retry_after(
    fake: FakeSpotify, client: SpotifyClient, sleeps: RecordingSleep
) -> None:
    tid = track_id(fake, "Dreams")
    fake.rate_limit(times=1, retry_after=2)
    track = await client.track(tid)
    assert track.name == "Dreams"
    calls = fake.calls("GET", f"/v1/tracks/{tid}")
    assert [c.status for c in calls] == [429, 200]
    assert sleeps.delays == [2.0]


async def test_long_retry_after_is_not_slept(
    fake: FakeSpotify, client: SpotifyClient, sleeps: RecordingSleep
) -> None:
    fake.rate_limit(times=1, retry_after=86_400)
    with pytest.raises(SpotifyRateLimited, match="try again") as info:
        await client.search_tracks("dreams")
    assert info.value.retry_after == 86_400
    assert sleeps.delays == []


async def test_server_errors_back_off_then_succeed(
    fake: FakeSpotify, client: SpotifyClient, sleeps: RecordingSleep
) -> None:
    fake.fail(2, 503)
    assert [t.name for t in await client.search_tracks("go your own way")] == ["Go Your Own Way"]
    assert [c.status for c in fake.calls("GET", "/v1/search")] == [503, 503, 200]
    assert len(sleeps.delays) == 2 and all(d > 0 for d in sleeps.delays)


async def test_unreachable_spotify_gives_up_with_a_message(
    cfg: SpotifyConfig, sleeps: RecordingSleep
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    down = SpotifyConfig(**{**cfg.__dict__, "accounts_url": dead, "api_prefix": dead + "/v1/"})
    async with SpotifyClient(down, sleep=sleeps, max_attempts=3, backoff_base=0.5) as spotify:
        with pytest.raises(SpotifyUnavailable, match="try again"):
            await spotify.search_tracks("dreams")
    assert len(sleeps.delays) == 2
    assert 0.25 <= sleeps.delays[0] <= 0.5 and 0.5 <= sleeps.delays[1] <= 1.0  # exponential, jittered


# ----------------------------------------------------------------------------------- search and import


async def test_search_limit_is_capped_at_ten(fake: FakeSpotify, client: SpotifyClient) -> None:
    fake.add_album("Many", "Looper", [f"Loop {i}" for i in range(25)])
    hits = await client.search_tracks("loop", limit=50)
    assert len(hits) == 10
    assert [c.query["limit"] for c in fake.calls("GET", "/v1/search")] == ["10"]
    with pytest.raises(SpotifyException) as info:  # the fake enforces the real cap, so the clamp matters
        client._app_client().search("loop", limit=20)
    assert info.value.http_status == 400


async def test_playlist_import_follows_paging(fake: FakeSpotify, client: SpotifyClient) -> None:
    _, ids = fake.add_album("Long Mix", "Various", [f"Song {i}" for i in range(120)])
    pid = fake.add_playlist(
        "Road trip", [*ids[:60], None, ("local", "demo.mp3"), ("episode", make_id("ep")), *ids[60:]]
    )
    collection = await client.playlist(f"https://open.spotify.com/playlist/{pid}?si=abc")
    assert collection.name == "Road trip"
    assert [t.id for t in collection.tracks] == ids
    assert collection.skipped == 3
    pages = [(c.path, c.query.get("offset")) for c in fake.api_calls()]
    assert pages == [
        (f"/v1/playlists/{pid}", None),
        (f"/v1/playlists/{pid}/items", "50"),
        (f"/v1/playlists/{pid}/items", "100"),
    ]
    assert await client.playlist_tracks(pid) == list(collection.tracks)


async def test_editorial_playlist_is_explained(fake: FakeSpotify, client: SpotifyClient) -> None:
    pid = fake.add_playlist(
        "Today's Top Hits", [track_id(fake, "Dreams")], owner_id="spotify", editorial=True
    )
    with pytest.raises(SpotifyPlaylistHidden, match="Spotify-made playlists"):
        await client.playlist_tracks(pid)
    with pytest.raises(SpotifyPlaylistHidden):
        await resolve_track_ref(f"spotify:playlist:{pid}", lambda _: True, client)


async def test_owner_only_playlists_fall_back_to_the_user_login(
    fake: FakeSpotify, cfg: SpotifyConfig, client: SpotifyClient
) -> None:
    fake.owner_only_playlists = True  # development mode: items only for the owner
    mine = fake.add_playlist("Mine", [track_id(fake, "Dreams")], owner_id=fake.user_id)
    theirs = fake.add_playlist("Theirs", [track_id(fake, "Dreams")], owner_id="stranger")
    with pytest.raises(SpotifyPlaylistHidden, match="owns or collaborates"):
        await client.playlist_tracks(mine)  # no login stored yet
    store_login(fake, cfg)
    assert [t.name for t in await client.playlist_tracks(mine)] == ["Dreams"]
    with pytest.raises(SpotifyPlaylistHidden):
        await client.playlist_tracks(theirs)


async def test_album_tracks_page_through_the_tracks_endpoint(
    fake: FakeSpotify, client: SpotifyClient
) -> None:
    album_id, ids = fake.add_album("Box Set", "Archive", [f"Take {i}" for i in range(75)], "1999")
    tracks = await client.album_tracks(f"spotify:album:{album_id}")
    assert [t.id for t in tracks] == ids
    assert {t.release_year for t in tracks} == {1999}
    assert [c.query.get("offset") for c in fake.calls("GET", f"/v1/albums/{album_id}/tracks")] == ["50"]


# ----------------------------------------------------------------------------------- cache


async def test_cache_hit_avoids_a_second_request(
    fake: FakeSpotify, cfg: SpotifyConfig, cache: TrackCache, client: SpotifyClient
) -> None:
    tid = track_id(fake, "Go Your Own Way")
    first = await client.track(tid)
    second = await client.track(f"https://open.spotify.com/track/{tid}")
    assert first == second
    assert len(fake.calls("GET", f"/v1/tracks/{tid}")) == 1
    assert (await cache.get_spotify_track(tid) or {})["name"] == "Go Your Own Way"
    async with SpotifyClient(cfg, cache) as fresh:  # a restarted bot with the same cache
        assert await fresh.track(tid) == first
    assert len(fake.calls("GET", f"/v1/tracks/{tid}")) == 1


def test_memory_cache_satisfies_protocol() -> None:
    cache: TrackCache = MemoryTrackCache()
    assert hasattr(cache, "get_spotify_track")
    track = SpotifyTrack(
        "a" * 22, "Song", ("Artist", "Guest"), ("b" * 22,), "Album", None, 1999, 1000, True, "u"
    )
    assert SpotifyTrack.from_payload(json.loads(json.dumps(track.to_payload()))) == track


# ----------------------------------------------------------------------------------- export


async def test_export_creates_playlist_with_tracks_in_order(
    fake: FakeSpotify, cfg: SpotifyConfig, client: SpotifyClient
) -> None:
    store_login(fake, cfg, expired=True)  # forces a refresh_token grant first
    _, ids = fake.add_album("Export", "Exporter", [f"Cut {i}" for i in range(250)])
    wanted = list(reversed(ids))
    url = await client.create_playlist("songrec: Friday", wanted, description="Picked\nfor you")
    pid = url.rsplit("/", 1)[1]
    assert url == f"https://open.spotify.com/playlist/{pid}"
    created = fake.playlists[pid]
    assert created.entries == wanted
    assert (created.owner_id, created.public, created.name) == (fake.user_id, False, "songrec: Friday")
    [create] = fake.calls("POST", "/v1/me/playlists")
    assert create.body == {
        "name": "songrec: Friday",
        "public": False,
        "collaborative": False,
        "description": "Picked for you",
    }
    adds = fake.calls("POST", f"/v1/playlists/{pid}/items")
    assert [len(a.body) for a in adds] == [100, 100, 50]
    assert fake.calls("POST", "/api/token")[0].body["grant_type"] == "refresh_token"
    assert fake.calls("POST", "/v1/users/" + fake.user_id + "/playlists") == []


async def test_export_is_not_retried_on_server_error(
    fake: FakeSpotify, cfg: SpotifyConfig, client: SpotifyClient, sleeps: RecordingSleep
) -> None:
    store_login(fake, cfg)
    fake.fail(1, 503)
    with pytest.raises(SpotifyUnavailable):
        await client.create_playlist("x", [track_id(fake, "Dreams")])
    assert len(fake.calls("POST", "/v1/me/playlists")) == 1 and sleeps.delays == []
    fake.rate_limit(1, retry_after=1)  # 429 means nothing was done, so that one is retried
    await client.create_playlist("x", [track_id(fake, "Dreams")])
    assert [c.status for c in fake.calls("POST", "/v1/me/playlists")] == [503, 429, 201]


async def test_revoked_refresh_token_asks_to_log_in_again(
    fake: FakeSpotify, cfg: SpotifyConfig, client: SpotifyClient
) -> None:
    store_login(fake, cfg, expired=True)
    fake.revoke_refresh_tokens()
    with pytest.raises(SpotifyAuthError, match="songrec spotify-login"):
        await client.create_playlist("x", [track_id(fake, "Dreams")])
    assert fake.calls("POST", "/v1/me/playlists") == []


async def test_export_without_login_asks_to_log_in(fake: FakeSpotify, client: SpotifyClient) -> None:
    with pytest.raises(SpotifyAuthError, match="songrec spotify-login"):
        await client.create_playlist("x", [track_id(fake, "Dreams")])


async def test_export_rejects_malformed_ids(
    fake: FakeSpotify, cfg: SpotifyConfig, client: SpotifyClient
) -> None:
    store_login(fake, cfg)
    with pytest.raises(MalformedSpotifyLink):
        await client.create_playlist("x", ["not-an-id"])
    assert fake.api_calls() == []


# ----------------------------------------------------------------------------------- login


def _login(fake: FakeSpotify, cfg: SpotifyConfig, rewrite: Callable[[str], str] = str) -> list[str]:
    printed: list[str] = []

    def browser(prompt: str) -> str:
        authorize_url = next(line for line in printed if line.startswith(fake.accounts_url))
        redirect = requests.get(authorize_url, allow_redirects=False, timeout=5).headers["Location"]
        return rewrite(redirect)

    spotify_login(cfg, input_fn=browser, print_fn=printed.append)
    return printed


async def test_login_stores_a_private_token_then_export_works(
    fake: FakeSpotify, cfg: SpotifyConfig, client: SpotifyClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    printed = _login(fake, cfg)
    assert "Songrec Owner" in printed[-1]
    assert stat.S_IMODE(cfg.token_cache_path.stat().st_mode) == 0o600
    token = json.loads(cfg.token_cache_path.read_text())
    assert token["refresh_token"] and "playlist-modify-private" in token["scope"]
    authorize = next(line for line in printed if "/authorize?" in line)
    assert "scope=playlist-modify-public+playlist-modify-private" in authorize
    assert "redirect_uri=http%3A%2F%2F127.0.0.1%3A8888%2Fcallback" in authorize
    url = await client.create_playlist("after login", [track_id(fake, "Dreams")])
    assert url.startswith("https://open.spotify.com/playlist/")
    basic = base64.b64encode(f"{fake.client_id}:{fake.client_secret}".encode()).decode()
    for secret in (fake.client_secret, basic, token["access_token"], token["refresh_token"]):
        assert secret not in caplog.text


def test_login_rejects_a_foreign_redirect(fake: FakeSpotify, cfg: SpotifyConfig) -> None:
    with pytest.raises(SpotifyAuthError, match="different login attempt"):
        _login(fake, cfg, rewrite=lambda url: re.sub(r"state=[^&]+", "state=someone-else", url))
    assert not cfg.token_cache_path.exists()


def test_login_declined_or_bad_code(fake: FakeSpotify, cfg: SpotifyConfig) -> None:
    fake.deny_authorization = True
    with pytest.raises(SpotifyAuthError, match="declined"):
        _login(fake, cfg)
    with pytest.raises(SpotifyAuthError, match="single-use"):
        spotify_login(cfg, response="AQC-not-a-real-code", print_fn=lambda _: None)
    assert not cfg.token_cache_path.exists()


def test_parse_redirect_accepts_url_or_code() -> None:
    assert parse_redirect("http://127.0.0.1:8888/callback?code=abc&state=s1", "s1") == "abc"
    assert parse_redirect("  abc  ", "s1") == "abc"
    with pytest.raises(SpotifyAuthError, match="different login attempt"):
        parse_redirect("http://127.0.0.1:8888/callback?code=abc&state=s2", "s1")
    with pytest.raises(SpotifyAuthError, match="no \\?code"):
        parse_redirect("http://127.0.0.1:8888/callback?state=s1", "s1")
