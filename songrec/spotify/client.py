"""The Spotify Web API client (through spotipy): track lookup, search, album/playlist import, playlist export.

What Spotify still serves shapes this module (see the facts below); audio features never come from here.

* Since 2024-11-27 new apps get 403/404 from audio-features, audio-analysis, recommendations and
  related-artists: songrec takes audio features from its own catalogue, and the two wrappers here only
  exist to turn those refusals into `SpotifyFeatureUnavailable`.
* Since February 2026, development-mode apps lost batch look-ups (GET /v1/tracks?ids=...), search returns at
  most 10 results, `popularity` is gone, playlist creation is POST /v1/me/playlists, playlist contents moved
  to /v1/playlists/{id}/items (entries carry `item`, the old `track` key is deprecated), and playlists the
  user neither owns nor collaborates on return metadata only.

spotipy is blocking, so every call runs in a small dedicated thread pool under a timeout, and retries (with
exponential backoff, honouring Retry-After on 429) are ours: spotipy gets a plain requests.Session with no
urllib3 Retry adapter. Its built-in adapter retries 429/5xx itself, sleeping for whatever Retry-After says
(hours, when Spotify is cross), blocking a worker thread and hiding the header from us once it gives up.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
from collections.abc import Awaitable, Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

import requests
import spotipy
from spotipy.exceptions import SpotifyException, SpotifyOauthError

from songrec.domain import (
    MalformedSpotifyLink,
    SpotifyAuthError,
    SpotifyError,
    SpotifyFeatureUnavailable,
    SpotifyForbidden,
    SpotifyNotFound,
    SpotifyPlaylistHidden,
    SpotifyRateLimited,
    SpotifyUnavailable,
)
from songrec.spotify.auth import (
    LOGIN_HINT,
    AppAuth,
    SpotifyConfig,
    UserAuth,
    spotipy_client,
    translate_oauth_error,
)
from songrec.spotify.links import is_spotify_id, parse_spotify_ref
from songrec.spotify.tracks import SpotifyCollection, SpotifyTrack, TrackCache

log = logging.getLogger(__name__)

T = TypeVar("T")

SEARCH_LIMIT_MAX = 10  # development-mode cap since February 2026; the API answers 400 above it
ADD_ITEMS_BATCH = 100  # Spotify's per-request maximum for adding playlist items


_DEPRECATED_MESSAGE = (
    "Spotify no longer serves {what} to new apps (removed 2024-11-27); songrec takes audio features "
    "and recommendations from its own catalogue instead."
)
_PLAYLIST_MESSAGE = (
    "Spotify won't let songrec read that playlist. Spotify-made playlists (editorial and personalised "
    "ones such as Today's Top Hits, Discover Weekly or Daily Mix) are off-limits to apps like this one, "
    "and apps in development mode can only read playlists the logged-in user owns or collaborates on. "
    "Copy the songs into a playlist of your own, or paste track links instead."
)


class SpotifyClient:
    """Async facade over spotipy with timeouts, bounded retries and an optional metadata cache."""

    def __init__(
        self,
        cfg: SpotifyConfig | None = None,
        cache: TrackCache | None = None,
        *,
        timeout: float = 10.0,
        max_attempts: int = 4,
        backoff_base: float = 0.5,
        backoff_max: float = 8.0,
        max_retry_after: float = 30.0,
        max_workers: int = 4,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.config = cfg or SpotifyConfig.from_env()
        self.cache = cache
        self.timeout = timeout
        self.max_attempts = max(1, max_attempts)
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.max_retry_after = max_retry_after
        self._sleep = sleep
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="spotify")
        self._app: spotipy.Spotify | None = None
        self._user: spotipy.Spotify | None = None
        self._init_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SpotifyClient(api={self.config.prefix!r}, configured={self.config.configured})"

    async def __aenter__(self) -> SpotifyClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    # -- spotipy objects, built lazily so the bot can start without Spotify configured

    def _app_client(self) -> spotipy.Spotify:
        with self._init_lock:
            if self._app is None:
                self.config.require()
                self._app = spotipy_client(self.config, AppAuth(self.config, self.timeout), self.timeout)
            return self._app

    def _user_client(self) -> spotipy.Spotify:
        with self._init_lock:
            if self._user is None:
                self.config.require()
                self._user = spotipy_client(self.config, UserAuth(self.config, self.timeout), self.timeout)
            return self._user

    # -- the one place blocking calls, timeouts and retries happen

    async def _call(
        self, what: str, fn: Callable[..., T], *args: Any, idempotent: bool = True, **kwargs: Any
    ) -> T:
        """Run fn in the pool; retry 429 (honouring Retry-After), and for idempotent calls 5xx/network errors.

        A POST is retried only on 429, which Spotify sends before doing anything, so a retry can't
        create a second playlist.
        """
        loop = asyncio.get_running_loop()
        for attempt in range(1, self.max_attempts + 1):
            delay: float
            try:
                future = loop.run_in_executor(self._executor, partial(fn, *args, **kwargs))
                # A spotipy call may make two HTTP requests (token, then API), each under requests_timeout.
                return await asyncio.wait_for(future, timeout=2 * self.timeout + 1)
            except SpotifyException as exc:
                if exc.http_status == 429:
                    delay = self._retry_after(exc, attempt)
                elif exc.http_status >= 500 and idempotent:
                    delay = self._backoff(attempt)
                else:
                    raise self._translate(exc, what) from None
                reason = f"HTTP {exc.http_status}"
            except SpotifyOauthError as exc:
                raise translate_oauth_error(exc) from None
            except (requests.RequestException, TimeoutError) as exc:
                if not idempotent:
                    raise SpotifyUnavailable(
                        f"Couldn't reach Spotify while trying to {what}; please try again in a minute."
                    ) from exc
                delay = self._backoff(attempt)
                reason = type(exc).__name__
            if attempt == self.max_attempts:
                break
            log.info("Spotify %s failed (%s); retry %d in %.1fs", what, reason, attempt, delay)
            await self._sleep(delay)
        if reason == "HTTP 429":
            raise SpotifyRateLimited("Spotify is rate-limiting songrec; please try again in a few minutes.")
        raise SpotifyUnavailable(
            f"Spotify kept failing while trying to {what} ({reason}); please try again in a few minutes."
        )

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
        return ceiling * random.uniform(0.5, 1.0)

    def _retry_after(self, exc: SpotifyException, attempt: int) -> float:
        header = (exc.headers or {}).get("Retry-After")
        try:
            wait = float(header) if header is not None else self._backoff(attempt)
        except ValueError:
            wait = self._backoff(attempt)
        if wait > self.max_retry_after:
            minutes = max(1, round(wait / 60))
            raise SpotifyRateLimited(
                f"Spotify is rate-limiting songrec; please try again in about {minutes} minute(s).", wait
            )
        return max(0.0, wait)

    def _translate(self, exc: SpotifyException, what: str) -> SpotifyError:
        status = exc.http_status
        if status == 401:
            return SpotifyAuthError(
                f"Spotify rejected our authorization while trying to {what}; check SPOTIFY_CLIENT_ID and "
                f"SPOTIFY_CLIENT_SECRET, or {LOGIN_HINT}."
            )
        if status == 403:
            return SpotifyForbidden(
                f"Spotify refused to {what} (403). In development mode only users on the app's allow-list "
                f"can use it, and playlist changes need the playlist-modify scopes: {LOGIN_HINT}."
            )
        if status == 404:
            return SpotifyNotFound(f"Spotify couldn't find that ({what}); check the link.")
        if status == 400:
            return SpotifyError(f"Spotify rejected the request to {what}: {_api_message(exc)}")
        return SpotifyUnavailable(f"Spotify failed to {what} (HTTP {status}); please try again later.")

    # -- metadata cache (best effort: a broken cache must not break look-ups)

    async def _cache_get(self, track_id: str) -> SpotifyTrack | None:
        if self.cache is None:
            return None
        try:
            payload = await self.cache.get_spotify_track(track_id)
            return SpotifyTrack.from_payload(payload) if payload else None
        except Exception:
            log.warning("Spotify metadata cache read failed for %s", track_id, exc_info=True)
            return None

    async def _cache_put(self, tracks: Iterable[SpotifyTrack]) -> None:
        if self.cache is None:
            return
        for track in tracks:
            try:
                await self.cache.put_spotify_track(track.id, track.to_payload())
            except Exception:
                log.warning("Spotify metadata cache write failed for %s", track.id, exc_info=True)
                return

    # -- read-only look-ups (client-credentials token)

    async def track(self, track_id: str) -> SpotifyTrack:
        """One track by id, URL or URI; served from the cache when we have it."""
        tid = _id_of(track_id, "track")
        cached = await self._cache_get(tid)
        if cached is not None:
            return cached
        sp = self._app_client()
        obj = await self._call(f"look up track {tid}", sp.track, tid, market=self.config.market)
        if not obj or not obj.get("id"):
            raise SpotifyNotFound(f"Spotify has no track {tid}.")
        track = SpotifyTrack.from_api(obj)
        await self._cache_put([track])
        return track

    async def search_tracks(self, query: str, limit: int = SEARCH_LIMIT_MAX) -> list[SpotifyTrack]:
        """Search tracks; limit is clamped to 1..10, the most development-mode apps may ask for."""
        query = query.strip()
        if not query:
            return []
        limit = max(1, min(int(limit), SEARCH_LIMIT_MAX))
        sp = self._app_client()
        result = await self._call(
            "search", sp.search, query[:250], limit=limit, type="track", market=self.config.market
        )
        items = ((result or {}).get("tracks") or {}).get("items") or []
        tracks = [SpotifyTrack.from_api(obj) for obj in items if obj and obj.get("id")][:limit]
        await self._cache_put(tracks)
        return tracks

    async def artist_name(self, artist_id: str) -> str:
        aid = _id_of(artist_id, "artist")
        sp = self._app_client()
        obj = await self._call(f"look up artist {aid}", sp.artist, aid)
        return str((obj or {}).get("name") or "")

    async def album(self, album_id: str, max_tracks: int = 2000) -> SpotifyCollection:
        aid = _id_of(album_id, "album")
        sp = self._app_client()
        obj = await self._call(f"look up album {aid}", sp.album, aid, market=self.config.market)
        if not obj:
            raise SpotifyNotFound(f"Spotify has no album {aid}.")
        album_meta = {k: obj.get(k) for k in ("id", "name", "release_date")}
        tracks: list[SpotifyTrack] = []
        page: dict[str, Any] | None = obj.get("tracks")
        if page is None:
            page = await self._call("list album tracks", sp.album_tracks, aid, limit=50)
        while page:
            for item in page.get("items") or []:
                if item and item.get("id"):
                    tracks.append(SpotifyTrack.from_api(item, album=album_meta))
            if not page.get("next") or len(tracks) >= max_tracks:
                break
            page = await self._call("list album tracks", sp.next, page)
        tracks = tracks[:max_tracks]
        await self._cache_put(tracks)
        return SpotifyCollection("album", aid, str(obj.get("name") or ""), tuple(tracks))

    async def album_tracks(self, album_id: str) -> list[SpotifyTrack]:
        return list((await self.album(album_id)).tracks)

    async def playlist(self, playlist_id: str, max_tracks: int = 2000) -> SpotifyCollection:
        """A playlist's tracks via /playlists/{id}/items, following `next` until done.

        Read with the app token; if Spotify says 403 (development-mode apps may only read playlists the
        logged-in user owns or collaborates on) and a user login is stored, try once more as that user.
        A final 403/404 becomes SpotifyPlaylistHidden with an explanation the user can act on.
        """
        pid = _id_of(playlist_id, "playlist")
        try:
            try:
                name, tracks, skipped = await self._read_playlist(self._app_client(), pid, max_tracks)
            except SpotifyForbidden:
                if not self.config.token_cache_path.exists():
                    raise
                try:
                    name, tracks, skipped = await self._read_playlist(self._user_client(), pid, max_tracks)
                except SpotifyAuthError as exc:
                    raise SpotifyForbidden(str(exc)) from exc
        except (SpotifyForbidden, SpotifyNotFound) as exc:
            raise SpotifyPlaylistHidden(_PLAYLIST_MESSAGE) from exc
        await self._cache_put(tracks)
        return SpotifyCollection("playlist", pid, name, tuple(tracks), skipped)

    async def _read_playlist(
        self, sp: spotipy.Spotify, pid: str, max_tracks: int
    ) -> tuple[str, list[SpotifyTrack], int]:
        meta = await self._call(
            f"open playlist {pid}", sp.playlist, pid, market=self.config.market, additional_types=("track",)
        )
        meta = meta or {}
        # February 2026 renamed the playlist's `tracks` paging to `items`; accept either.
        page: dict[str, Any] | None = meta.get("items") or meta.get("tracks")
        if not page or "items" not in page:
            # Metadata only (not the user's playlist): ask the items endpoint, which says 403 if refused.
            page = await self._call(
                f"list playlist {pid}",
                sp.playlist_items,
                pid,
                limit=50,
                market=self.config.market,
                additional_types=("track",),
            )
        tracks: list[SpotifyTrack] = []
        skipped = 0
        while page:
            for entry in page.get("items") or []:
                entry = entry or {}
                obj = entry.get("item") or entry.get("track")  # `track` is the deprecated name
                if (
                    not obj
                    or not obj.get("id")
                    or obj.get("type", "track") != "track"
                    or entry.get("is_local")
                ):
                    skipped += 1  # removed tracks, local files, podcast episodes
                    continue
                tracks.append(SpotifyTrack.from_api(obj))
            if not page.get("next") or len(tracks) >= max_tracks:
                break
            page = await self._call(f"list playlist {pid}", sp.next, page)
        return str(meta.get("name") or ""), tracks[:max_tracks], skipped

    async def playlist_tracks(self, playlist_id: str) -> list[SpotifyTrack]:
        return list((await self.playlist(playlist_id)).tracks)

    # -- deprecated endpoints: called only to explain why they are not used

    async def audio_features(self, track_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Always expected to fail for new apps; kept so callers get SpotifyFeatureUnavailable, not a 403."""
        ids = [_id_of(t, "track") for t in track_ids]
        return await self._deprecated("audio features", lambda sp: sp.audio_features(ids))

    async def recommendations(self, seed_tracks: Sequence[str], limit: int = 20) -> dict[str, Any]:
        ids = [_id_of(t, "track") for t in seed_tracks]
        return await self._deprecated(
            "recommendations", lambda sp: sp.recommendations(seed_tracks=ids, limit=limit)
        )

    async def _deprecated(self, what: str, fn: Callable[[spotipy.Spotify], T]) -> T:
        sp = self._app_client()
        try:
            return await self._call(what, fn, sp)
        except (SpotifyForbidden, SpotifyNotFound) as exc:
            raise SpotifyFeatureUnavailable(_DEPRECATED_MESSAGE.format(what=what)) from exc

    # -- user actions (authorization-code token from `songrec spotify-login`)

    async def current_user(self) -> dict[str, Any]:
        sp = self._user_client()
        return await self._call("read your Spotify profile", sp.current_user)

    async def create_playlist(
        self, name: str, track_ids: Sequence[str], public: bool = False, description: str = ""
    ) -> str:
        """Create a playlist for the logged-in user (POST /me/playlists), add tracks in order, return its URL."""
        ids = [_id_of(t, "track") for t in track_ids]
        name = (name or "").strip()[:100] or "songrec suggestions"
        sp = self._user_client()
        created = await self._call(
            "create the playlist",
            sp.current_user_playlist_create,
            name,
            public=public,
            description=" ".join(description.split())[:300],
            idempotent=False,
        )
        pid = str(created["id"])
        url = (created.get("external_urls") or {}).get(
            "spotify"
        ) or f"https://open.spotify.com/playlist/{pid}"
        uris = [f"spotify:track:{tid}" for tid in ids]
        for start in range(0, len(uris), ADD_ITEMS_BATCH):
            try:
                # spotipy 2.26 posts to /playlists/{id}/items, the endpoint that replaced /tracks.
                await self._call(
                    "add tracks to the playlist",
                    sp.playlist_add_items,
                    pid,
                    uris[start : start + ADD_ITEMS_BATCH],
                    idempotent=False,
                )
            except SpotifyError as exc:
                raise type(exc)(
                    f"{exc} The playlist was created with {start} of {len(uris)} tracks: {url}"
                ) from exc
        return url


def _api_message(exc: SpotifyException) -> str:
    text = str(exc.msg or "").split("\n")[-1].strip()
    return text or f"HTTP {exc.http_status}"


def _id_of(value: str, kind: str) -> str:
    """Accept an id, URL or URI of the expected kind; anything else is a friendly MalformedSpotifyLink."""
    value = (value or "").strip()
    if is_spotify_id(value):
        return value
    ref = parse_spotify_ref(value, default_kind=kind)  # type: ignore[arg-type]
    if ref is None:
        raise MalformedSpotifyLink(value, f"expected a Spotify {kind} link or id")
    if ref.kind != kind:
        raise MalformedSpotifyLink(value, f"that is a {ref.kind} link, not a {kind} link")
    return ref.id
