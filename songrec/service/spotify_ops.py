"""Spotify in the service: links outside the catalogue, albums and playlists as seeds, playlist export.

Audio features always come from the catalogue: Spotify only says which song a link names (single-track
look-up or search, client credentials), lists an album's or playlist's tracks, and creates playlists in
the operator's account (authorization code, `songrec spotify-login`). Every spotipy call runs in
songrec.spotify.client's executor with a timeout, retries and Retry-After; SpotifyOps only decides what to
ask and turns every Spotify failure into a SongrecError the user can act on. Which seed goes where is
songrec.service.seeds' job: it parses each seed once and calls in here for links the catalogue can't answer.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import numpy as np

from songrec.content.engine import Engine
from songrec.content.lookup import Query
from songrec.content.songkey import title_key
from songrec.domain import (
    ImportedSeeds,
    InvalidInput,
    MalformedSpotifyLink,
    NotInCatalogueYet,
    NotInSession,
    PlaylistExport,
    PlaylistUnavailable,
    SpotifyNotSetUp,
    SpotifyProblem,
    TrackInfo,
    TrackNotFound,
)
from songrec.service import checks
from songrec.service.errors import db_errors
from songrec.service.runtime import CpuPool, Serving
from songrec.service.taste import cluster_likes
from songrec.service.tracks import track_info
from songrec.spotify.links import SpotifyRef, is_spotify_id, parse_spotify_ref, parse_spotify_ref_strict

if TYPE_CHECKING:
    from songrec.spotify import SpotifyClient, SpotifyTrack
    from songrec.store import StoreBackend

log = logging.getLogger(__name__)

#: Tracks read from one album or playlist (ten pages of 50), and catalogue tracks kept from them as seeds.
MAX_COLLECTION_TRACKS = 500
MAX_COLLECTION_SEEDS = 200
#: An album or playlist read once serves the next few minutes (`/session start playlist:` checks the
#: link, then starts the session from it; `songrec import-playlist` lists it, then recommends from it).
COLLECTION_TTL_S = 300.0
COLLECTION_CACHE_SIZE = 32
DEFAULT_EXPORT = 20
MAX_EXPORT = 500
#: Tracks by an artist link's artist used as seeds.
ARTIST_SEEDS = 5

LOOKUP_HELP = (
    "Spotify look-ups aren't set up here, so I can only use songs from my catalogue: paste a track link "
    "or type a song name."
)
LOOKUP_HINT = "set SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET to look up links the catalogue lacks"
EXPORT_HELP = "Spotify export isn't set up: whoever runs songrec needs to run `songrec spotify-login` once."
EXPORT_HINT = "`songrec spotify-login` needs SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET set"
#: An operator setting named in a message: such a message is for the operator, not for a listener.
_SETTING_NAME = re.compile(r"\b(?:SONGREC|SPOTIFY|DISCORD)_[A-Z0-9_]+\b")
SPOTIFY_SETUP_PROBLEM = (
    "Spotify refused songrec's credentials; whoever runs songrec needs to check its Spotify setup."
)


def for_listeners(message: str, fallback: str) -> tuple[str, str]:
    """(what a listener is told, the operator hint): a message naming a setting becomes the fallback."""
    if _SETTING_NAME.search(message):
        return fallback, message
    return message, ""


NOTHING_TO_EXPORT = "There's nothing to export yet: ask me for /recommend first."


@contextlib.contextmanager
def spotify_errors(*, export: bool = False) -> Iterator[None]:
    """Translate songrec.spotify's errors into SongrecErrors with a message that says what to do."""
    from songrec import domain as sp

    try:
        yield
    except MalformedSpotifyLink as exc:
        raise InvalidInput(str(exc)) from exc
    except sp.SpotifyPlaylistHidden as exc:
        raise PlaylistUnavailable(str(exc)) from exc
    except sp.SpotifyNotConfigured as exc:
        hint = f"{exc} ({EXPORT_HINT if export else LOOKUP_HINT})"
        raise SpotifyNotSetUp(EXPORT_HELP if export else LOOKUP_HELP, hint) from exc
    except sp.SpotifyForbidden as exc:
        raise SpotifyProblem(*for_listeners(str(exc), SPOTIFY_SETUP_PROBLEM)) from exc
    except sp.SpotifyAuthError as exc:
        prefix = "Spotify export needs the operator's Spotify login: " if export else ""
        text, hint = for_listeners(str(exc), SPOTIFY_SETUP_PROBLEM)
        raise SpotifyNotSetUp(prefix + text, hint) from exc
    except sp.SpotifyError as exc:
        raise SpotifyProblem(*for_listeners(str(exc), SPOTIFY_SETUP_PROBLEM)) from exc


def representatives(engine: Engine, rows: Sequence[int], n: int) -> list[int]:
    """At most n rows that stand for a collection: the most central track of each k-means cluster.

    A 50-track playlist queried seed by seed would give its first few tracks all the picks; one anchor
    per cluster shares them across the playlist's styles, largest first.
    """
    if len(rows) <= n:
        return list(rows)
    clusters = cluster_likes(engine, np.asarray(rows, dtype=np.int64), n, 1)
    return [c.anchors[0] for c in clusters][:n]


def closest_known(engine: Engine, name: str, artist: str) -> list[TrackInfo]:
    """Catalogue tracks by the same artist first, then ones with the same name (at most five)."""
    by_artist = [engine.info(r) for r in rows_by_artist(engine, artist, 4)] if artist.strip() else []
    by_name = engine.autocomplete(name, 5) if name.strip() else []
    seen: dict[str, TrackInfo] = {}
    for track in by_artist + by_name:
        seen.setdefault(track.track_id, track)
    return list(seen.values())[:5]


def rows_by_artist(engine: Engine, artist: str, limit: int) -> list[int]:
    """Catalogue rows credited to exactly this artist (any position), most popular first."""
    wanted = artist.casefold().strip()
    if not wanted:
        return []
    rows = [
        r
        for r in engine.titles.autocomplete(artist, 200)
        if any(a.casefold().strip() == wanted for a in engine.info(r).artists)
    ]
    return sorted(rows, key=lambda r: (-float(engine.popularity[r]), r))[:limit]


def key_index(engine: Engine) -> dict[str, int]:
    """Same-song key (title without remaster noise + first artist) -> the most popular catalogue row."""
    order = np.argsort(engine.popularity, kind="stable")  # most popular last, so it wins
    keys = engine.keys
    return {str(keys[r]): int(r) for r in order}


def _missing_message(kind: str, name: str, total: int, examples: Sequence[str]) -> str:
    what = f"the {kind} “{name}”" if name else f"that {kind}"
    listed = f" (e.g. {'; '.join(examples[:3])})" if examples else ""
    return (
        f"None of the {total} tracks of {what} are in the catalogue yet{listed}, so I have nothing to start "
        "from: try another playlist, or name a song."
    )


class SpotifyOps:
    """Spotify for the service: tracks, albums, playlists and artists the catalogue can't answer alone,
    playlist import and export. Handed the store, what is served, the CPU pool and the optional client."""

    def __init__(
        self, store: StoreBackend, serving: Serving, cpu: CpuPool, client: SpotifyClient | None
    ) -> None:
        self._store = store
        self._serving = serving
        self._cpu = cpu
        self._spotify = client
        #: (kind, id) -> (engine, read at, imported, catalogue rows): see COLLECTION_TTL_S
        self._collections: dict[tuple[str, str], tuple[Engine, float, ImportedSeeds, tuple[int, ...]]] = {}
        self._keys: tuple[Engine, dict[str, int]] | None = None

    def _client(self) -> SpotifyClient | None:
        """The Spotify client, or None when there is none or it has no credentials (same answers)."""
        client = self._spotify
        if client is None or not client.config.configured:
            return None
        return client

    # ------------------------------------------------------------------ matching Spotify to the catalogue

    async def _key_index(self, engine: Engine) -> dict[str, int]:
        cached = self._keys
        if cached is not None and cached[0] is engine:
            return cached[1]
        index = await self._cpu.run(key_index, engine)
        self._keys = (engine, index)
        return index

    @staticmethod
    def _match(engine: Engine, index: dict[str, int], track: SpotifyTrack) -> int | None:
        """By id, else by same song (Spotify has an id per release: single, album, remaster)."""
        row = engine.row_of(track.id)
        if row is not None:
            return row
        return index.get(title_key(track.name, list(track.artists)))

    # ------------------------------------------------------------------ one track

    async def track_outside_catalogue(self, engine: Engine, query: Query, original: TrackNotFound) -> int:
        """A track link the catalogue lacks (`query.link`, already parsed): ask Spotify which song it is,
        then find it or the nearest."""
        from songrec.domain import SpotifyError
        from songrec.spotify.resolve import resolve_track_ref

        text = query.text
        client = self._client()
        if client is None:
            raise NotInCatalogueYet(
                text,
                "That Spotify track is not in the catalogue yet, and Spotify look-ups aren't set up here, so I "
                "can't tell which song it is: type its name instead.",
                original.closest,
            )
        try:
            found = await resolve_track_ref(
                query.link or text, lambda tid: engine.row_of(tid) is not None, client
            )
        except MalformedSpotifyLink as exc:
            raise InvalidInput(str(exc)) from exc
        except SpotifyError as exc:
            log.info("spotify could not resolve %r: %s", text[:80], exc)
            raise NotInCatalogueYet(
                text,
                f"That Spotify track is not in the catalogue yet, and Spotify couldn't tell me which song it is "
                f"just now ({exc}) Try again later, or type the song's name.",
                original.closest,
            ) from exc
        for track_id in found.catalogue_ids:
            row = engine.row_of(track_id)
            if row is not None:
                return row
        if not found.tracks:
            raise NotInCatalogueYet(text, "That Spotify track is not in the catalogue yet.", original.closest)
        wanted = found.tracks[0]
        row = self._match(engine, await self._key_index(engine), wanted)
        if row is not None:
            return row
        closest = await self._cpu.run(closest_known, engine, wanted.name, wanted.artist)
        head = f"“{wanted.name}” by {', '.join(wanted.artists) or 'an unknown artist'} is not in the catalogue yet."
        if closest:
            listed = "; ".join(f"{t.name} by {t.artist_line}" for t in closest)
            tail = f" The closest songs I know: {listed}."
        else:
            tail = f" I don't know other songs by {wanted.artist or 'that artist'} or with that name yet."
        raise NotInCatalogueYet(text, head + tail, closest, title=wanted.name, artist=wanted.artist)

    # ------------------------------------------------------------------ albums, playlists, artists

    async def artist_rows(self, engine: Engine, ref: SpotifyRef) -> list[int]:
        client = self._client()
        if client is None:
            raise SpotifyNotSetUp(f"That's an artist link. {LOOKUP_HELP}", LOOKUP_HINT)
        with spotify_errors():
            name = await client.artist_name(ref.id)
        if not name:
            raise InvalidInput("Spotify couldn't find that artist; check the link.")
        rows = await self._cpu.run(rows_by_artist, engine, name, ARTIST_SEEDS)
        if not rows:
            raise NotInCatalogueYet(
                ref.url, f"I don't have songs by {name} in the catalogue yet.", artist=name
            )
        return rows

    async def collection(self, engine: Engine, ref: SpotifyRef) -> tuple[ImportedSeeds, tuple[int, ...]]:
        """An album's or playlist's tracks that the catalogue knows (read from Spotify, or cached)."""
        key = (ref.kind, ref.id)
        cached = self._collections.get(key)
        if cached is not None and cached[0] is engine and time.monotonic() - cached[1] < COLLECTION_TTL_S:
            return cached[2], cached[3]
        client = self._client()
        if client is None:
            raise SpotifyNotSetUp(f"Reading a Spotify {ref.kind} needs Spotify. {LOOKUP_HELP}", LOOKUP_HINT)
        with spotify_errors():
            if ref.kind == "album":
                collection = await client.album(ref.id, max_tracks=MAX_COLLECTION_TRACKS)
            else:
                collection = await client.playlist(ref.id, max_tracks=MAX_COLLECTION_TRACKS)
        if not collection.tracks:
            raise InvalidInput(
                f"That {ref.kind} has no tracks songrec can use (it is empty, or holds only local files, "
                "podcast episodes or removed tracks)."
            )
        index = await self._key_index(engine)
        rows: dict[int, None] = {}
        missing: list[SpotifyTrack] = []
        for track in collection.tracks:
            row = self._match(engine, index, track)
            if row is None:
                missing.append(track)
            else:
                rows.setdefault(row, None)
        examples = tuple(f"{t.name} by {t.artist or 'unknown'}" for t in missing[:5])
        if not rows:
            first = missing[0]
            closest = await self._cpu.run(closest_known, engine, first.name, first.artist)
            raise NotInCatalogueYet(
                ref.url,
                _missing_message(ref.kind, collection.name, len(collection.tracks), examples),
                closest,
            )
        kept = tuple(list(rows)[:MAX_COLLECTION_SEEDS])
        imported = ImportedSeeds(
            kind=ref.kind,
            name=collection.name,
            url=ref.url,
            tracks=tuple(engine.info(r) for r in kept),
            missing=len(missing),
            skipped=collection.skipped,
            missing_examples=examples,
        )
        if len(self._collections) >= COLLECTION_CACHE_SIZE:
            del self._collections[min(self._collections, key=lambda k: self._collections[k][1])]
        self._collections[key] = (engine, time.monotonic(), imported, kept)
        return imported, kept

    async def import_playlist(self, user_id: int, url: str) -> ImportedSeeds:
        """A playlist's (or album's) catalogue tracks as seeds, and how many Spotify tracks were missing."""
        checks.user(user_id)
        if not isinstance(url, str) or not url.strip():
            raise InvalidInput("Paste a Spotify playlist or album link.")
        try:
            ref = parse_spotify_ref_strict(url.strip(), default_kind="playlist")
        except MalformedSpotifyLink as exc:
            raise InvalidInput(str(exc)) from exc
        if ref.kind not in ("album", "playlist"):
            raise InvalidInput(
                f"That's a Spotify {ref.kind} link: give me a playlist or album link (a {ref.kind} link "
                "works as the song in /recommend)."
            )
        imported, _ = await self.collection(self._serving.engine, ref)
        return imported

    # ------------------------------------------------------------------ export

    async def export_playlist(
        self,
        user_id: int,
        *,
        count: int | None = None,
        session_id: int | None = None,
        name: str | None = None,
        public: bool = True,
    ) -> PlaylistExport:
        """Create a playlist of the user's recent suggestions (oldest first, as they were shown) or of a
        session's suggestions (in order) in the operator's Spotify account; returns its link.

        Public by default: a private playlist in the operator's account can't be opened by anyone else.
        """
        uid = checks.user(user_id)
        if count is not None and (
            isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_EXPORT
        ):
            raise InvalidInput(f"Export between 1 and {MAX_EXPORT} songs.")
        if name is not None and not isinstance(name, str):
            raise InvalidInput("The playlist name must be text.")
        client = self._client()
        if client is None:
            raise SpotifyNotSetUp(EXPORT_HELP, EXPORT_HINT)
        day = datetime.now(UTC).strftime("%Y-%m-%d")
        if session_id is not None:
            track_ids = await self._session_track_ids(uid, session_id)
            if count is not None:
                track_ids = track_ids[:count]
            default_name, description = (
                f"songrec session {day}",
                "Suggested by songrec to a listening session.",
            )
        else:
            with db_errors():
                recent = await self._store.recent_suggested_tracks(uid, limit=count or DEFAULT_EXPORT)
            track_ids = list(reversed(recent))  # newest first -> in the order they were suggested
            default_name, description = f"songrec suggestions {day}", "Suggested by songrec."
        title = " ".join((name or "").split())[:100] or default_name
        return await self.create_playlist(title, track_ids, description=description, public=public)

    async def create_playlist(
        self, title: str, track_ids: Sequence[str], *, description: str, public: bool = True
    ) -> PlaylistExport:
        """The export path every playlist takes (suggestions, sessions, a server's mix): the tracks with
        a Spotify id, each once, in order, as a playlist in the operator's account."""
        client = self._client()
        if client is None:
            raise SpotifyNotSetUp(EXPORT_HELP, EXPORT_HINT)
        track_ids = list(dict.fromkeys(track_ids))
        usable = [t for t in track_ids if is_spotify_id(t)]
        if not usable:
            raise InvalidInput(NOTHING_TO_EXPORT)
        with spotify_errors(export=True):
            url = await client.create_playlist(title, usable, public=public, description=description)
        try:
            canonical = parse_spotify_ref(url, default_kind="playlist")
        except MalformedSpotifyLink:
            canonical = None
        engine = self._serving.engine
        return PlaylistExport(
            url=canonical.url if canonical is not None else url,
            name=title,
            tracks=tuple(track_info(engine, t) for t in usable),
            skipped=len(track_ids) - len(usable),
        )

    async def _session_track_ids(self, uid: int, session_id: int) -> list[str]:
        if isinstance(session_id, bool) or not isinstance(session_id, int) or session_id <= 0:
            raise InvalidInput("That isn't a valid session.")
        with db_errors():
            record = await self._store.get_session(session_id)
            if record is None:
                raise InvalidInput("That session no longer exists.")
            members = {m.user_id for m in await self._store.members(session_id, include_left=True)}
            tracks = await self._store.session_tracks(session_id)
        if uid not in members and uid != record.created_by:
            raise NotInSession("Only the session's listeners can export its songs.")
        return [t.track_id for t in tracks if t.suggestion_id is not None]
