"""The real Service (real SQLite, small real artifact) against the fake Spotify on 127.0.0.1.

Covers issue 7 end to end at the service boundary: links by URL/URI/id in and out of the catalogue,
albums and playlists as seeds (with paging, missing and unavailable tracks), 429 then success, export in
order through POST /v1/me/playlists, expired or missing login, and no credentials at all. The deprecated
endpoints (audio features, recommendations) must never be reached by any of it.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from songrec.content.engine import Engine
from songrec.domain import (
    Filters,
    InvalidInput,
    NotInCatalogueYet,
    NotInSession,
    PlaylistUnavailable,
    SpotifyNotSetUp,
    TrackNotFound,
)
from songrec.service import Service
from songrec.spotify import SpotifyClient, SpotifyConfig
from tests.support.bot_harness import bounded
from tests.support.service_env import track_id, typical
from tests.support.spotify_env import (
    DEPRECATED,
    MIRRORED,
    RecordingSleep,
    catalogue_track,
    mirrored_fake,
    open_spotify_service,
    spotify_config,
    store_login,
)
from tests.support.spotify_server import FakeSpotify

ALICE, BOB, CAROL = 1001, 1002, 1003
GUILD, CHANNEL = 222222222222222222, 333333333333333331


@pytest.fixture
def fake(small_engine: Engine) -> Iterator[FakeSpotify]:
    server = mirrored_fake(small_engine)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def cfg(fake: FakeSpotify, tmp_path: Path) -> SpotifyConfig:
    return spotify_config(fake, tmp_path)


@pytest.fixture
def sleeps() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
async def service(
    small_artifact: Path,
    small_engine: Engine,
    fake: FakeSpotify,
    cfg: SpotifyConfig,
    sleeps: RecordingSleep,
    tmp_path: Path,
) -> AsyncIterator[Service]:
    async with (
        SpotifyClient(cfg, sleep=sleeps, timeout=5, max_attempts=3) as client,
        open_spotify_service(
            tmp_path / "songrec.sqlite3", client, artifacts=small_artifact, engine=small_engine
        ) as svc,
    ):
        yield svc
    assert fake.calls(path=re.compile(DEPRECATED)) == [], "a deprecated Spotify endpoint was called"


def forms(track_id: str, kind: str = "track") -> list[str]:
    return [
        f"https://open.spotify.com/{kind}/{track_id}?si=abc123",
        f"spotify:{kind}:{track_id}",
        f"<https://open.spotify.com/intl-de/{kind}/{track_id}>",
        track_id,
    ]


# ----------------------------------------------------------------------------------- one track


@bounded(60)
async def test_catalogue_track_by_url_uri_or_id_needs_no_spotify_call(
    fake: FakeSpotify, service: Service
) -> None:
    tid, name, _ = catalogue_track(service.engine, 12)
    for text in forms(tid):
        picks = await service.recommend(ALICE, [text], k=3)
        assert len(picks) == 3 and all(p.track.track_id != tid for p in picks)
        assert any(name in p.reason for p in picks), [p.reason for p in picks]
    assert fake.api_calls() == []


@bounded(60)
async def test_track_outside_the_catalogue_names_it_and_offers_the_same_artist(
    fake: FakeSpotify, service: Service, tmp_path: Path
) -> None:
    tid, _, artist = catalogue_track(service.engine, 3)
    unknown = fake.add_track("Unheard Tune", artist)
    for text in forms(unknown):
        with pytest.raises(NotInCatalogueYet) as caught:
            await service.recommend(ALICE, [text])
        error = caught.value
        assert isinstance(error, TrackNotFound)
        assert str(error).startswith(f"“Unheard Tune” by {artist} is not in the catalogue yet.")
        assert error.closest and error.closest[0].artists == (artist,)
        assert all(t.artists == (artist,) for t in error.closest[:4])
        assert "The closest songs I know:" in str(error)
    # Single-track metadata was fetched once, then served from the SQLite cache.
    assert len(fake.calls("GET", f"/v1/tracks/{unknown}")) == 1
    assert fake.calls("GET", "/v1/tracks") == []  # no batch look-ups
    with sqlite3.connect(tmp_path / "songrec.sqlite3") as conn:
        cached = {r[0] for r in conn.execute("SELECT track_id FROM spotify_track_cache")}
    assert unknown in cached


@bounded(60)
async def test_another_release_of_a_catalogue_song_is_that_song(fake: FakeSpotify, service: Service) -> None:
    tid, name, artist = catalogue_track(service.engine, 70)  # not mirrored: only this other release is
    single = fake.add_track(name, artist, album=f"{name} (Single)")
    assert single != tid
    picks = await service.recommend(ALICE, [f"spotify:track:{single}"], k=2)
    assert all(p.track.track_id != tid for p in picks)
    assert any(name in p.reason for p in picks)


@bounded(60)
async def test_429_is_waited_out_then_the_answer_arrives(
    fake: FakeSpotify, service: Service, sleeps: RecordingSleep
) -> None:
    _, name, artist = catalogue_track(service.engine, 71)
    single = fake.add_track(name, artist, album="Rate limited single")
    fake.rate_limit(times=1, retry_after=2)
    picks = await service.recommend(ALICE, [f"https://open.spotify.com/track/{single}"], k=2)
    assert len(picks) == 2
    assert sleeps.delays[0] == 2.0  # Retry-After honoured
    statuses = [c.status for c in fake.calls("GET", f"/v1/tracks/{single}")]
    assert statuses == [429, 200]


@bounded(60)
async def test_spotify_down_still_gives_an_answer(
    fake: FakeSpotify, service: Service, sleeps: RecordingSleep
) -> None:
    unknown = fake.add_track("Never Reached", "Nobody")
    fake.fail(10, 503)
    with pytest.raises(NotInCatalogueYet, match="Spotify couldn't tell me which song it is"):
        await service.recommend(ALICE, [f"spotify:track:{unknown}"])
    assert len(sleeps.delays) == 2  # three attempts, then a sentence instead of a hang


# ----------------------------------------------------------------------------------- albums, playlists


@bounded(60)
async def test_playlist_import_pages_and_counts_what_is_missing(fake: FakeSpotify, service: Service) -> None:
    eng = service.engine
    known = [catalogue_track(eng, r)[0] for r in MIRRORED][:55]
    strangers = [fake.add_track(f"Stranger {i}", f"Band {i}") for i in range(7)]
    entries = known[:30] + strangers + known[30:] + [None, ("local", "demo.mp3")]
    pid = fake.add_playlist("Road Trip", entries, owner_id="someone")

    imported = await service.import_playlist(ALICE, f"https://open.spotify.com/playlist/{pid}")
    assert [t.track_id for t in imported.tracks] == known  # catalogue tracks, in playlist order
    assert (imported.missing, imported.skipped, imported.name) == (7, 2, "Road Trip")
    assert "Took 55 of 62 tracks" in imported.note and "7 aren't in the catalogue yet" in imported.note
    assert "Stranger 0 by Band 0" in imported.note
    pages = fake.calls("GET", re.compile(rf"/v1/playlists/{pid}"))
    assert any(r.query.get("offset") == "50" for r in pages), "the second page was not read"

    # The same link as a seed right after: no second read, and nothing from the playlist comes back.
    before = len(fake.api_calls())
    picks = await service.recommend(ALICE, [f"spotify:playlist:{pid}"], k=8)
    assert len(fake.api_calls()) == before
    assert len(picks) == 8 and not {p.track.track_id for p in picks} & set(known)
    anchors = {p.reason.split(":")[0] for p in picks if p.kind == "content"}
    assert len(anchors) >= 2, "a playlist seeds from several of its tracks, not just the first"


@bounded(60)
async def test_album_link_seeds_with_its_catalogue_tracks(fake: FakeSpotify, service: Service) -> None:
    eng = service.engine
    # Twelve songs from the middle of one style: each other's nearest neighbours, unless excluded.
    ids = [track_id(eng, r) for r in typical(eng, "rock", 12)]
    names = [f"cut {i}" for i in range(13)]
    album, _ = fake.add_album("Tight Album", "Various", names, track_ids=[*ids, "Zz" * 11])
    imported = await service.import_playlist(ALICE, f"spotify:album:{album}")
    assert [t.track_id for t in imported.tracks] == ids and imported.missing == 1
    picks = await service.recommend(
        ALICE, [f"https://open.spotify.com/album/{album}"], k=6, filters=Filters(explore_rate=0.0)
    )
    assert len(picks) == 6 and not {p.track.track_id for p in picks} & set(ids)
    assert all(p.track.genre == "rock" for p in picks)


@bounded(60)
async def test_unavailable_or_unknown_playlists_are_explained(fake: FakeSpotify, service: Service) -> None:
    editorial = fake.add_playlist("Today's Top Hits", [catalogue_track(service.engine, 1)[0]], editorial=True)
    with pytest.raises(PlaylistUnavailable, match="Spotify-made playlists"):
        await service.import_playlist(ALICE, f"https://open.spotify.com/playlist/{editorial}")
    with pytest.raises(PlaylistUnavailable):
        await service.recommend(ALICE, [f"spotify:playlist:{editorial}"])
    strangers = [fake.add_track(f"Obscure {i}", "Nobody Known") for i in range(3)]
    pid = fake.add_playlist("Deep Cuts", strangers)
    with pytest.raises(NotInCatalogueYet, match="None of the 3 tracks of the playlist “Deep Cuts”"):
        await service.import_playlist(ALICE, pid)  # a bare id is a playlist here
    with pytest.raises(InvalidInput, match="track link"):
        await service.import_playlist(ALICE, f"spotify:track:{strangers[0]}")
    with pytest.raises(InvalidInput, match="malformed"):
        await service.import_playlist(ALICE, "https://open.spotify.com/playlist/nope")


@bounded(60)
async def test_session_started_from_a_playlist(fake: FakeSpotify, service: Service) -> None:
    eng = service.engine
    known = [catalogue_track(eng, r)[0] for r in range(20, 32)]
    pid = fake.add_playlist("Party", known)
    info = await service.start_session(GUILD, CHANNEL, ALICE, seeds=[f"spotify:playlist:{pid}"])
    picks = await service.session_next(CHANNEL, ALICE, k=5)
    assert len(picks) == 5 and not {p.track.track_id for p in picks} & set(known)
    assert info.members == (ALICE,)


# ----------------------------------------------------------------------------------- export


@bounded(60)
async def test_export_recent_suggestions_in_order(
    fake: FakeSpotify, cfg: SpotifyConfig, service: Service
) -> None:
    store_login(fake, cfg, expired=True)  # the stored access token is refreshed first
    first = await service.recommend(ALICE, ["Song 12"], k=3)
    second = await service.recommend(ALICE, ["Song 40"], k=3)
    shown = [p.track.track_id for p in first + second]

    export = await service.export_playlist(ALICE, name="Friday picks")
    pid = export.url.rsplit("/", 1)[1]
    assert export.url == f"https://open.spotify.com/playlist/{pid}"
    assert fake.playlists[pid].entries == shown
    assert [t.track_id for t in export.tracks] == shown
    [create] = fake.calls("POST", "/v1/me/playlists")
    assert create.body["name"] == "Friday picks" and create.body["public"] is True
    assert [c.body for c in fake.calls("POST", f"/v1/playlists/{pid}/items")] == [
        [f"spotify:track:{t}" for t in shown]
    ]
    assert fake.calls("POST", re.compile(r"^/v1/users/")) == []

    last_two = await service.export_playlist(ALICE, count=2)
    assert [t.track_id for t in last_two.tracks] == shown[-2:]
    with pytest.raises(InvalidInput, match="nothing to export"):
        await service.export_playlist(BOB)
    with pytest.raises(InvalidInput, match="between 1 and"):
        await service.export_playlist(ALICE, count=0)


@bounded(60)
async def test_export_a_session_in_order_only_for_its_listeners(
    fake: FakeSpotify, cfg: SpotifyConfig, service: Service
) -> None:
    store_login(fake, cfg)
    await service.start_session(GUILD, CHANNEL, ALICE, members=[BOB])
    batch = await service.session_next(CHANNEL, BOB, k=3) + await service.session_next(CHANNEL, ALICE, k=2)
    summary = await service.end_session(CHANNEL, ALICE)
    with pytest.raises(NotInSession):
        await service.export_playlist(CAROL, session_id=summary.session.id)
    export = await service.export_playlist(BOB, session_id=summary.session.id)
    pid = export.url.rsplit("/", 1)[1]
    wanted = [p.track.track_id for p in batch]
    assert fake.playlists[pid].entries == wanted == [t.track_id for t in summary.suggested]
    assert fake.playlists[pid].name.startswith("songrec session ")


@bounded(60)
async def test_expired_or_missing_login_says_to_run_spotify_login(
    fake: FakeSpotify, cfg: SpotifyConfig, service: Service
) -> None:
    await service.recommend(ALICE, ["Song 12"], k=2)
    with pytest.raises(SpotifyNotSetUp, match="songrec spotify-login"):
        await service.export_playlist(ALICE)  # nobody ever logged in
    store_login(fake, cfg, expired=True)
    fake.revoke_refresh_tokens()
    with pytest.raises(SpotifyNotSetUp, match=r"expired or was revoked; run `songrec spotify-login` again"):
        await service.export_playlist(ALICE)
    assert fake.calls("POST", "/v1/me/playlists") == []


# ----------------------------------------------------------------------------------- no credentials


@bounded(60)
@pytest.mark.parametrize("configured", [False, True], ids=["no-client", "client-without-credentials"])
async def test_without_credentials_everything_else_works(
    small_artifact: Path, small_engine: Engine, fake: FakeSpotify, tmp_path: Path, configured: bool
) -> None:
    client = None
    if configured:
        client = SpotifyClient(spotify_config(fake, tmp_path, client_id=None, client_secret=None))
    try:
        async with open_spotify_service(
            tmp_path / "db.sqlite3", client, artifacts=small_artifact, engine=small_engine
        ) as service:
            tid, _, _ = catalogue_track(small_engine, 5)
            assert len(await service.recommend(ALICE, ["Song 12"], k=3)) == 3
            assert len(await service.recommend(ALICE, [f"spotify:track:{tid}"], k=3)) == 3
            unknown = fake.add_track("Outside", "Someone")
            with pytest.raises(NotInCatalogueYet, match="not in the catalogue yet"):
                await service.recommend(ALICE, [f"https://open.spotify.com/track/{unknown}"])
            # What a listener reads names no operator setting; the operator's hint does.
            with pytest.raises(SpotifyNotSetUp, match="aren't set up here") as info:
                await service.import_playlist(ALICE, "spotify:playlist:37i9dQZF1DXcBWIGoYBM5M")
            assert "SPOTIFY_" not in str(info.value) and "SPOTIFY_CLIENT_ID" in info.value.operator_hint
            with pytest.raises(SpotifyNotSetUp, match="aren't set up here") as info:
                await service.recommend(ALICE, ["https://open.spotify.com/album/4aawyAB9vmqN3uQ7FjRGTy"])
            assert "SPOTIFY_" not in str(info.value) and "SPOTIFY_CLIENT_ID" in info.value.operator_hint
            with pytest.raises(SpotifyNotSetUp, match="songrec spotify-login") as info:
                await service.export_playlist(ALICE)
            assert "SPOTIFY_" not in str(info.value) and "SPOTIFY_CLIENT_ID" in info.value.operator_hint
            await service.like(ALICE, "Song 12")
            assert (await service.profile(ALICE)).likes == 1
    finally:
        if client is not None:
            client.close()
    assert fake.api_calls() == []
