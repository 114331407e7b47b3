"""A fake Spotify Web API and accounts service on 127.0.0.1, speaking the real JSON shapes.

It models the API as a development-mode app sees it in 2026: no audio features or recommendations
(403/404), no batch track look-ups, search limit <= 10, no popularity, playlist contents under
/playlists/{id}/items with entries carrying `item` (and the deprecated `track`), playlist creation via
POST /me/playlists, and Spotify-made (editorial/algorithmic) playlists answering 404.

It runs an aiohttp app on its own event loop in a background thread, so spotipy's blocking requests
(made from worker threads) can reach it while the test's loop awaits. Every request is recorded.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import secrets
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
USER_SCOPE = "playlist-modify-private playlist-modify-public"


def make_id(seed: str) -> str:
    """A deterministic 22-character base62 id, like Spotify's."""
    number = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:17], "big")
    chars = []
    for _ in range(22):
        number, rem = divmod(number, 62)
        chars.append(BASE62[rem])
    return "".join(chars)


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    status: int = 0
    at: float = 0.0


@dataclass
class _Track:
    id: str
    name: str
    artist_ids: list[str]
    album_id: str
    duration_ms: int
    explicit: bool
    track_number: int
    isrc: str


@dataclass
class _Album:
    id: str
    name: str
    artist_ids: list[str]
    release_date: str
    track_ids: list[str] = field(default_factory=list)


@dataclass
class _Playlist:
    id: str
    name: str
    owner_id: str
    public: bool = True
    collaborative: bool = False
    description: str = ""
    # Entries are track ids, None for a removed track, or ("local", name) / ("episode", id) tuples.
    entries: list[Any] = field(default_factory=list)
    snapshot: int = 1


class _Reply(Exception):
    """Raised inside handlers to answer with an error in Spotify's shape."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


class FakeSpotify:
    """Spotify Web API + accounts service stand-in. Use as a context manager or call start()/stop()."""

    def __init__(
        self,
        client_id: str = "fake-client-id",
        client_secret: str = "fake-client-secret",
        user_id: str = "songrec-owner",
        display_name: str = "Songrec Owner",
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.user_id = user_id
        self.display_name = display_name
        self.artists: dict[str, str] = {}
        self.albums: dict[str, _Album] = {}
        self.tracks: dict[str, _Track] = {}
        self.playlists: dict[str, _Playlist] = {}
        self.editorial: set[str] = set()
        # Development mode: playlist items only for the owner's user token (metadata-only otherwise).
        self.owner_only_playlists = False
        self.include_popularity = False
        self.search_default_limit = 5
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._failures: list[tuple[int, str, dict[str, str]]] = []
        self._app_tokens: set[str] = set()
        self._user_tokens: dict[str, str] = {}
        self._refresh_tokens: dict[str, str] = {}
        self._codes: dict[str, str] = {}
        self.revoked_refresh_tokens: set[str] = set()
        self.deny_authorization = False
        self.base_url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeSpotify:
        ready = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._serve())
            except BaseException as exc:  # surfaced to start()
                errors.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup() if self._runner else asyncio.sleep(0))
            loop.close()

        self._thread = threading.Thread(target=run, name="fake-spotify", daemon=True)
        self._thread.start()
        ready.wait(10)
        if errors:
            raise errors[0]
        return self

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        if self._loop and self._thread:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._thread = None

    def __enter__(self) -> FakeSpotify:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def api_prefix(self) -> str:
        return f"{self.base_url}/v1/"

    @property
    def accounts_url(self) -> str:
        return self.base_url

    # ------------------------------------------------------------------ data

    def add_artist(self, name: str) -> str:
        aid = make_id(f"artist:{name}")
        self.artists[aid] = name
        return aid

    def add_album(
        self,
        name: str,
        artist: str | list[str],
        track_names: list[str],
        release_date: str = "2001-01-01",
        durations_ms: list[int] | None = None,
        track_ids: list[str] | None = None,
    ) -> tuple[str, list[str]]:
        """Add an album; `track_ids` gives its tracks chosen ids (e.g. a catalogue's), else they are made up."""
        artist_ids = [self.add_artist(a) for a in ([artist] if isinstance(artist, str) else artist)]
        album_id = make_id(f"album:{name}:{artist}")
        album = _Album(album_id, name, artist_ids, release_date)
        self.albums[album_id] = album
        for number, track_name in enumerate(track_names, start=1):
            tid = track_ids[number - 1] if track_ids else make_id(f"track:{album_id}:{track_name}:{number}")
            self.tracks[tid] = _Track(
                id=tid,
                name=track_name,
                artist_ids=list(artist_ids),
                album_id=album_id,
                duration_ms=(durations_ms or [])[number - 1] if durations_ms else 180_000 + number * 1000,
                explicit=False,
                track_number=number,
                isrc="USFAK" + tid[:7].upper(),
            )
            album.track_ids.append(tid)
        return album_id, list(album.track_ids)

    def add_track(
        self,
        name: str,
        artist: str,
        album: str | None = None,
        release_date: str = "2001-01-01",
        track_id: str | None = None,
    ) -> str:
        ids = [track_id] if track_id else None
        return self.add_album(album or f"{name} (Single)", artist, [name], release_date, track_ids=ids)[1][0]

    def add_playlist(
        self,
        name: str,
        entries: list[Any],
        owner_id: str = "someone",
        editorial: bool = False,
        pid: str | None = None,
    ) -> str:
        pid = pid or make_id(f"playlist:{name}:{owner_id}")
        self.playlists[pid] = _Playlist(pid, name, owner_id, entries=list(entries))
        if editorial:
            self.editorial.add(pid)
        return pid

    # ------------------------------------------------------------------ switches and inspection

    def rate_limit(self, times: int = 1, retry_after: int = 1) -> None:
        """Answer the next `times` API requests with 429 and a Retry-After header, then serve normally."""
        self.fail(times, 429, {"Retry-After": str(retry_after)})

    def fail(self, times: int, status: int, headers: dict[str, str] | None = None) -> None:
        """Answer the next `times` API (/v1/) requests with `status`."""
        message = {429: "API rate limit exceeded", 502: "Bad gateway", 503: "Service unavailable"}.get(
            status, "Server error"
        )
        with self._lock:
            self._failures.extend([(status, message, dict(headers or {}))] * times)

    def revoke_refresh_tokens(self) -> None:
        """Make every refresh token fail with invalid_grant, as after the user revokes access."""
        self.revoked_refresh_tokens.update(self._refresh_tokens)

    def issue_user_token(self, expired: bool = False, scope: str = USER_SCOPE) -> dict[str, Any]:
        """A token_info dict as `songrec spotify-login` would have stored it."""
        access, refresh = self._new_user_tokens()
        now = int(time.time())
        return {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": 3600,
            "refresh_token": refresh,
            "scope": scope,
            "expires_at": now - 60 if expired else now + 3600,
        }

    def calls(
        self, method: str | None = None, path: str | re.Pattern[str] | None = None
    ) -> list[RecordedRequest]:
        with self._lock:
            found = list(self.requests)
        if method:
            found = [r for r in found if r.method == method]
        if isinstance(path, str):
            found = [r for r in found if r.path == path]
        elif path is not None:
            found = [r for r in found if path.search(r.path)]
        return found

    def api_calls(self) -> list[RecordedRequest]:
        return [r for r in self.calls() if r.path.startswith("/v1/")]

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    # ------------------------------------------------------------------ dispatch

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        body: Any = None
        if raw:
            ctype = request.headers.get("Content-Type", "")
            try:
                if "json" in ctype:
                    body = json.loads(raw)
                elif "x-www-form-urlencoded" in ctype:
                    body = dict((await request.post()).items())
                else:
                    body = raw.decode("utf-8", "replace")
            except ValueError:
                body = raw.decode("utf-8", "replace")
        record = RecordedRequest(
            request.method,
            request.path,
            dict(request.query),
            dict(request.headers),
            body,
            at=time.monotonic(),
        )
        with self._lock:
            self.requests.append(record)
        try:
            response = await self._route(request, body)
        except _Reply as reply:
            response = web.json_response(
                {"error": {"status": reply.status, "message": reply.message}},
                status=reply.status,
                headers=reply.headers,
            )
        record.status = response.status
        return response

    async def _route(self, request: web.Request, body: Any) -> web.StreamResponse:
        path = request.path.rstrip("/") or "/"
        if path == "/api/token" and request.method == "POST":
            return self._token(request, body)
        if path == "/authorize" and request.method == "GET":
            return self._authorize(request)
        if not path.startswith("/v1/"):
            raise _Reply(404, "Service not found")
        with self._lock:
            failure = self._failures.pop(0) if self._failures else None
        if failure:
            raise _Reply(*failure)
        user = self._bearer(request)
        for method, pattern, handler in self._routes:
            if method == request.method and (match := re.fullmatch(pattern, path)):
                return await handler(self, request, body, user, *match.groups())
        raise _Reply(404, "Service not found")

    # ------------------------------------------------------------------ accounts service

    def _client_auth_ok(self, request: web.Request, form: dict[str, Any]) -> bool:
        header = request.headers.get("Authorization", "")
        if header.startswith("Basic "):
            try:
                cid, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            except ValueError:
                return False
        else:
            cid, secret = form.get("client_id", ""), form.get("client_secret", "")
        return cid == self.client_id and secret == self.client_secret

    @staticmethod
    def _oauth_error(error: str, description: str, status: int = 400) -> web.Response:
        return web.json_response({"error": error, "error_description": description}, status=status)

    def _new_user_tokens(self) -> tuple[str, str]:
        access, refresh = "BQ-user-" + secrets.token_hex(8), "AQ-refresh-" + secrets.token_hex(8)
        self._user_tokens[access] = self.user_id
        self._refresh_tokens[refresh] = self.user_id
        return access, refresh

    def _token(self, request: web.Request, form: Any) -> web.Response:
        form = form if isinstance(form, dict) else {}
        if not self._client_auth_ok(request, form):
            return self._oauth_error("invalid_client", "Invalid client")
        grant = form.get("grant_type")
        if grant == "client_credentials":
            token = "BQ-app-" + secrets.token_hex(8)
            self._app_tokens.add(token)
            return web.json_response({"access_token": token, "token_type": "Bearer", "expires_in": 3600})
        if grant == "authorization_code":
            redirect = self._codes.pop(form.get("code", ""), None)
            if redirect is None:
                return self._oauth_error("invalid_grant", "Invalid authorization code")
            if redirect != form.get("redirect_uri"):
                return self._oauth_error("invalid_grant", "Invalid redirect URI")
            access, refresh = self._new_user_tokens()
            return web.json_response(
                {
                    "access_token": access,
                    "token_type": "Bearer",
                    "expires_in": 3600,
                    "refresh_token": refresh,
                    "scope": USER_SCOPE,
                }
            )
        if grant == "refresh_token":
            refresh = form.get("refresh_token", "")
            if refresh not in self._refresh_tokens or refresh in self.revoked_refresh_tokens:
                return self._oauth_error("invalid_grant", "Refresh token revoked")
            access = "BQ-user-" + secrets.token_hex(8)
            self._user_tokens[access] = self._refresh_tokens[refresh]
            return web.json_response(
                {"access_token": access, "token_type": "Bearer", "expires_in": 3600, "scope": USER_SCOPE}
            )
        return self._oauth_error("unsupported_grant_type", "grant_type parameter is missing")

    def _authorize(self, request: web.Request) -> web.Response:
        query = request.query
        if query.get("client_id") != self.client_id:
            return web.Response(status=400, text="INVALID_CLIENT: Invalid client")
        redirect = query.get("redirect_uri", "")
        if not redirect:
            return web.Response(status=400, text="INVALID_CLIENT: Invalid redirect URI")
        params: dict[str, str] = {}
        if self.deny_authorization:
            params["error"] = "access_denied"
        else:
            code = "AQC-" + secrets.token_urlsafe(12)
            self._codes[code] = redirect
            params["code"] = code
        if "state" in query:
            params["state"] = query["state"]
        return web.Response(status=302, headers={"Location": f"{redirect}?{urlencode(params)}"})

    def _bearer(self, request: web.Request) -> str | None:
        """Returns the user id for a user token, '' for an app token; 401 otherwise."""
        header = request.headers.get("Authorization", "")
        token = header[7:] if header.startswith("Bearer ") else ""
        if token in self._user_tokens:
            return self._user_tokens[token]
        if token in self._app_tokens:
            return ""
        if not token:
            raise _Reply(401, "No token provided")
        raise _Reply(401, "Invalid access token")

    # ------------------------------------------------------------------ JSON shapes

    def _href(self, kind: str, oid: str) -> str:
        return f"{self.base_url}/v1/{kind}s/{oid}"

    def _artist_obj(self, aid: str) -> dict[str, Any]:
        return {
            "external_urls": {"spotify": f"https://open.spotify.com/artist/{aid}"},
            "href": self._href("artist", aid),
            "id": aid,
            "name": self.artists[aid],
            "type": "artist",
            "uri": f"spotify:artist:{aid}",
        }

    def _album_obj(self, album: _Album) -> dict[str, Any]:
        return {
            "album_type": "single" if len(album.track_ids) == 1 else "album",
            "total_tracks": len(album.track_ids),
            "external_urls": {"spotify": f"https://open.spotify.com/album/{album.id}"},
            "href": self._href("album", album.id),
            "id": album.id,
            "images": [{"url": f"https://i.scdn.co/image/{album.id}", "height": 640, "width": 640}],
            "name": album.name,
            "release_date": album.release_date,
            "release_date_precision": "day" if len(album.release_date) == 10 else "year",
            "type": "album",
            "uri": f"spotify:album:{album.id}",
            "artists": [self._artist_obj(a) for a in album.artist_ids],
        }

    def _track_obj(self, tid: str, simplified: bool = False) -> dict[str, Any]:
        track = self.tracks[tid]
        obj: dict[str, Any] = {
            "artists": [self._artist_obj(a) for a in track.artist_ids],
            "disc_number": 1,
            "duration_ms": track.duration_ms,
            "explicit": track.explicit,
            "external_urls": {"spotify": f"https://open.spotify.com/track/{tid}"},
            "href": self._href("track", tid),
            "id": tid,
            "is_local": False,
            "name": track.name,
            "track_number": track.track_number,
            "type": "track",
            "uri": f"spotify:track:{tid}",
        }
        if not simplified:
            obj["album"] = self._album_obj(self.albums[track.album_id])
            obj["external_ids"] = {"isrc": track.isrc}
            if self.include_popularity:
                obj["popularity"] = 50
        return obj

    def _paging(self, url: str, items: list[Any], offset: int, limit: int, total: int) -> dict[str, Any]:
        def page_url(off: int) -> str:
            return f"{url}?offset={off}&limit={limit}"

        return {
            "href": page_url(offset),
            "items": items,
            "limit": limit,
            "next": page_url(offset + limit) if offset + limit < total else None,
            "offset": offset,
            "previous": page_url(max(0, offset - limit)) if offset > 0 else None,
            "total": total,
        }

    @staticmethod
    def _window(request: web.Request, default: int, maximum: int) -> tuple[int, int]:
        try:
            limit = int(request.query.get("limit", default))
            offset = int(request.query.get("offset", 0))
        except ValueError:
            raise _Reply(400, "Invalid limit") from None
        if not 1 <= limit <= maximum:
            raise _Reply(400, "Invalid limit")
        if offset < 0:
            raise _Reply(400, "Invalid offset")
        return offset, limit

    def _user_obj(self, uid: str) -> dict[str, Any]:
        return {
            "display_name": self.display_name if uid == self.user_id else uid,
            "external_urls": {"spotify": f"https://open.spotify.com/user/{uid}"},
            "href": f"{self.base_url}/v1/users/{uid}",
            "id": uid,
            "type": "user",
            "uri": f"spotify:user:{uid}",
        }

    def _playlist_entry(self, entry: Any, legacy: bool) -> dict[str, Any]:
        added = {"added_at": "2024-05-01T12:00:00Z", "added_by": self._user_obj("someone"), "is_local": False}
        obj: dict[str, Any] | None
        if entry is None:
            obj = None
        elif isinstance(entry, tuple) and entry[0] == "local":
            added["is_local"] = True
            obj = {"id": None, "name": entry[1], "type": "track", "uri": f"spotify:local:::{entry[1]}:0"}
        elif isinstance(entry, tuple) and entry[0] == "episode":
            obj = {
                "id": entry[1],
                "name": "An episode",
                "type": "episode",
                "uri": f"spotify:episode:{entry[1]}",
            }
        else:
            obj = self._track_obj(entry)
        if legacy:
            return {**added, "track": obj}
        return {**added, "item": obj, "track": obj}  # `track` is still sent during its deprecation window

    def _playlist_items_visible(self, playlist: _Playlist, user: str | None) -> bool:
        return not self.owner_only_playlists or user == playlist.owner_id or playlist.collaborative

    def _playlist_obj(self, playlist: _Playlist, user: str | None) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "collaborative": playlist.collaborative,
            "description": playlist.description,
            "external_urls": {"spotify": f"https://open.spotify.com/playlist/{playlist.id}"},
            "href": self._href("playlist", playlist.id),
            "id": playlist.id,
            "images": [],
            "name": playlist.name,
            "owner": self._user_obj(playlist.owner_id),
            "public": playlist.public,
            "snapshot_id": f"snap-{playlist.snapshot}",
            "type": "playlist",
            "uri": f"spotify:playlist:{playlist.id}",
        }
        if self._playlist_items_visible(playlist, user):
            limit = 50
            entries = playlist.entries[:limit]
            obj["items"] = self._paging(
                f"{self._href('playlist', playlist.id)}/items",
                [self._playlist_entry(e, legacy=False) for e in entries],
                0,
                limit,
                len(playlist.entries),
            )
        return obj

    # ------------------------------------------------------------------ API handlers

    async def _get_track(self, request: web.Request, body: Any, user: str | None, tid: str) -> web.Response:
        if not re.fullmatch(r"[0-9A-Za-z]{22}", tid):
            raise _Reply(400, "Invalid base62 id")
        if tid not in self.tracks:
            raise _Reply(404, "Resource not found")
        return web.json_response(self._track_obj(tid))

    async def _get_tracks_batch(self, request: web.Request, body: Any, user: str | None) -> web.Response:
        raise _Reply(403, "Forbidden")  # batch look-ups are gone for development-mode apps

    async def _get_artist(self, request: web.Request, body: Any, user: str | None, aid: str) -> web.Response:
        if aid not in self.artists:
            raise _Reply(404, "Resource not found")
        return web.json_response({**self._artist_obj(aid), "images": []})

    async def _get_album(self, request: web.Request, body: Any, user: str | None, alid: str) -> web.Response:
        album = self.albums.get(alid)
        if album is None:
            raise _Reply(404, "Resource not found")
        obj = self._album_obj(album)
        limit = 50
        obj["tracks"] = self._paging(
            f"{self._href('album', alid)}/tracks",
            [self._track_obj(t, simplified=True) for t in album.track_ids[:limit]],
            0,
            limit,
            len(album.track_ids),
        )
        obj["external_ids"] = {"upc": "000000000000"}
        return web.json_response(obj)

    async def _get_album_tracks(
        self, request: web.Request, body: Any, user: str | None, alid: str
    ) -> web.Response:
        album = self.albums.get(alid)
        if album is None:
            raise _Reply(404, "Resource not found")
        offset, limit = self._window(request, 20, 50)
        ids = album.track_ids[offset : offset + limit]
        return web.json_response(
            self._paging(
                f"{self._href('album', alid)}/tracks",
                [self._track_obj(t, simplified=True) for t in ids],
                offset,
                limit,
                len(album.track_ids),
            )
        )

    async def _search(self, request: web.Request, body: Any, user: str | None) -> web.Response:
        query = request.query.get("q", "")
        if not query:
            raise _Reply(400, "No search query")
        if "track" not in request.query.get("type", "").split(","):
            raise _Reply(400, "Missing parameter type")
        offset, limit = self._window(request, self.search_default_limit, 10)
        filters = {k.lower(): v.lower() for k, v in re.findall(r'(track|artist|album):"([^"]*)"', query)}
        rest = re.sub(r'(track|artist|album):"[^"]*"', " ", query)
        filters.update({k.lower(): v.lower() for k, v in re.findall(r"(track|artist|album):(\S+)", rest)})
        words = [w.lower() for w in re.sub(r"(track|artist|album):\S+", " ", rest).split()]
        hits = []
        for tid, track in self.tracks.items():
            artist_names = " ".join(self.artists[a] for a in track.artist_ids).lower()
            album_name = self.albums[track.album_id].name.lower()
            text = f"{track.name.lower()} {artist_names} {album_name}"
            if "track" in filters and filters["track"] not in track.name.lower():
                continue
            if "artist" in filters and filters["artist"] not in artist_names:
                continue
            if "album" in filters and filters["album"] not in album_name:
                continue
            if all(w in text for w in words):
                hits.append(tid)
        page = hits[offset : offset + limit]
        url = f"{self.base_url}/v1/search"
        paging = self._paging(url, [self._track_obj(t) for t in page], offset, limit, len(hits))
        base = f"{url}?{urlencode({'q': query, 'type': 'track'})}"
        paging["href"] = f"{base}&offset={offset}&limit={limit}"
        if paging["next"]:
            paging["next"] = f"{base}&offset={offset + limit}&limit={limit}"
        return web.json_response({"tracks": paging})

    def _playlist_or_404(self, pid: str) -> _Playlist:
        playlist = self.playlists.get(pid)
        if playlist is None or pid in self.editorial:
            # Spotify-owned editorial/algorithmic playlists are invisible to new apps.
            raise _Reply(404, "Resource not found")
        return playlist

    async def _get_playlist(
        self, request: web.Request, body: Any, user: str | None, pid: str
    ) -> web.Response:
        return web.json_response(self._playlist_obj(self._playlist_or_404(pid), user))

    async def _get_playlist_items(
        self, request: web.Request, body: Any, user: str | None, pid: str, endpoint: str
    ) -> web.Response:
        playlist = self._playlist_or_404(pid)
        if not self._playlist_items_visible(playlist, user):
            raise _Reply(403, "Forbidden")
        offset, limit = self._window(request, 20, 50)
        entries = playlist.entries[offset : offset + limit]
        legacy = endpoint == "tracks"
        return web.json_response(
            self._paging(
                f"{self._href('playlist', pid)}/{endpoint}",
                [self._playlist_entry(e, legacy=legacy) for e in entries],
                offset,
                limit,
                len(playlist.entries),
            )
        )

    async def _get_me(self, request: web.Request, body: Any, user: str | None) -> web.Response:
        if not user:
            raise _Reply(401, "Unauthorized.")
        return web.json_response({**self._user_obj(user), "images": []})

    async def _create_playlist(self, request: web.Request, body: Any, user: str | None) -> web.Response:
        if not user:
            raise _Reply(401, "This request requires user authentication.")
        if not isinstance(body, dict) or not body.get("name"):
            raise _Reply(400, "Missing required field: name")
        pid = make_id(f"created:{body['name']}:{len(self.playlists)}:{secrets.token_hex(4)}")
        playlist = _Playlist(
            pid,
            str(body["name"]),
            user,
            public=bool(body.get("public", True)),
            collaborative=bool(body.get("collaborative", False)),
            description=str(body.get("description") or ""),
        )
        self.playlists[pid] = playlist
        return web.json_response(self._playlist_obj(playlist, user), status=201)

    async def _add_items(
        self, request: web.Request, body: Any, user: str | None, pid: str, endpoint: str
    ) -> web.Response:
        if not user:
            raise _Reply(401, "This request requires user authentication.")
        playlist = self._playlist_or_404(pid)
        if playlist.owner_id != user and not playlist.collaborative:
            raise _Reply(403, "You cannot add items to a playlist you don't own.")
        position: int | None = None
        if isinstance(body, list):
            uris = body
        elif isinstance(body, dict):
            uris = body.get("uris") or []
            position = body.get("position")
        else:
            uris = []
        if "uris" in request.query:
            uris = request.query["uris"].split(",")
        if "position" in request.query:
            position = int(request.query["position"])
        if not uris:
            raise _Reply(400, "No uris provided")
        if len(uris) > 100:
            raise _Reply(400, "Too many ids requested")
        ids = []
        for uri in uris:
            match = re.fullmatch(r"spotify:track:([0-9A-Za-z]{22})", str(uri))
            if not match:
                raise _Reply(400, "Invalid track uri: " + str(uri))
            ids.append(match.group(1))
        at = len(playlist.entries) if position is None else position
        playlist.entries[at:at] = ids
        playlist.snapshot += 1
        return web.json_response({"snapshot_id": f"snap-{playlist.snapshot}"}, status=201)

    async def _forbidden(self, request: web.Request, body: Any, user: str | None, *_: str) -> web.Response:
        raise _Reply(403, "Forbidden")

    async def _not_found(self, request: web.Request, body: Any, user: str | None, *_: str) -> web.Response:
        raise _Reply(404, "Not Found")

    _ID = r"([^/]+)"
    _routes: list[tuple[str, str, Callable[..., Awaitable[web.StreamResponse]]]] = [
        ("GET", r"/v1/tracks", _get_tracks_batch),
        ("GET", rf"/v1/tracks/{_ID}", _get_track),
        ("GET", r"/v1/search", _search),
        ("GET", rf"/v1/artists/{_ID}/related-artists", _not_found),
        ("GET", rf"/v1/artists/{_ID}", _get_artist),
        ("GET", rf"/v1/albums/{_ID}/tracks", _get_album_tracks),
        ("GET", rf"/v1/albums/{_ID}", _get_album),
        ("GET", rf"/v1/playlists/{_ID}/(items|tracks)", _get_playlist_items),
        ("GET", rf"/v1/playlists/{_ID}", _get_playlist),
        ("POST", rf"/v1/playlists/{_ID}/(items|tracks)", _add_items),
        ("GET", r"/v1/me", _get_me),
        ("POST", r"/v1/me/playlists", _create_playlist),
        ("POST", rf"/v1/users/{_ID}/playlists", _forbidden),  # replaced by POST /me/playlists
        ("GET", r"/v1/audio-features(?:/[^/]+)?", _forbidden),
        ("GET", rf"/v1/audio-analysis/{_ID}", _forbidden),
        ("GET", r"/v1/recommendations(?:/available-genre-seeds)?", _not_found),
    ]


def seeded_fake() -> FakeSpotify:
    """A fake with a small, fixed library (not started)."""
    fake = FakeSpotify()
    fake.add_album(
        "A Night at the Opera",
        "Queen",
        ["Death on Two Legs", "You're My Best Friend", "Love of My Life", "Bohemian Rhapsody"],
        "1975-11-21",
    )
    fake.add_album(
        "Rumours", "Fleetwood Mac", ["Second Hand News", "Dreams", "Go Your Own Way"], "1977-02-04"
    )
    fake.add_track(
        "Dreams - 2004 Remaster", "Fleetwood Mac", album="Rumours (Super Deluxe)", release_date="2004"
    )
    return fake
