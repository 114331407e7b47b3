"""The real bot, the real Service (SQLite file, small artifact), the fake Discord AND the fake Spotify:
links outside the catalogue, /session start playlist:, /export, /session end export:true, expired login,
and no Spotify at all."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from songrec.content.engine import Engine
from songrec.service import Service
from songrec.spotify import SpotifyClient, SpotifyConfig
from tests.support.bot_harness import bounded, shown_suggestions, wait_suggestions, world
from tests.support.discord_server import EPHEMERAL
from tests.support.spotify_env import (
    DEPRECATED,
    catalogue_track,
    mirrored_fake,
    open_spotify_service,
    spotify_config,
    store_login,
)
from tests.support.spotify_server import FakeSpotify


@pytest.fixture
def spotify(small_engine: Engine) -> Iterator[FakeSpotify]:
    server = mirrored_fake(small_engine)
    try:
        yield server
    finally:
        server.stop()
    assert server.calls(path=re.compile(DEPRECATED)) == [], "a deprecated Spotify endpoint was called"


@pytest.fixture
def cfg(spotify: FakeSpotify, tmp_path: Path) -> SpotifyConfig:
    return spotify_config(spotify, tmp_path)


@pytest.fixture
async def service(
    small_artifact: Path, small_engine: Engine, cfg: SpotifyConfig, tmp_path: Path
) -> AsyncIterator[Service]:
    async with (
        SpotifyClient(cfg, timeout=5, max_attempts=3) as client,
        open_spotify_service(
            tmp_path / "songrec.sqlite3", client, artifacts=small_artifact, engine=small_engine
        ) as svc,
    ):
        yield svc


def playlist_of(spotify: FakeSpotify, text: str) -> list[str]:
    """The entries of the playlist whose link is in `text`."""
    match = re.search(r"https://open\.spotify\.com/playlist/([0-9A-Za-z]{22})", text)
    assert match, text
    return spotify.playlists[match[1]].entries


async def picked_tracks(service: Service, messages: list[dict]) -> list[str]:  # type: ignore[type-arg]
    out = []
    for sid in shown_suggestions(messages):
        suggestion = await service.get_suggestion(sid)
        assert suggestion is not None
        out.append(suggestion.track.track_id)
    return out


@bounded(90)
async def test_links_and_export_through_the_bot(
    small_engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    spotify: FakeSpotify,
    cfg: SpotifyConfig,
    service: Service,
) -> None:
    eng = small_engine
    _, _, artist = catalogue_track(eng, 4)
    unknown = spotify.add_track("A Song Nobody Catalogued", artist)
    async with world(monkeypatch, service) as w:
        # A track outside the catalogue: named, with the same artist's catalogue songs, only to the caller.
        ix = await w.fake.slash(w.alice, "recommend", song=f"https://open.spotify.com/track/{unknown}")
        (reply,) = await w.fake.wait_reply(ix)
        assert reply["flags"] & EPHEMERAL
        assert (
            "A Song Nobody Catalogued" in reply["content"]
            and "is not in the catalogue yet" in reply["content"]
        )
        assert f"by {artist}" in reply["content"].split("closest songs I know:")[1]

        # A catalogue track by URI: suggestions as usual, no Spotify call needed.
        before = len(spotify.api_calls())
        tid = catalogue_track(eng, 12)[0]
        ix = await w.fake.slash(w.alice, "recommend", song=f"spotify:track:{tid}", count=3)
        shown = await picked_tracks(service, await wait_suggestions(w.fake, ix, 3))
        assert len(shown) == 3 and len(spotify.api_calls()) == before

        # /export before the operator logged in: an ephemeral sentence saying what to run.
        ix = await w.fake.slash(w.alice, "export")
        (reply,) = await w.fake.wait_reply(ix)
        assert reply["flags"] & EPHEMERAL and "songrec spotify-login" in reply["content"]

        store_login(spotify, cfg, expired=True)
        ix = await w.fake.slash(w.alice, "export", title="Alice's mix")
        (reply,) = await w.fake.wait_reply(ix)
        assert not reply["flags"] & EPHEMERAL
        assert "(3 songs) is on Spotify" in reply["content"]
        assert playlist_of(spotify, reply["content"]) == shown
        [create] = spotify.calls("POST", "/v1/me/playlists")
        assert create.body["name"] == "Alice's mix"

        # The stored login is revoked: the next export says to log in again.
        store_login(spotify, cfg, expired=True)
        spotify.revoke_refresh_tokens()
        ix = await w.fake.slash(w.bob, "recommend", song="Song 40", count=1)
        await wait_suggestions(w.fake, ix, 1)
        ix = await w.fake.slash(w.bob, "export")
        (reply,) = await w.fake.wait_reply(ix)
        assert reply["flags"] & EPHEMERAL
        assert "expired or was revoked" in reply["content"] and "songrec spotify-login" in reply["content"]
        assert w.fake.violations == [] and w.fake.unhandled == []


@bounded(90)
async def test_session_from_a_playlist_exported_at_the_end(
    small_engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    spotify: FakeSpotify,
    cfg: SpotifyConfig,
    service: Service,
) -> None:
    eng = small_engine
    known = [catalogue_track(eng, r)[0] for r in range(0, 24)]
    pid = spotify.add_playlist(
        "Saturday", [*known[:12], spotify.add_track("Not Ours", "Nobody"), *known[12:]]
    )
    editorial = spotify.add_playlist("Today's Top Hits", known[:3], editorial=True)
    store_login(spotify, cfg)
    async with world(monkeypatch, service) as w:
        fake = w.fake
        ix = await fake.slash(w.alice, "session", "start", playlist=f"spotify:playlist:{editorial}")
        (reply,) = await fake.wait_reply(ix)
        assert reply["flags"] & EPHEMERAL and "Spotify-made playlists" in reply["content"]
        assert await service.active_session(fake.channel_id) is None

        ix = await fake.slash(
            w.alice, "session", "start", playlist=f"https://open.spotify.com/playlist/{pid}"
        )
        (reply,) = await fake.wait_reply(ix)
        assert "Group session started" in reply["content"]
        assert "Took 24 of 25 tracks from the playlist “Saturday”" in reply["content"]
        assert "1 isn't in the catalogue yet" in reply["content"]
        ix = await fake.slash(w.bob, "session", "join")
        await fake.wait_reply(ix)

        picks: list[str] = []
        for member in (w.bob, w.alice):
            ix = await fake.slash(member, "session", "next", count=3)
            picks += await picked_tracks(service, await fake.wait_reply(ix, 4))
        assert len(picks) == 6 and not set(picks) & set(known), "the playlist's own songs came back"

        ix = await fake.slash(w.bob, "session", "end", export=True)
        summary, exported = await fake.wait_reply(ix, 2)
        assert summary["embeds"][0]["title"] == "Session summary"
        assert "The session's songs" in exported["content"] and "(6 songs)" in exported["content"]
        assert playlist_of(spotify, exported["content"]) == picks
        assert fake.violations == [] and fake.unhandled == []


@bounded(90)
async def test_without_spotify_the_bot_works_and_explains(
    small_artifact: Path,
    small_engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    spotify: FakeSpotify,
    tmp_path: Path,
) -> None:
    async with (
        open_spotify_service(
            tmp_path / "plain.sqlite3", None, artifacts=small_artifact, engine=small_engine
        ) as service,
        world(monkeypatch, service) as w,
    ):
        fake = w.fake
        ix = await fake.slash(w.alice, "recommend", song="Song 12", count=2)
        assert len(shown_suggestions(await wait_suggestions(fake, ix, 2))) == 2

        ix = await fake.slash(w.alice, "export")
        (reply,) = await fake.wait_reply(ix)
        assert reply["flags"] & EPHEMERAL
        assert (
            "Spotify export isn't set up" in reply["content"] and "songrec spotify-login" in reply["content"]
        )
        assert "SPOTIFY_" not in reply["content"]  # the operator's settings are for the log, not the channel

        ix = await fake.slash(w.alice, "session", "start", playlist="spotify:playlist:37i9dQZF1DXcBWIGoYBM5M")
        (reply,) = await fake.wait_reply(ix)
        # A listener is told what works instead, never the operator's settings (those go to the log).
        assert reply["flags"] & EPHEMERAL and "aren't set up here" in reply["content"]
        assert "SPOTIFY_" not in reply["content"] and "SONGREC_" not in reply["content"]
        assert await service.active_session(fake.channel_id) is None

        ix = await fake.slash(w.alice, "session", "start")
        await fake.wait_reply(ix)
        ix = await fake.slash(w.alice, "session", "next", count=2)
        await fake.wait_reply(ix, 3)
        ix = await fake.slash(w.alice, "session", "end", export=True)
        summary, note = await fake.wait_reply(ix, 2)
        assert summary["embeds"][0]["title"] == "Session summary"
        assert note["flags"] & EPHEMERAL and "Spotify export isn't set up" in note["content"]
        assert await service.active_session(fake.channel_id) is None
        assert fake.violations == [] and fake.unhandled == []
    assert spotify.requests == []
