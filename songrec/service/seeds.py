"""What a seed stands for: the one place a seed's text is parsed, looked up, and sent to Spotify if need be.

Each seed text is parsed for a Spotify link exactly once (songrec.content.lookup.Query). Albums,
playlists and artist links go to Spotify for their tracks; everything else is looked up in the catalogue,
and a track link the catalogue lacks (TrackNotFound with a `spotify_id`) is asked of Spotify. An artist's
name (given as the artist, or typed where it is an artist and not a better-known title) stands for all of
their songs: their most representative ones are the anchors, and none of them is suggested back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from songrec.content.artist_lookup import closest_artists, find_artist, reads_as_artist, representative_rows
from songrec.content.engine import Engine
from songrec.content.lookup import Query
from songrec.domain import InvalidInput, NotInCatalogueYet, TrackInfo, TrackNotFound
from songrec.domain.vocabulary import MAX_SONG_TEXT
from songrec.service.checks import SONG_AS_TEXT
from songrec.service.config import ServiceConfig
from songrec.service.runtime import CpuPool
from songrec.service.spotify_ops import SpotifyOps, representatives

ARTIST_AS_TEXT = "Tell me an artist as text: a name such as Daft Punk."
SEARCH_AS_TEXT = "Tell me what to look for: part of a title or an artist's name."
#: What a seed text ends with when it may be an audio file on this machine (the chat; never Discord).
AUDIO_SUFFIXES = (".ogg", ".oga", ".mp3", ".flac", ".wav")
#: The most songs one search answers with.
MAX_SEARCH = 100


@dataclass(frozen=True)
class Seed:
    """The rows one seed stands for, and the anchors to recommend from (None: all of the rows)."""

    rows: tuple[int, ...]
    anchors: tuple[int, ...] | None = None
    collection: bool = False  # an album, playlist or artist: a few representative anchors
    artist: str | None = None  # the artist it stands for, as credited (an artist named, not a link)


def artist_text(artist: object) -> str:
    """The artist a caller named, stripped; InvalidInput for a non-string, blank or huge one."""
    if not isinstance(artist, str):
        raise InvalidInput(ARTIST_AS_TEXT)
    text = artist.strip()
    if not text:
        raise InvalidInput(ARTIST_AS_TEXT)
    if len(text) > MAX_SONG_TEXT:
        raise InvalidInput(f"That is too long for an artist's name ({MAX_SONG_TEXT} characters at most).")
    return text


def artist_seed(engine: Engine, name: str, anchors: int) -> Seed:
    """An artist's songs as a seed: `anchors` representative ones to recommend from. NotInCatalogueYet,
    naming the closest artists, when the catalogue has nobody by that name."""
    found = find_artist(engine.titles, name)
    if found is None:
        near = closest_artists(engine.titles, name)
        hint = f" Closest artists: {'; '.join(near)}." if near else ""
        raise NotInCatalogueYet(name, f"I don't have songs by {name} in the catalogue.{hint}", artist=name)
    chosen = tuple(representative_rows(engine, found.rows, anchors))
    return Seed(found.rows, chosen, collection=True, artist=found.name)


def audio_seed(engine: Engine, text: str) -> Seed | None:
    """A path to an audio file, when the audio extra and an audio model are there: the catalogue tracks
    of the scanned files that sound closest to it. None for anything else (then it is a song's name)."""
    from pathlib import Path

    path = Path(text.strip())
    if path.suffix.lower() not in AUDIO_SUFFIXES or not path.is_file():
        return None
    from songrec.audio import missing_modules

    if missing_modules():
        return None
    from songrec.audio.artifact import load_artifact
    from songrec.audio.cache import SpectrogramCache
    from songrec.audio.fusion import audio_seeds
    from songrec.domain import ArtifactError

    try:
        audio = load_artifact()
    except ArtifactError:
        return None
    rows = tuple(s.row for s in audio_seeds(engine, audio, path, SpectrogramCache()))
    if not rows:
        raise InvalidInput(
            "None of your scanned audio files is a catalogue track yet, so a file leads nowhere."
        )
    return Seed(rows, rows, collection=True)


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

    async def song(self, engine: Engine, text: str, artist: str | None = None) -> int:
        """One catalogue row for a song (a name, an id or a track link): what a vote names."""
        return await self._song(engine, self._parse(text), artist)

    async def _song(self, engine: Engine, query: Query, artist: str | None = None) -> int:
        direct = engine.titles.direct_row(query)  # an id or a link: no title search, so no thread
        if direct is not None:
            return direct
        try:
            return await asyncio.to_thread(engine.resolve, query, artist)
        except TrackNotFound as exc:
            if exc.spotify_id is None:
                raise
            return await self._spotify.track_outside_catalogue(engine, query, exc)

    async def seed(self, engine: Engine, text: str, artist: str | None = None) -> Seed:
        """What one seed text stands for; with `artist`, the text is a title narrowed to that artist."""
        if isinstance(text, str) and artist is None and text.strip().lower().endswith(AUDIO_SUFFIXES):
            found = await self._cpu.run(audio_seed, engine, text)
            if found is not None:
                return found
        query = self._parse(text)
        ref = query.collection
        if ref is not None:
            if ref.kind == "artist":
                return Seed(tuple(await self._spotify.artist_rows(engine, ref)), collection=True)
            _, rows = await self._spotify.collection(engine, ref)
            return Seed(tuple(rows), collection=True)
        if artist is None and query.link is None and query.broken is None:
            named = await asyncio.to_thread(reads_as_artist, engine.titles, query.text.strip())
            if named is not None:  # "Nirvana": the band, not a song of that name by someone else
                anchors = await self._cpu.run(representative_rows, engine, named.rows, self._config.max_seeds)
                return Seed(named.rows, tuple(anchors), collection=True, artist=named.name)
        return Seed((await self._song(engine, query, artist),))

    async def artist(self, engine: Engine, name: str) -> Seed:
        """All of an artist's songs, with their most representative ones as anchors."""
        return await self._cpu.run(artist_seed, engine, artist_text(name), self._config.max_seeds)

    async def search(self, engine: Engine, text: str, limit: int = 10) -> list[TrackInfo]:
        """Catalogue songs for what was typed, by relevance, one per song (TitleIndex.search)."""
        if not isinstance(text, str) or not text.strip():
            raise InvalidInput(SEARCH_AS_TEXT)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_SEARCH:
            raise InvalidInput(f"Search returns between 1 and {MAX_SEARCH} songs.")
        # A default-pool thread, as autocomplete: a search must not queue behind recommendations.
        rows = await asyncio.to_thread(engine.titles.search, text[:MAX_SONG_TEXT], limit)
        return [engine.info(r) for r in rows]

    async def expand(self, engine: Engine, text: str) -> tuple[list[int], bool]:
        """Catalogue rows for one seed text, and whether it named a collection (album/playlist/artist)."""
        found = await self.seed(engine, text)
        return list(found.rows), found.collection

    async def rows(self, engine: Engine, text: str) -> list[int]:
        """Every catalogue row a seed stands for: one for a song, all known tracks for an album/playlist."""
        return list((await self.seed(engine, text)).rows)

    async def anchors(
        self, engine: Engine, texts: Sequence[str], artist: str | None = None
    ) -> tuple[tuple[int, ...], frozenset[int]]:
        """(anchors to recommend from, every row the seeds stand for: never suggested back).

        Albums and playlists stand for all their catalogue tracks: a few representative anchors. With
        `artist` and no texts, the artist's songs are the seed; with texts, it narrows each title.
        """
        if artist is not None:
            artist = artist_text(artist)
        seeds = [await self.seed(engine, text, artist) for text in texts]
        if artist is not None and not texts:
            seeds = [await self.artist(engine, artist)]
        anchors: list[int] = []
        every: list[int] = []
        for found in seeds:
            every += found.rows
            rows = list(found.anchors if found.anchors is not None else found.rows)
            if found.collection and len(rows) > self._config.max_seeds:
                rows = await self._cpu.run(representatives, engine, rows, self._config.max_seeds)
            anchors += rows
        return tuple(dict.fromkeys(anchors)), frozenset(every)
