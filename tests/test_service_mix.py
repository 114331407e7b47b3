"""The server's monthly mix and charts on the real Service and SQLite: one claim wins across two services
over one database file, the mix survives a restart unchanged, and its Spotify export is made once."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from songrec.content.engine import Engine
from songrec.service import Service
from songrec.service.server_mix import MIX_SUGGESTED, month_span, previous_month
from songrec.spotify import SpotifyClient
from tests.support.service_env import ServiceOpener
from tests.support.spotify_env import mirrored_fake, open_spotify_service, spotify_config, store_login
from tests.support.spotify_server import FakeSpotify

GUILD, CHANNEL = 222222222222222222, 333333333333333331
LISTENERS = (1001, 1002, 1003, 1004)


async def like_last_month(service: Service, engine: Engine) -> str:
    month = previous_month(time.time())
    store: Any = service._store  # the store stamps votes with its clock: last month's, here
    store.db.clock = lambda: month_span(month)[0] + 86_400
    try:
        for n, user in enumerate(LISTENERS):
            for row in (3, 4 + n, 40 + n):
                await service.like(user, engine.info(row).track_id, guild_id=GUILD)
    finally:
        store.db.clock = time.time
    return month


async def test_two_services_on_one_database_claim_a_month_once_and_a_restart_keeps_it(
    open_service: ServiceOpener, small_engine: Engine, tmp_path: Path
) -> None:
    db = tmp_path / "songrec.sqlite3"
    async with open_service(db) as one, open_service(db) as two:
        month = await like_last_month(one, small_engine)
        answers = await asyncio.gather(
            *(s.monthly_mix(GUILD, name="Test Server") for s in (one, two) for _ in range(3))
        )
        assert sum(a.fresh for a in answers) == 1, "exactly one caller may post it"
        assert len({a.tracks for a in answers}) == 1, "everyone sees the one claimed mix"
        (winner,) = [a for a in answers if a.fresh]
        assert (
            winner.tracks[0].track.track_id == small_engine.info(3).track_id and winner.tracks[0].likes == 4
        )
        liked = [m.likes for m in winner.tracks if m.likes]
        assert len(liked) == 9 and 0 < len(winner.tracks) - 9 <= MIX_SUGGESTED
        assert [bool(m.likes) for m in winner.tracks[:6]] == [True, True, False, True, True, False]
        await two.mix_posted(GUILD, month, CHANNEL, 4242)
    async with open_service(db) as restarted:
        shown = await restarted.monthly_mix(GUILD)
        assert (shown.fresh, shown.message_id, shown.tracks) == (False, 4242, winner.tracks)
        charts = await restarted.charts(GUILD, "all")
        assert charts.songs[0] == (small_engine.info(3), 4) and (charts.listeners, charts.likes) == (4, 12)


@pytest.fixture
def spotify(small_engine: Engine) -> Iterator[FakeSpotify]:
    server = mirrored_fake(small_engine)
    try:
        yield server
    finally:
        server.stop()


async def test_the_mix_is_exported_to_spotify_once(
    spotify: FakeSpotify, small_artifact: Path, small_engine: Engine, tmp_path: Path
) -> None:
    cfg = spotify_config(spotify, tmp_path)
    store_login(spotify, cfg)
    async with (
        SpotifyClient(cfg, timeout=5, max_attempts=3) as client,
        open_spotify_service(
            tmp_path / "songrec.sqlite3", client, artifacts=small_artifact, engine=small_engine
        ) as service,
    ):
        await like_last_month(service, small_engine)
        mix = await service.monthly_mix(GUILD, name="Test Server")
        first = await service.export_mix(LISTENERS[0], GUILD)
        pid = first.url.rsplit("/", 1)[1]
        assert spotify.playlists[pid].entries == [m.track.track_id for m in mix.tracks]
        assert first.name == mix.title
        again = await service.export_mix(LISTENERS[1], GUILD, mix.month)
        assert again.url == first.url and [t.track_id for t in again.tracks] == spotify.playlists[pid].entries
        assert len(spotify.calls("POST", re.compile(r"^/v1/me/playlists$"))) == 1, (
            "one playlist, however many ask"
        )
