"""Spotify Web API access through spotipy: track lookup, search, album/playlist import and playlist export.

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
import inspect
import json
import logging
import os
import random
import re
import secrets
import threading
from collections.abc import Awaitable, Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qs, urlsplit

import requests
import spotipy
from spotipy.cache_handler import CacheHandler, MemoryCacheHandler
from spotipy.exceptions import SpotifyException, SpotifyOauthError
from spotipy.oauth2 import SpotifyClientCredentials, SpotifyOAuth

from songrec import config as songrec_config
from songrec.spotify_links import MalformedSpotifyLink, SpotifyRef, is_spotify_id, parse_spotify_ref

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_API_PREFIX = "https://api.spotify.com/v1/"
DEFAULT_ACCOUNTS_URL = "https://accounts.spotify.com"
DEFAULT_REDIRECT_URI = "http://127.0.0.1:8888/callback"
USER_SCOPES = ("playlist-modify-public", "playlist-modify-private")
SEARCH_LIMIT_MAX = 10  # development-mode cap since February 2026; the API answers 400 above it
ADD_ITEMS_BATCH = 100  # Spotify's per-request maximum for adding playlist items
LOGIN_HINT = "run `songrec spotify-login` again"


# --------------------------------------------------------------------------------------------- errors


class SpotifyError(Exception):
    """Base class: the message is meant for the person who asked, not for a traceback."""


class SpotifyNotConfigured(SpotifyError):
    """Spotify credentials are missing from the environment."""


class SpotifyAuthError(SpotifyError):
    """Credentials or the stored user authorization were rejected."""


class SpotifyNotFound(SpotifyError):
    """Spotify has no such object (or nothing matched a search)."""


class SpotifyForbidden(SpotifyAuthError):
    """Spotify answered 403: this app or user may not do that."""


class PlaylistUnavailable(SpotifyError):
    """Spotify refuses to serve a playlist's tracks to this app."""


class SpotifyFeatureUnavailable(SpotifyError):
    """A deprecated endpoint (audio features, recommendations...) that Spotify no longer serves us."""


class SpotifyRateLimited(SpotifyError):
    """Spotify asked us to back off for longer than we are willing to wait."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SpotifyUnavailable(SpotifyError):
    """Spotify could not be reached or kept failing after our retries."""


# --------------------------------------------------------------------------------------------- config


@dataclass(frozen=True)
class SpotifyConfig:
    """Where and as whom to talk to Spotify. Secrets are kept out of repr so they never reach a log."""

    client_id: str | None = field(default=None, repr=False)
    client_secret: str | None = field(default=None, repr=False)
    redirect_uri: str = DEFAULT_REDIRECT_URI
    token_cache_path: Path = field(default_factory=lambda: songrec_config.home() / "spotify_token.json")
    api_prefix: str = DEFAULT_API_PREFIX
    accounts_url: str = DEFAULT_ACCOUNTS_URL
    market: str | None = None

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> SpotifyConfig:
        """SPOTIFY_CLIENT_ID/SECRET/REDIRECT_URI as Spotify names them; the rest let tests point at a fake."""
        env = os.environ if environ is None else environ
        token_path = env.get("SPOTIFY_TOKEN_CACHE")
        return cls(
            client_id=env.get("SPOTIFY_CLIENT_ID") or None,
            client_secret=env.get("SPOTIFY_CLIENT_SECRET") or None,
            redirect_uri=env.get("SPOTIFY_REDIRECT_URI") or DEFAULT_REDIRECT_URI,
            token_cache_path=Path(token_path).expanduser()
            if token_path
            else songrec_config.home() / "spotify_token.json",
            api_prefix=env.get("SPOTIFY_API_PREFIX") or DEFAULT_API_PREFIX,
            accounts_url=env.get("SPOTIFY_ACCOUNTS_URL") or DEFAULT_ACCOUNTS_URL,
            market=env.get("SPOTIFY_MARKET") or None,
        )

    @property
    def configured(self) -> bool:
        return bool(self.client_id and self.client_secret)

    def require(self) -> None:
        """Raise SpotifyNotConfigured naming exactly which variables to set."""
        missing = [
            name
            for name, value in (
                ("SPOTIFY_CLIENT_ID", self.client_id),
                ("SPOTIFY_CLIENT_SECRET", self.client_secret),
            )
            if not value
        ]
        if missing:
            raise SpotifyNotConfigured(
                f"Spotify isn't set up: set {' and '.join(missing)} in the environment (create an app at "
                "https://developer.spotify.com/dashboard and add "
                f"{self.redirect_uri} as its redirect URI)."
            )

    @property
    def token_url(self) -> str:
        return self.accounts_url.rstrip("/") + "/api/token"

    @property
    def authorize_url(self) -> str:
        return self.accounts_url.rstrip("/") + "/authorize"

    @property
    def prefix(self) -> str:
        return self.api_prefix if self.api_prefix.endswith("/") else self.api_prefix + "/"


# --------------------------------------------------------------------------------------------- records


@dataclass(frozen=True)
class SpotifyTrack:
    """The Spotify metadata songrec uses; popularity is usually absent since February 2026."""

    id: str
    name: str
    artists: tuple[str, ...]
    artist_ids: tuple[str, ...] = ()
    album: str | None = None
    album_id: str | None = None
    release_year: int | None = None
    duration_ms: int = 0
    explicit: bool = False
    url: str = ""
    isrc: str | None = None
    popularity: int | None = None

    @property
    def artist(self) -> str:
        """Primary artist, for display and for 'same artist' fallbacks."""
        return self.artists[0] if self.artists else ""

    @property
    def uri(self) -> str:
        return f"spotify:track:{self.id}"

    @property
    def label(self) -> str:
        return f"{self.name} — {', '.join(self.artists)}" if self.artists else self.name

    @classmethod
    def from_api(cls, obj: dict[str, Any], album: dict[str, Any] | None = None) -> SpotifyTrack:
        """Build from a full or simplified track object; `album` fills in what simplified ones lack."""
        album_obj = obj.get("album") or album or {}
        artists = obj.get("artists") or []
        return cls(
            id=str(obj["id"]),
            name=str(obj.get("name") or ""),
            artists=tuple(str(a.get("name") or "") for a in artists),
            artist_ids=tuple(str(a.get("id") or "") for a in artists),
            album=album_obj.get("name"),
            album_id=album_obj.get("id"),
            release_year=_year(album_obj.get("release_date")),
            duration_ms=int(obj.get("duration_ms") or 0),
            explicit=bool(obj.get("explicit", False)),
            url=(obj.get("external_urls") or {}).get("spotify")
            or f"https://open.spotify.com/track/{obj['id']}",
            isrc=(obj.get("external_ids") or {}).get("isrc"),
            popularity=obj.get("popularity"),
        )

    def to_payload(self) -> dict[str, Any]:
        """JSON-ready dict for the metadata cache."""
        payload = asdict(self)
        payload["artists"] = list(self.artists)
        payload["artist_ids"] = list(self.artist_ids)
        return payload

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> SpotifyTrack:
        return cls(
            id=str(payload["id"]),
            name=str(payload.get("name") or ""),
            artists=tuple(payload.get("artists") or ()),
            artist_ids=tuple(payload.get("artist_ids") or ()),
            album=payload.get("album"),
            album_id=payload.get("album_id"),
            release_year=payload.get("release_year"),
            duration_ms=int(payload.get("duration_ms") or 0),
            explicit=bool(payload.get("explicit", False)),
            url=payload.get("url") or f"https://open.spotify.com/track/{payload['id']}",
            isrc=payload.get("isrc"),
            popularity=payload.get("popularity"),
        )


@dataclass(frozen=True)
class SpotifyCollection:
    """An album's or playlist's playable tracks, in order."""

    kind: str
    id: str
    name: str
    tracks: tuple[SpotifyTrack, ...]
    skipped: int = 0  # local files, episodes and removed tracks we cannot use as seeds


def _year(release_date: Any) -> int | None:
    if not release_date:
        return None
    match = re.match(r"(\d{4})", str(release_date))
    year = int(match.group(1)) if match else 0
    return year or None


class TrackCache(Protocol):
    """What SpotifyClient needs from a metadata cache (songrec.store.Store provides it)."""

    async def get_spotify_track(self, track_id: str) -> dict[str, Any] | None: ...

    async def put_spotify_track(self, track_id: str, payload: dict[str, Any]) -> None: ...


# --------------------------------------------------------------------------------------------- secrets


class _RedactSecrets(logging.Filter):
    """spotipy logs request headers and bodies at DEBUG (Basic/Bearer credentials, codes, refresh tokens)."""

    _patterns = (
        re.compile(r"((?:Bearer|Basic)\s+)[A-Za-z0-9._~+/=-]+"),
        re.compile(
            r"""(['"]?(?:access_token|refresh_token|code|client_secret|client_id)['"]?\s*[:=]\s*['"]?)[^'"\s,}&]+"""
        ),
    )

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is still better logged than dropped
            return True
        redacted = message
        for pattern in self._patterns:
            redacted = pattern.sub(r"\1[redacted]", redacted)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


_REDACTOR = _RedactSecrets()
for _name in ("spotipy.client", "spotipy.oauth2", "spotipy.cache_handler", "spotipy.util"):
    _logger = logging.getLogger(_name)
    if _REDACTOR not in _logger.filters:
        _logger.addFilter(_REDACTOR)


class SecureTokenFile(CacheHandler):
    """Token cache file written atomically with 0600 permissions (it holds a long-lived refresh token)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def get_cached_token(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            log.warning("Spotify token cache %s is unreadable; ignoring it", self.path)
            return None
        return data if isinstance(data, dict) else None

    def save_token_to_cache(self, token_info: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(token_info, handle)
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise


# --------------------------------------------------------------------------------------------- auth managers


class _AppAuth(SpotifyClientCredentials):
    """Client-credentials flow for read-only look-ups; a lock stops concurrent workers fetching twice."""

    def __init__(self, cfg: SpotifyConfig, timeout: float) -> None:
        super().__init__(
            client_id=cfg.client_id,
            client_secret=cfg.client_secret,
            requests_session=requests.Session(),
            requests_timeout=timeout,
            cache_handler=MemoryCacheHandler(),  # the default writes a .cache file into the CWD
        )
        self.OAUTH_TOKEN_URL = cfg.token_url
        self._lock = threading.Lock()

    def get_access_token(self, as_dict: bool = False, check_cache: bool = True) -> Any:
        with self._lock:
            return super().get_access_token(as_dict=as_dict, check_cache=check_cache)


class _UserAuth(SpotifyOAuth):
    """Authorization-code flow backed by the stored token; never prompts (the bot has no terminal)."""

    def __init__(self, cfg: SpotifyConfig, timeout: float, state: str | None = None) -> None:
        super().__init__(
            client_id=cfg.client_id,
            client_secret=cfg.client_secret,
            redirect_uri=cfg.redirect_uri,
            state=state,
            scope=" ".join(USER_SCOPES),
            requests_session=requests.Session(),
            requests_timeout=timeout,
            open_browser=False,
            cache_handler=SecureTokenFile(cfg.token_cache_path),
        )
        self.OAUTH_TOKEN_URL = cfg.token_url
        self.OAUTH_AUTHORIZE_URL = cfg.authorize_url
        self._lock = threading.Lock()

    def get_auth_response(self, open_browser: bool | None = None) -> str:
        # spotipy falls back to an interactive prompt when no usable token is stored.
        raise SpotifyAuthError(
            "No Spotify login with playlist permissions is stored; run `songrec spotify-login` once."
        )

    def get_access_token(
        self, code: str | None = None, as_dict: bool = False, check_cache: bool = True
    ) -> Any:
        with self._lock:
            return super().get_access_token(code=code, as_dict=as_dict, check_cache=check_cache)


def _spotipy_client(cfg: SpotifyConfig, auth_manager: Any, timeout: float) -> spotipy.Spotify:
    # retries=0/status_retries=0 document intent; the plain Session is what actually keeps urllib3's
    # Retry adapter (and its unbounded Retry-After sleeps) out, so our async retry loop is in charge.
    client = spotipy.Spotify(
        auth_manager=auth_manager,
        requests_session=requests.Session(),
        requests_timeout=timeout,
        retries=0,
        status_retries=0,
    )
    client.prefix = cfg.prefix  # spotipy 2.26 has no prefix argument; the attribute is what it reads
    return client


# --------------------------------------------------------------------------------------------- client


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
                self._app = _spotipy_client(self.config, _AppAuth(self.config, self.timeout), self.timeout)
            return self._app

    def _user_client(self) -> spotipy.Spotify:
        with self._init_lock:
            if self._user is None:
                self.config.require()
                self._user = _spotipy_client(self.config, _UserAuth(self.config, self.timeout), self.timeout)
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
                raise self._translate_oauth(exc) from None
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

    @staticmethod
    def _translate_oauth(exc: SpotifyOauthError) -> SpotifyError:
        if exc.error == "invalid_grant":
            return SpotifyAuthError(f"Your Spotify authorization has expired or was revoked; {LOGIN_HINT}.")
        if exc.error == "invalid_client":
            return SpotifyAuthError(
                "Spotify rejected the app credentials; check SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET."
            )
        return SpotifyAuthError(f"Spotify authorization failed ({exc.error}); {LOGIN_HINT}.")

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
        A final 403/404 becomes PlaylistUnavailable with an explanation the user can act on.
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
            raise PlaylistUnavailable(_PLAYLIST_MESSAGE) from exc
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


# --------------------------------------------------------------------------------------------- resolve


@dataclass(frozen=True)
class Resolution:
    """What a user's link or song name turned into.

    `catalogue_ids` are tracks songrec can recommend from right away; `missing` are Spotify tracks it does
    not know yet, so the caller can offer the nearest catalogue tracks by the same artist or name.
    """

    source: str  # "track", "album", "playlist", "artist" or "search"
    query: str
    ref: SpotifyRef | None
    catalogue_ids: tuple[str, ...]
    tracks: tuple[SpotifyTrack, ...] = ()
    missing: tuple[SpotifyTrack, ...] = ()
    title: str | None = None
    artist: str | None = None
    note: str | None = None

    @property
    def not_in_catalogue(self) -> bool:
        """True when nothing resolved is in the catalogue yet: offer nearest matches instead."""
        return not self.catalogue_ids


CatalogueLookup = Callable[[str], "bool | Awaitable[bool]"]


async def _in_catalogue(lookup: CatalogueLookup, track_id: str) -> bool:
    result = lookup(track_id)
    if inspect.isawaitable(result):
        result = await result
    return bool(result)


async def resolve_track_ref(
    ref: SpotifyRef | str, catalogue_lookup: CatalogueLookup, client: SpotifyClient | None
) -> Resolution:
    """Turn a link, URI, id or song name into catalogue tracks plus Spotify metadata.

    Raises MalformedSpotifyLink for broken links and SpotifyError subclasses (all with a message for the
    user) when Spotify can't help; never returns an empty Resolution.
    """
    query = ref.url if isinstance(ref, SpotifyRef) else str(ref).strip()
    parsed = ref if isinstance(ref, SpotifyRef) else parse_spotify_ref(query)
    if parsed is not None and parsed.kind == "track" and await _in_catalogue(catalogue_lookup, parsed.id):
        return Resolution("track", query, parsed, (parsed.id,))
    if client is None:
        raise SpotifyNotConfigured(
            "Spotify isn't set up, so I can only use tracks already in my catalogue: set SPOTIFY_CLIENT_ID "
            "and SPOTIFY_CLIENT_SECRET to look up other links."
        )
    if parsed is None:
        if not query:
            raise SpotifyNotFound("Tell me a song name or paste a Spotify link.")
        hits = await client.search_tracks(query, limit=SEARCH_LIMIT_MAX)
        if not hits:
            raise SpotifyNotFound(f"Spotify found nothing for “{query}”.")
        resolution = await _split("search", query, None, hits[:1], catalogue_lookup)
        return await _prefer_catalogue_version(resolution, hits, catalogue_lookup, client)
    if parsed.kind == "track":
        track = await client.track(parsed.id)
        resolution = await _split("track", query, parsed, [track], catalogue_lookup)
        return await _prefer_catalogue_version(resolution, None, catalogue_lookup, client)
    if parsed.kind == "artist":
        name = await client.artist_name(parsed.id)
        if not name:
            raise SpotifyNotFound("Spotify couldn't find that artist; check the link.")
        return Resolution(
            "artist",
            query,
            parsed,
            (),
            artist=name,
            note=f"That's an artist link: I'll use songs by {name} from the catalogue.",
        )
    collection = await (client.album(parsed.id) if parsed.kind == "album" else client.playlist(parsed.id))
    if not collection.tracks:
        raise SpotifyNotFound(f"That {parsed.kind} has no tracks songrec can use.")
    return await _split(
        parsed.kind, query, parsed, list(collection.tracks), catalogue_lookup, collection.name
    )


async def _split(
    source: str,
    query: str,
    ref: SpotifyRef | None,
    tracks: list[SpotifyTrack],
    lookup: CatalogueLookup,
    title: str | None = None,
) -> Resolution:
    known: list[str] = []
    missing: list[SpotifyTrack] = []
    for track in tracks:
        if await _in_catalogue(lookup, track.id):
            known.append(track.id)
        else:
            missing.append(track)
    note = None
    if not known:
        what = f"“{tracks[0].label}”" if len(tracks) == 1 else f"any of these {len(tracks)} tracks"
        note = f"I don't have {what} in my catalogue yet; here are the closest songs I know."
    return Resolution(
        source,
        query,
        ref,
        tuple(dict.fromkeys(known)),
        tuple(tracks),
        tuple(missing),
        title=title,
        artist=tracks[0].artist if len(tracks) == 1 else None,
        note=note,
    )


_VERSION_WORDS = re.compile(r"remaster|version|edit|mono|stereo|single|radio|explicit|clean|deluxe", re.I)


def _base_name(name: str) -> str:
    """Song name without remaster/edition noise: "Dreams - 2004 Remaster" -> "Dreams"."""
    if " - " in name and _VERSION_WORDS.search(name.split(" - ", 1)[1]):
        name = name.split(" - ", 1)[0]
    name = re.sub(
        r"[(\[][^)\]]*[)\]]", lambda m: "" if _VERSION_WORDS.search(m.group(0)) else m.group(0), name
    )
    return " ".join(name.split())


def _song_key(track: SpotifyTrack) -> tuple[str, str]:
    """Name and primary artist, normalised, to spot the same recording under two ids."""
    return _base_name(track.name).lower(), track.artist.lower().strip()


async def _prefer_catalogue_version(
    resolution: Resolution,
    hits: list[SpotifyTrack] | None,
    lookup: CatalogueLookup,
    client: SpotifyClient,
) -> Resolution:
    """Spotify has several ids per song (single, album, remaster); use the one the catalogue knows."""
    if not resolution.not_in_catalogue or not resolution.tracks:
        return resolution
    wanted = resolution.tracks[0]
    if hits is None:
        try:
            hits = await client.search_tracks(f'track:"{_base_name(wanted.name)}" artist:"{wanted.artist}"')
        except SpotifyError:
            return resolution  # best effort: the caller still gets the Spotify metadata
    key = _song_key(wanted)
    for hit in hits:
        if hit.id != wanted.id and _song_key(hit) == key and await _in_catalogue(lookup, hit.id):
            return Resolution(
                resolution.source,
                resolution.query,
                resolution.ref,
                (hit.id,),
                resolution.tracks,
                (),
                title=resolution.title,
                artist=resolution.artist,
                note=f"Using the catalogue's version of “{wanted.label}”.",
            )
    return resolution


# --------------------------------------------------------------------------------------------- login


def parse_redirect(response: str, expected_state: str | None) -> str:
    """Pull the authorization code out of the pasted redirect URL (or accept a bare code)."""
    text = response.strip().strip("<>").strip()
    if not text:
        raise SpotifyAuthError(f"Nothing was pasted; {LOGIN_HINT}.")
    if "?" not in text and "=" not in text and "/" not in text:
        return text
    query = parse_qs(urlsplit(text).query)
    if "error" in query:
        raise SpotifyAuthError(f"Spotify said “{query['error'][0]}” (was access declined?); {LOGIN_HINT}.")
    if expected_state is not None and query.get("state", [expected_state])[0] != expected_state:
        raise SpotifyAuthError(f"That redirect belongs to a different login attempt; {LOGIN_HINT}.")
    code = query.get("code", [""])[0]
    if not code:
        raise SpotifyAuthError(f"The pasted URL has no ?code=...; {LOGIN_HINT}.")
    return code


def spotify_login(
    cfg: SpotifyConfig | None = None,
    *,
    response: str | None = None,
    input_fn: Callable[[str], str] = input,
    print_fn: Callable[[str], None] = print,
    timeout: float = 10.0,
) -> Path:
    """One-time authorization-code setup for `songrec spotify-login`; returns the 0600 token file path.

    Prints the authorize URL; the user approves, gets redirected to SPOTIFY_REDIRECT_URI (nothing needs to
    listen there) and pastes the URL from the address bar back, or just the code.
    """
    cfg = cfg or SpotifyConfig.from_env()
    cfg.require()
    state = secrets.token_urlsafe(16)
    auth = _UserAuth(cfg, timeout, state=state)
    print_fn("Open this URL, approve access, then paste the address you are redirected to:")
    print_fn(auth.get_authorize_url(state))
    pasted = response if response is not None else input_fn("Redirected URL (or code): ")
    code = parse_redirect(pasted, state)
    try:
        auth.get_access_token(code=code, check_cache=False)
    except SpotifyOauthError as exc:
        if exc.error == "invalid_grant":
            raise SpotifyAuthError(
                f"Spotify rejected that code (codes are single-use and expire within minutes); {LOGIN_HINT}."
            ) from None
        raise SpotifyClient._translate_oauth(exc) from None
    except requests.RequestException as exc:
        raise SpotifyUnavailable("Couldn't reach Spotify to finish the login; try again.") from exc
    os.chmod(cfg.token_cache_path, 0o600)
    try:
        me = _spotipy_client(cfg, auth, timeout).current_user() or {}
        who = me.get("display_name") or me.get("id") or "your account"
    except (SpotifyException, requests.RequestException):
        who = "your account"
    print_fn(f"Logged in to Spotify as {who}; token stored in {cfg.token_cache_path} (mode 0600).")
    return cfg.token_cache_path


def spotify_login_main() -> int:
    """Entry point for the CLI: friendly message and exit code instead of a traceback."""
    try:
        spotify_login()
    except SpotifyError as exc:
        print(exc)
        return 1
    except (KeyboardInterrupt, EOFError):
        print("\nLogin cancelled.")
        return 1
    return 0
