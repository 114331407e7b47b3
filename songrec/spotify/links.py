"""Recognise Spotify links, URIs and bare ids in what a user typed; pure parsing, no network.

Callers use `parse_spotify_ref` first: a `SpotifyRef` means "look this up on Spotify", `None` means
"this is a song name, search the catalogue", and `MalformedSpotifyLink` means "the user clearly meant a
Spotify link but it is broken", so the bot can say so instead of searching for the junk text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from songrec.domain import MalformedSpotifyLink

Kind = Literal["track", "album", "playlist", "artist"]
KINDS: tuple[Kind, ...] = ("track", "album", "playlist", "artist")
# Things Spotify links to that a music-suggestion bot does not handle.
_UNSUPPORTED_KINDS = ("episode", "show", "audiobook", "chapter", "user", "genre", "collection", "concert")

_ID_RE = re.compile(r"[0-9A-Za-z]{22}")
_WEB_HOSTS = ("open.spotify.com", "play.spotify.com")
_SHORT_HOSTS = ("spotify.link", "spoti.fi", "spotify.app.link")
# Anything that mentions Spotify closely enough that treating it as a song name would be wrong.
_SPOTIFY_LIKE_RE = re.compile(
    r"(?:https?://)?(?:[\w-]+\.)*(?:spotify\.com|spotify\.link|spoti\.fi|spotify\.app\.link)\b|\bspotify:[a-z]",
    re.IGNORECASE,
)
_URL_IN_TEXT_RE = re.compile(
    r"(?:https?://)?(?:[\w-]+\.)*(?:spotify\.com|spotify\.link|spoti\.fi|spotify\.app\.link)(?:/[^\s<>]*)?"
    r"|spotify:[^\s<>]+",
    re.IGNORECASE,
)
_EXAMPLE = "https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC"


@dataclass(frozen=True)
class SpotifyRef:
    """A parsed reference: the kind of object and its bare 22-character base62 id."""

    kind: Kind
    id: str

    @property
    def uri(self) -> str:
        return f"spotify:{self.kind}:{self.id}"

    @property
    def url(self) -> str:
        return f"https://open.spotify.com/{self.kind}/{self.id}"


def is_spotify_id(text: object) -> bool:
    """True for a 22-character base62 string, the shape of every Spotify id: songrec's one id check."""
    return isinstance(text, str) and _ID_RE.fullmatch(text) is not None


def _looks_like_bare_id(text: str) -> bool:
    """A bare id, not a 22-letter word: real ids are random base62, so they almost always mix digits/case."""
    if not is_spotify_id(text):
        return False
    # Base62 (ASCII letters and digits) only, so these string methods answer in C what any() over
    # the characters did: a digit somewhere, an upper case letter after the first, a lower case one.
    has_digit = not text.isalpha()
    has_upper_inside = text[1:] != text[1:].lower()
    has_lower = text != text.upper()
    return has_digit or (has_upper_inside and has_lower)


def is_spotify_like(text: str) -> bool:
    """True when the text mentions a Spotify URL or URI (well formed or not), as opposed to a song name."""
    cleaned = _clean(text)
    return bool(_SPOTIFY_LIKE_RE.search(cleaned)) or _looks_like_bare_id(cleaned)


def _clean(text: str) -> str:
    # Discord users wrap links in <...> to suppress embeds; strip that and surrounding whitespace.
    return text.strip().strip("<>").strip()


def parse_spotify_ref(text: str, default_kind: Kind = "track") -> SpotifyRef | None:
    """Parse a Spotify URL, URI or bare id.

    Returns None when the text is not Spotify-like (treat it as a song name), a SpotifyRef when it is a
    usable link, and raises MalformedSpotifyLink when it is Spotify-like but broken. A bare id has no kind
    of its own, so it gets `default_kind`.
    """
    cleaned = _clean(text)
    if not cleaned:
        return None
    if _looks_like_bare_id(cleaned):
        return SpotifyRef(default_kind, cleaned)
    if not _SPOTIFY_LIKE_RE.search(cleaned):
        return None
    match = _URL_IN_TEXT_RE.search(cleaned)
    candidate = match.group(0).rstrip(".,;:!?)]}'\"") if match else cleaned
    if candidate.lower().startswith("spotify:"):
        return _parse_uri(candidate, text)
    return _parse_url(candidate, text)


def parse_spotify_ref_strict(text: str, default_kind: Kind = "track") -> SpotifyRef:
    """Like parse_spotify_ref, but plain text is an error too (for options that only take links)."""
    ref = parse_spotify_ref(text, default_kind)
    if ref is None:
        raise MalformedSpotifyLink(text, "this is not a Spotify link, URI or id")
    return ref


def _parse_uri(uri: str, original: str) -> SpotifyRef:
    # spotify:track:ID, and the legacy spotify:user:NAME:playlist:ID form.
    parts = [p for p in uri.split(":")[1:] if p]
    if len(parts) >= 4 and parts[0].lower() == "user" and parts[2].lower() == "playlist":
        parts = parts[2:4]
    if len(parts) != 2:
        raise MalformedSpotifyLink(original, "a Spotify URI looks like spotify:track:<22-character id>")
    return _make_ref(parts[0], parts[1], original)


def _parse_url(url: str, original: str) -> SpotifyRef:
    if not re.match(r"^[a-z][a-z0-9+.-]*://", url, re.IGNORECASE):
        url = "https://" + url
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host in _SHORT_HOSTS:
        raise MalformedSpotifyLink(
            original, "short spotify.link links can't be opened here; open it and copy the full link"
        )
    if host not in _WEB_HOSTS:
        raise MalformedSpotifyLink(original, f"{host or 'this'} is not an open.spotify.com link")
    segments = [s for s in parts.path.split("/") if s]
    # Drop locale segments (intl-de, intl-pt-BR) and the embed prefix.
    segments = [s for s in segments if not s.lower().startswith("intl-") and s.lower() != "embed"]
    # Legacy /user/NAME/playlist/ID.
    if len(segments) >= 4 and segments[0].lower() == "user" and segments[2].lower() == "playlist":
        segments = segments[2:]
    if len(segments) < 2:
        raise MalformedSpotifyLink(original, "the link has no track, album, playlist or artist id")
    return _make_ref(segments[0], segments[1], original)


def _make_ref(kind: str, ident: str, original: str) -> SpotifyRef:
    kind_l = kind.lower()
    if kind_l in _UNSUPPORTED_KINDS:
        raise MalformedSpotifyLink(
            original, f"{kind_l} links aren't music tracks; use a track, album or playlist"
        )
    if kind_l not in KINDS:
        raise MalformedSpotifyLink(original, f"'{kind}' is not a track, album, playlist or artist")
    if not is_spotify_id(ident):
        raise MalformedSpotifyLink(original, f"'{ident}' is not a 22-character Spotify id")
    return SpotifyRef(kind_l, ident)  # type: ignore[arg-type]
