"""`songrec recommend` and `songrec search`: finding the song (or the artist) someone means, in a terminal.

The seed rules are the service's (songrec.service.seeds): a title, "title - artist", a link or an id is a
song; `--artist` alone, or a text that is an artist's name and not a better-known title ("Nirvana"), is
the artist, recommended from through their most representative songs, none of theirs suggested back.
Years print as the catalogue knows them: "1965", or "1960s" where a source gives only the decade.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from songrec.content.artist_lookup import reads_as_artist, representative_rows
from songrec.domain import Filters, InvalidInput, MalformedSpotifyLink, TrackInfo, TrackNotFound
from songrec.service.reasons import seed_reason
from songrec.service.seeds import artist_seed, artist_text
from songrec.spotify.links import parse_spotify_ref

if TYPE_CHECKING:
    from songrec.content.engine import Engine

#: Anchors an artist seed recommends from (the service's max_seeds default).
ARTIST_ANCHORS = 5
MAX_SEARCH = 100
NO_SEED = 'Name a song (a title, "title - artist" or a link), or an artist with --artist.'


@dataclass(frozen=True)
class CliSeed:
    """What the command recommends from: the anchors, every row not to suggest back, and its name."""

    anchors: list[int]
    exclude: set[int]
    song: TrackInfo | None  # the song named (None for an artist)
    artist: str | None  # the artist named, as credited


def track_line(rank: int | None, track: TrackInfo) -> str:
    year = f" ({track.year_label})" if track.year_label else ""
    head = f"{rank:>2}. " if rank is not None else ""
    return f"{head}{track.name} — {track.artist_line}{year}  {track.listen_at}"


def track_dict(track: TrackInfo) -> dict[str, object]:
    """A track for --json: `year` only where a source states it; `decade` wherever it is known."""
    return {
        "track_id": track.track_id,
        "name": track.name,
        "artists": list(track.artists),
        "year": track.year if track.year_exact else None,
        "decade": f"{track.decade}s" if track.decade is not None else None,
        "url": track.spotify_url or None,
    }


def resolve_seed(
    engine: Engine,
    song: str | None,
    artist: str | None,
    song_rows: Callable[[Engine, str, str | None], list[int]],
) -> CliSeed:
    """The seed for `recommend [SONG] [--artist NAME]`; `song_rows` resolves a song argument (links
    the catalogue lacks go to Spotify there)."""
    if song is None:
        if artist is None:
            raise InvalidInput(NO_SEED)
        found = artist_seed(engine, artist_text(artist), ARTIST_ANCHORS)
        return CliSeed(list(found.anchors or ()), set(found.rows), None, found.artist)
    if artist is None and not _looks_like_link(song):
        named = reads_as_artist(engine.titles, song.strip())
        if named is not None:
            anchors = representative_rows(engine, named.rows, ARTIST_ANCHORS)
            return CliSeed(anchors, set(named.rows), None, named.name)
    rows = song_rows(engine, song, artist)
    return CliSeed(rows[:5], set(rows), engine.info(rows[0]), None)


def recommend(engine: Engine, seed: CliSeed, k: int, filters: Filters, as_json: bool) -> list[str]:
    """The lines `songrec recommend` prints for this seed."""
    picks = engine.similar(
        seed.anchors, k, filters, exclude_rows=seed.exclude, max_per_artist=engine.MAX_PER_ARTIST
    )
    if as_json:
        rows = [
            {"rank": i, **track_dict(engine.info(c.row)), "reason": seed_reason(engine, c.anchor, c.row)}
            for i, c in enumerate(picks, 1)
        ]
        head: dict[str, object] = {"seed": track_dict(seed.song)} if seed.song else {"artist": seed.artist}
        return [json.dumps({**head, "suggestions": rows}, ensure_ascii=False, indent=2)]
    if seed.song is not None:
        lines = [f"Songs like {track_line(None, seed.song)}"]
    else:
        lines = [f"Songs like {seed.artist} (from their songs, none of theirs):"]
    if not picks:
        lines.append("  nothing passes those filters; loosen --max-popularity / --min-popularity.")
    for i, cand in enumerate(picks, 1):
        lines.append(track_line(i, engine.info(cand.row)))
        lines.append(f"    {seed_reason(engine, cand.anchor, cand.row)}")
    return lines


def search(engine: Engine, text: str, limit: int, as_json: bool) -> list[str]:
    """The lines `songrec search TEXT` prints: the catalogue's songs by relevance, one per song."""
    if not text.strip():
        raise InvalidInput("Tell me what to look for: part of a title or an artist's name.")
    if not 1 <= limit <= MAX_SEARCH:
        raise InvalidInput(f"-k must be between 1 and {MAX_SEARCH}.")
    tracks = [engine.info(r) for r in engine.titles.search(text, limit)]
    if as_json:
        return [json.dumps([track_dict(t) for t in tracks], ensure_ascii=False, indent=2)]
    if not tracks:
        raise TrackNotFound(text)
    return [track_line(i, t) for i, t in enumerate(tracks, 1)]


def _looks_like_link(text: str) -> bool:
    try:
        return parse_spotify_ref(text) is not None
    except MalformedSpotifyLink:
        return True
