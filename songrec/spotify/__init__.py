"""Spotify, in one package: link parsing, the Web API client, the operator's login and link resolution.

One job per module:

* ``links``: what a user typed is a Spotify link, URI or id (pure parsing, no network; `is_spotify_id`).
* ``auth``: `SpotifyConfig`, the 0600 token file and spotipy's auth managers.
* ``tracks``: `SpotifyTrack` / `SpotifyCollection`, what Spotify answers, and the metadata-cache protocol.
* ``client``: `SpotifyClient`, requests with timeouts and retries, Spotify's refusals as songrec's errors.
* ``resolve``: a link or a song name as catalogue tracks (`resolve_track_ref`).
* ``login``: `songrec spotify-login` (`spotify_login`, `spotify_login_main`).

The errors live in songrec.domain (the SpotifyError tree). Names are exported lazily, so code that only
parses links (catalogue look-ups on every keystroke) never imports spotipy.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from songrec.spotify.auth import SpotifyConfig
    from songrec.spotify.client import SpotifyClient
    from songrec.spotify.links import (
        SpotifyRef,
        is_spotify_id,
        is_spotify_like,
        parse_spotify_ref,
        parse_spotify_ref_strict,
    )
    from songrec.spotify.login import parse_redirect, spotify_login, spotify_login_main
    from songrec.spotify.resolve import Resolution, resolve_track_ref
    from songrec.spotify.tracks import SpotifyCollection, SpotifyTrack, TrackCache

_EXPORTS: dict[str, str] = {
    "SpotifyRef": "links",
    "is_spotify_id": "links",
    "is_spotify_like": "links",
    "parse_spotify_ref": "links",
    "parse_spotify_ref_strict": "links",
    "SpotifyConfig": "auth",
    "SpotifyTrack": "tracks",
    "SpotifyCollection": "tracks",
    "TrackCache": "tracks",
    "SpotifyClient": "client",
    "Resolution": "resolve",
    "resolve_track_ref": "resolve",
    "parse_redirect": "login",
    "spotify_login": "login",
    "spotify_login_main": "login",
}

__all__ = [
    "Resolution",
    "SpotifyClient",
    "SpotifyCollection",
    "SpotifyConfig",
    "SpotifyRef",
    "SpotifyTrack",
    "TrackCache",
    "is_spotify_id",
    "is_spotify_like",
    "parse_redirect",
    "parse_spotify_ref",
    "parse_spotify_ref_strict",
    "resolve_track_ref",
    "spotify_login",
    "spotify_login_main",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'songrec.spotify' has no attribute {name!r}")
    value = getattr(import_module(f"songrec.spotify.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
