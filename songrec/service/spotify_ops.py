"""Spotify in the service: links outside the catalogue, albums and playlists as seeds, playlist export.

Audio features always come from the catalogue: Spotify only says which song a link names (single-track
look-up or search, client credentials), lists an album's or playlist's tracks, and creates playlists in
the operator's account (authorization code, `songrec spotify-login`). Every spotipy call runs in
songrec.spotify's executor with a timeout, retries and Retry-After; this mixin only decides what to ask
and turns every Spotify failure into a SongrecError the user can act on.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from songrec.lookup import title_key
from songrec.service.config import ServiceConfig
from songrec.service.errors import db_errors
from songrec.service.scoring import EngineContext
from songrec.service.taste import cluster_likes
from songrec.service.types import (
    ImportedSeeds,
    InvalidInput,
    NotInCatalogueYet,
    NotInSession,
    PlaylistExport,
    PlaylistUnavailable,
    SpotifyNotSetUp,
    SpotifyProblem,
    TrackInfo,
    TrackNotFound,
)
from songrec.spotify_links import (
    MalformedSpotifyLink,
    SpotifyRef,
    is_spotify_id,
    is_spotify_like,
    parse_spotify_ref,
    parse_spotify_ref_strict,
)

if TYPE_CHECKING:
    from songrec.engine import Engine
    from songrec.spotify import SpotifyClient, SpotifyTrack
    from songrec.store import Store

log = logging.getLogger(__name__)
T = TypeVar("T")

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
    "Spotify look-ups aren't set up here (the operator sets SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET), "
    "so I can only use songs from my catalogue: paste a track link or type a song name."
)
EXPORT_HELP = (
    "Spotify export isn't set up: the operator runs `songrec spotify-login` with SPOTIFY_CLIENT_ID and "
    "SPOTIFY_CLIENT_SECRET set."
)
NOTHING_TO_EXPORT = "There's nothing to export yet: ask me for /recommend first."


@contextlib.contextmanager
def spotify_errors(*, export: bool = False) -> Iterator[None]:
    """Translate songrec.spotify's errors into SongrecErrors with a message that says what to do."""
    from songrec import spotify as sp

    try:
        yield
    except MalformedSpotifyLink as exc:
        raise InvalidInput(str(exc)) from exc
    except sp.PlaylistUnavailable as exc:
        raise PlaylistUnavailable(str(exc)) from exc
    except sp.SpotifyNotConfigured as exc:
        raise SpotifyNotSetUp(EXPORT_HELP if export else f"{exc} {LOOKUP_HELP}") from exc
    except sp.SpotifyForbidden as exc:
        raise SpotifyProblem(str(exc)) from exc
    except sp.SpotifyAuthError as exc:
        prefix = "Spotify export needs the operator's Spotify login: " if export else ""
        raise SpotifyNotSetUp(prefix + str(exc)) from exc
    except sp.SpotifyError as exc:
        raise SpotifyProblem(str(exc)) from exc


def representatives(ctx: EngineContext, rows: Sequence[int], n: int) -> list[int]:
    """At most n rows that stand for a collection: the most central track of each k-means cluster.

    A 50-track playlist queried seed by seed would give its first few tracks all the picks; one anchor
    per cluster shares them across the playlist's styles, largest first.
    """
    if len(rows) <= n:
        return list(rows)
    clusters = cluster_likes(ctx, np.asarray(rows, dtype=np.int64), n, 1)
    return [c.anchors[0] for c in clusters][:n]


def closest_known(ctx: EngineContext, name: str, artist: str) -> list[TrackInfo]:
    """Catalogue tracks by the same artist first, then ones with the same name (at most five)."""
    engine = ctx.engine
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
        if any(str(a).casefold().strip() == wanted for a in engine.catalog["artists"].iat[r])
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
    """The Spotify half of Service (a mixin: it shares the service's store, engine and threads)."""

    config: ServiceConfig
    _store: Store
    _ctx: EngineContext
    _spotify: SpotifyClient | None

    if TYPE_CHECKING:

        def _user(self, user_id: Any) -> int: ...
        async def _cpu(self, fn: Callable[..., T], *args: Any) -> T: ...
        async def _resolve(self, ctx: EngineContext, text: str) -> int: ...
        def _track_info(self, ctx: EngineContext, track_id: str) -> TrackInfo: ...

    def _init_spotify(self) -> None:
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

    async def _key_index(self, ctx: EngineContext) -> dict[str, int]:
        cached = self._keys
        if cached is not None and cached[0] is ctx.engine:
            return cached[1]
        index = await self._cpu(key_index, ctx.engine)
        self._keys = (ctx.engine, index)
        return index

    @staticmethod
    def _match(ctx: EngineContext, index: dict[str, int], track: SpotifyTrack) -> int | None:
        """By id, else by same song (Spotify has an id per release: single, album, remaster)."""
        row = ctx.engine.row_of(track.id)
        if row is not None:
            return row
        return index.get(title_key(track.name, list(track.artists)))

    # ------------------------------------------------------------------ one track

    async def _resolve_with_spotify(self, ctx: EngineContext, text: str, original: TrackNotFound) -> int:
        """A track link outside the catalogue: ask Spotify which song it is, then find it or the nearest."""
        from songrec.spotify import SpotifyError, resolve_track_ref

        client = self._client()
        if client is None:
            raise NotInCatalogueYet(
                text,
                "That Spotify track is not in the catalogue yet, and Spotify look-ups aren't set up here, so I "
                "can't tell which song it is: type its name instead.",
                original.closest,
            )
        try:
            found = await resolve_track_ref(text, lambda tid: ctx.engine.row_of(tid) is not None, client)
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
            row = ctx.engine.row_of(track_id)
            if row is not None:
                return row
        if not found.tracks:
            raise NotInCatalogueYet(text, "That Spotify track is not in the catalogue yet.", original.closest)
        wanted = found.tracks[0]
        row = self._match(ctx, await self._key_index(ctx), wanted)
        if row is not None:
            return row
        closest = await self._cpu(closest_known, ctx, wanted.name, wanted.artist)
        head = f"“{wanted.name}” by {', '.join(wanted.artists) or 'an unknown artist'} is not in the catalogue yet."
        if closest:
            listed = "; ".join(f"{t.name} by {t.artist_line}" for t in closest)
            tail = f" The closest songs I know: {listed}."
        else:
            tail = f" I don't know other songs by {wanted.artist or 'that artist'} or with that name yet."
        raise NotInCatalogueYet(text, head + tail, closest, title=wanted.name, artist=wanted.artist)

    # ------------------------------------------------------------------ albums, playlists, artists

    @staticmethod
    def _link(text: Any) -> SpotifyRef | None:
        """An album, playlist or artist link; None for songs (tracks, names, ids, broken links)."""
        if not isinstance(text, str) or not is_spotify_like(text):
            return None
        try:
            ref = parse_spotify_ref(text)
        except MalformedSpotifyLink:
            return None  # _resolve says what is wrong with it
        return ref if ref is not None and ref.kind != "track" else None

    async def _expand(self, ctx: EngineContext, text: str) -> tuple[list[int], bool]:
        """Catalogue rows for one seed text, and whether it named a collection (album/playlist/artist)."""
        ref = self._link(text)
        if ref is None:
            return [await self._resolve(ctx, text)], False
        if ref.kind == "artist":
            return await self._artist_rows(ctx, ref), True
        _, rows = await self._collection(ctx, ref)
        return list(rows), True

    async def _resolve_seeds(self, ctx: EngineContext, text: str) -> list[int]:
        """Every catalogue row a seed stands for: one for a song, all known tracks for an album/playlist."""
        rows, _ = await self._expand(ctx, text)
        return rows

    async def resolve_seeds(self, text: str) -> list[TrackInfo]:
        """The catalogue tracks a song argument stands for (not recorded anywhere): one for a song or a
        track link, the known tracks of an album or playlist, a few songs of an artist link."""
        ctx = self._ctx
        return [ctx.info(r) for r in await self._resolve_seeds(ctx, text)]

    async def _seed_rows(
        self, ctx: EngineContext, texts: Sequence[str]
    ) -> tuple[tuple[int, ...], frozenset[int]]:
        """(anchors to recommend from, every row the seeds stand for: never suggested back)."""
        anchors: list[int] = []
        every: list[int] = []
        for text in texts:
            rows, collection = await self._expand(ctx, text)
            every += rows
            if collection and len(rows) > self.config.max_seeds:
                rows = await self._cpu(representatives, ctx, rows, self.config.max_seeds)
            anchors += rows
        return tuple(dict.fromkeys(anchors)), frozenset(every)

    async def _artist_rows(self, ctx: EngineContext, ref: SpotifyRef) -> list[int]:
        client = self._client()
        if client is None:
            raise SpotifyNotSetUp(f"That's an artist link. {LOOKUP_HELP}")
        with spotify_errors():
            name = await client.artist_name(ref.id)
        if not name:
            raise InvalidInput("Spotify couldn't find that artist; check the link.")
        rows = await self._cpu(rows_by_artist, ctx.engine, name, ARTIST_SEEDS)
        if not rows:
            raise NotInCatalogueYet(
                ref.url, f"I don't have songs by {name} in the catalogue yet.", artist=name
            )
        return rows

    async def _collection(self, ctx: EngineContext, ref: SpotifyRef) -> tuple[ImportedSeeds, tuple[int, ...]]:
        """An album's or playlist's tracks that the catalogue knows (read from Spotify, or cached)."""
        key = (ref.kind, ref.id)
        cached = self._collections.get(key)
        if cached is not None and cached[0] is ctx.engine and time.monotonic() - cached[1] < COLLECTION_TTL_S:
            return cached[2], cached[3]
        client = self._client()
        if client is None:
            raise SpotifyNotSetUp(f"Reading a Spotify {ref.kind} needs Spotify. {LOOKUP_HELP}")
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
        index = await self._key_index(ctx)
        rows: dict[int, None] = {}
        missing: list[SpotifyTrack] = []
        for track in collection.tracks:
            row = self._match(ctx, index, track)
            if row is None:
                missing.append(track)
            else:
                rows.setdefault(row, None)
        examples = tuple(f"{t.name} by {t.artist or 'unknown'}" for t in missing[:5])
        if not rows:
            first = missing[0]
            closest = await self._cpu(closest_known, ctx, first.name, first.artist)
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
            tracks=tuple(ctx.info(r) for r in kept),
            missing=len(missing),
            skipped=collection.skipped,
            missing_examples=examples,
        )
        if len(self._collections) >= COLLECTION_CACHE_SIZE:
            del self._collections[min(self._collections, key=lambda k: self._collections[k][1])]
        self._collections[key] = (ctx.engine, time.monotonic(), imported, kept)
        return imported, kept

    async def import_playlist(self, user_id: int, url: str) -> ImportedSeeds:
        """A playlist's (or album's) catalogue tracks as seeds, and how many Spotify tracks were missing."""
        self._user(user_id)
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
        imported, _ = await self._collection(self._ctx, ref)
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
        uid = self._user(user_id)
        if count is not None and (
            isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_EXPORT
        ):
            raise InvalidInput(f"Export between 1 and {MAX_EXPORT} songs.")
        if name is not None and not isinstance(name, str):
            raise InvalidInput("The playlist name must be text.")
        client = self._client()
        if client is None:
            raise SpotifyNotSetUp(EXPORT_HELP)
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
        track_ids = list(dict.fromkeys(track_ids))
        usable = [t for t in track_ids if is_spotify_id(t)]
        if not usable:
            raise InvalidInput(NOTHING_TO_EXPORT)
        title = " ".join((name or "").split())[:100] or default_name
        with spotify_errors(export=True):
            url = await client.create_playlist(title, usable, public=public, description=description)
        try:
            canonical = parse_spotify_ref(url, default_kind="playlist")
        except MalformedSpotifyLink:
            canonical = None
        ctx = self._ctx
        return PlaylistExport(
            url=canonical.url if canonical is not None else url,
            name=title,
            tracks=tuple(self._track_info(ctx, t) for t in usable),
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
