"""What Spotify answers, as songrec's records: tracks, albums/playlists, and the metadata-cache protocol."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, Protocol


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
