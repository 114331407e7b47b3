"""What a seed stands for: the one place a seed's text is parsed, looked up, and sent to Spotify if need be.

Each seed text is parsed for a Spotify link exactly once (songrec.content.lookup.Query). Albums,
playlists and artist links go to Spotify for their tracks; everything else is looked up in the catalogue,
and a track link the catalogue lacks (TrackNotFound with a `spotify_id`) is asked of Spotify.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from songrec.content.engine import Engine
from songrec.content.lookup import Query
from songrec.domain import InvalidInput, TrackNotFound
from songrec.service.checks import SONG_AS_TEXT
from songrec.service.config import ServiceConfig
from songrec.service.runtime import CpuPool
from songrec.service.spotify_ops import SpotifyOps, representatives


class SeedResolver:
    """Seed texts -> catalogue rows, on the engine the caller read for its request."""

    def __init__(self, config: ServiceConfig, cpu: CpuPool, spotify: SpotifyOps) -> None:
        self._config = config
        self._cpu = cpu
        self._spotify = spotify

    @staticmethod
    def _parse(text: object) -> Query:
        if not isinstance(text, str):
            raise InvalidInput(SONG_AS_TEXT)
        return Query.parse(text)

    async def song(self, engine: Engine, text: str) -> int:
        """One catalogue row for a song (a name, an id or a track link): what a vote names."""
        return await self._song(engine, self._parse(text))

    async def _song(self, engine: Engine, query: Query) -> int:
        try:
            return await asyncio.to_thread(engine.resolve, query)
        except TrackNotFound as exc:
            if exc.spotify_id is None:
                raise
            return await self._spotify.track_outside_catalogue(engine, query, exc)

    async def expand(self, engine: Engine, text: str) -> tuple[list[int], bool]:
        """Catalogue rows for one seed text, and whether it named a collection (album/playlist/artist)."""
        query = self._parse(text)
        ref = query.collection
        if ref is None:
            return [await self._song(engine, query)], False
        if ref.kind == "artist":
            return await self._spotify.artist_rows(engine, ref), True
        _, rows = await self._spotify.collection(engine, ref)
        return list(rows), True

    async def rows(self, engine: Engine, text: str) -> list[int]:
        """Every catalogue row a seed stands for: one for a song, all known tracks for an album/playlist."""
        rows, _ = await self.expand(engine, text)
        return rows

    async def anchors(self, engine: Engine, texts: Sequence[str]) -> tuple[tuple[int, ...], frozenset[int]]:
        """(anchors to recommend from, every row the seeds stand for: never suggested back).

        Albums and playlists stand for all their catalogue tracks: a few representative anchors.
        """
        anchors: list[int] = []
        every: list[int] = []
        for text in texts:
            rows, collection = await self.expand(engine, text)
            every += rows
            if collection and len(rows) > self._config.max_seeds:
                rows = await self._cpu.run(representatives, engine, rows, self._config.max_seeds)
            anchors += rows
        return tuple(dict.fromkeys(anchors)), frozenset(every)
