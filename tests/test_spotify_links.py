"""Parsing of Spotify links, URIs and bare ids: what users paste into Discord."""

from __future__ import annotations

import pytest

from songrec.domain import MalformedSpotifyLink
from songrec.spotify.links import SpotifyRef, is_spotify_like, parse_spotify_ref, parse_spotify_ref_strict

TID = "4uLU6hMCjMI75M1A2tKUQC"
PID = "37i9dQZF1DXcBWIGoYBM5M"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"https://open.spotify.com/track/{TID}", SpotifyRef("track", TID)),
        (f"https://open.spotify.com/track/{TID}?si=1a2b3c4d5e6f7a8b", SpotifyRef("track", TID)),
        (f"https://open.spotify.com/track/{TID}/", SpotifyRef("track", TID)),
        (f"https://open.spotify.com/intl-de/track/{TID}?si=abc&nd=1", SpotifyRef("track", TID)),
        (f"https://open.spotify.com/intl-pt-BR/album/{TID}", SpotifyRef("album", TID)),
        (f"open.spotify.com/playlist/{PID}", SpotifyRef("playlist", PID)),
        (f"http://open.spotify.com/artist/{TID}#x", SpotifyRef("artist", TID)),
        (f"https://open.spotify.com/embed/track/{TID}", SpotifyRef("track", TID)),
        (f"https://open.spotify.com/user/someone/playlist/{PID}", SpotifyRef("playlist", PID)),
        (f"<https://open.spotify.com/track/{TID}>", SpotifyRef("track", TID)),
        (f"  spotify:track:{TID}  ", SpotifyRef("track", TID)),
        (f"spotify:album:{TID}", SpotifyRef("album", TID)),
        (f"spotify:user:someone:playlist:{PID}", SpotifyRef("playlist", PID)),
        (TID, SpotifyRef("track", TID)),
        (f"listen to this https://open.spotify.com/track/{TID}?si=x, it's great", SpotifyRef("track", TID)),
    ],
)
def test_parses_urls_uris_and_ids(text: str, expected: SpotifyRef) -> None:
    assert parse_spotify_ref(text) == expected
    assert is_spotify_like(text)


def test_ref_round_trips_to_url_and_uri() -> None:
    ref = parse_spotify_ref(f"https://open.spotify.com/intl-fr/track/{TID}?si=zz")
    assert ref is not None
    assert ref.url == f"https://open.spotify.com/track/{TID}"
    assert ref.uri == f"spotify:track:{TID}"
    assert parse_spotify_ref(ref.uri) == ref


def test_bare_id_takes_default_kind() -> None:
    assert parse_spotify_ref(PID, default_kind="playlist") == SpotifyRef("playlist", PID)


@pytest.mark.parametrize(
    "text",
    [
        "Bohemian Rhapsody",
        "queen - don't stop me now",
        "",
        "   ",
        "supercalifragilisticex",  # 22 letters, a word not an id
        "Spotify: best songs of 2020",
    ],
)
def test_song_names_are_not_refs(text: str) -> None:
    assert parse_spotify_ref(text) is None
    assert not is_spotify_like(text)


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("https://open.spotify.com/track/123", "22-character"),
        (f"https://open.spotify.com/track/{TID}x", "22-character"),
        ("https://open.spotify.com/", "no track"),
        ("https://open.spotify.com/track/", "no track"),
        (f"https://open.spotify.com/episode/{TID}", "episode"),
        (f"https://open.spotify.com/widget/{TID}", "widget"),
        ("spotify:track:", "URI"),
        ("spotify:track:abc", "22-character"),
        ("https://spotify.link/AbCdEf", "short"),
        (f"https://www.spotify.com/track/{TID}", "open.spotify.com"),
    ],
)
def test_malformed_links_raise_friendly_error(text: str, hint: str) -> None:
    assert is_spotify_like(text)
    with pytest.raises(MalformedSpotifyLink) as info:
        parse_spotify_ref(text)
    message = str(info.value)
    assert message.startswith("That Spotify link looks malformed")
    assert hint in message
    assert info.value.text == text


def test_strict_rejects_plain_text() -> None:
    with pytest.raises(MalformedSpotifyLink):
        parse_spotify_ref_strict("Bohemian Rhapsody")
    assert parse_spotify_ref_strict(TID).id == TID


def test_malformed_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        parse_spotify_ref("https://open.spotify.com/track/123")
