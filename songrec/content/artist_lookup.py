"""An artist as a seed: who someone named, and which of their songs stand for them.

"Songs like Daft Punk" starts from the artist's most representative tracks (popular, and central among
their songs in the embedding) and never suggests the artist back. A bare text is read as an artist only
when it is an artist's whole name and not a better-known title ("Nirvana" is the band, not a song of that
name by someone else; "Hello" stays Adele's song).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from rapidfuzz import fuzz, process

from songrec.content.artist_match import ARTIST_MATCH, FILLER
from songrec.content.packed import StringColumn
from songrec.content.songkey import normalise

if TYPE_CHECKING:
    from songrec.content.engine import Engine
    from songrec.content.lookup import TitleIndex

#: Popularity points by which an artist's best song must lead the best song titled like them to be
#: read as the artist (the same yardstick as lookup.DOMINANT_MARGIN).
ARTIST_OVER_TITLE = 15.0
#: Text that says "title and artist" is never one artist's name.
_SEPARATORS = (" - ", " by ", " — ", " – ")
#: token_sort_ratio (0-100) of a credited name close enough to offer as "did you mean".
CLOSE_ARTIST = 70
#: How much each counts when choosing an artist's anchors (both scaled 0..1 among their songs).
POPULARITY_SHARE, CENTRAL_SHARE = 0.7, 0.3


@dataclass(frozen=True)
class ArtistMatch:
    """An artist in the catalogue: the name as credited, and every row crediting them, popular first."""

    name: str
    rows: tuple[int, ...]


def find_artist(index: TitleIndex, typed: str, *, fuzzy: bool = True) -> ArtistMatch | None:
    """The artist `typed` names: a credited name word for word (case, accents and a leading "the"
    aside), else, with `fuzzy`, the closest credit (typos, "Beethoven" for Ludwig van Beethoven)."""
    wanted = _bare(normalise(typed))
    if not wanted:
        return None
    found = _credited(index, wanted)
    if found is None and fuzzy:
        close = _closest_credit(index, wanted)
        found = _credited(index, _bare(close)) if close else None
    return found


def reads_as_artist(index: TitleIndex, text: str) -> ArtistMatch | None:
    """The artist a bare seed text names, when it is one's whole name and not a better-known title."""
    if any(sep in text for sep in _SEPARATORS):
        return None
    artist = find_artist(index, text, fuzzy=False)
    if artist is None:
        return None
    query = normalise(text)
    titled = [
        r for r in index.prefix_search(text, limit=500) if query in (index.titles[r], index.base_titles[r])
    ]
    if not titled:
        return artist
    best_title = max(float(index.popularity[r]) for r in titled)
    best_song = max(float(index.popularity[r]) for r in artist.rows)
    return artist if best_song >= best_title + ARTIST_OVER_TITLE else None


def closest_artists(index: TitleIndex, typed: str, limit: int = 3) -> list[str]:
    """Credited names nearest to `typed`, as written, for "did you mean" (at most `limit`)."""
    query = normalise(typed)
    if not query:
        return []
    hits = process.extract(
        query, _texts(index.artists), scorer=fuzz.token_sort_ratio, limit=30, score_cutoff=CLOSE_ARTIST
    )
    names: list[str] = []
    for _, _, row in hits:
        for name in index.tracks[int(row)].artists:
            if name not in names and fuzz.token_sort_ratio(query, normalise(name)) >= CLOSE_ARTIST:
                names.append(name)
    return names[:limit]


def representative_rows(engine: Engine, rows: Sequence[int], n: int) -> list[int]:
    """At most n of an artist's songs that stand for them: popular, and near the middle of their songs
    in the embedding (a famous song in the style they are known for), one row per song."""
    keys = engine.key_list
    best: dict[str, int] = {}
    for row in sorted(rows, key=lambda r: (-float(engine.popularity[r]), r)):
        best.setdefault(keys[row], int(row))
    songs = np.asarray(list(best.values()), dtype=np.int64)
    if len(songs) <= n:
        return songs.tolist()
    vectors = engine.embeddings[songs].astype(np.float64)
    spread = ((vectors - vectors.mean(axis=0)) ** 2).sum(axis=1)
    central = 1.0 - _unit(spread)
    score = POPULARITY_SHARE * _unit(engine.popularity[songs]) + CENTRAL_SHARE * central
    order = np.lexsort((songs, -score))
    return songs[order[:n]].tolist()


def _unit(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    span = float(values.max() - values.min()) if len(values) else 0.0
    return (values - values.min()) / span if span > 0 else np.zeros(len(values))


def _bare(name: str) -> str:
    """A normalised name without a leading "the": "the beatles" and "beatles" are one act."""
    return name.removeprefix("the ") if name.startswith("the ") and len(name) > 4 else name


def _core(name: str) -> frozenset[str]:
    """The words that tell one act from another: "dave brubeck" for "The Dave Brubeck Quartet"."""
    return frozenset(name.split()) - FILLER


def _same_name(wanted: str, credit: str) -> bool:
    core = _core(wanted)
    return _core(credit) == core if core else _bare(credit) == wanted


def _credited(index: TitleIndex, wanted: str) -> ArtistMatch | None:
    """Rows crediting an act named `wanted` (bare, normalised), found through the word index: the same
    words but for fillers ("the", "quartet"), so "Dave Brubeck" is also The Dave Brubeck Quartet."""
    rows: np.ndarray | None = None
    for word in sorted(_core(wanted) or wanted.split()):
        hits = index.postings.get(word)
        if hits is None:
            return None
        rows = hits if rows is None else np.intersect1d(rows, hits, assume_unique=True)
    if rows is None or len(rows) == 0:
        return None
    by_name: dict[str, list[int]] = defaultdict(list)
    for row in rows.tolist():
        for name in index.tracks[row].artists:
            if _same_name(wanted, normalise(name)):
                by_name[name].append(row)
                break
    if not by_name:
        return None
    # The credit typed names the act; else the best-known of its spellings ("TOTO", "Toto").
    every = sorted({r for found in by_name.values() for r in found}, key=lambda r: (-index.popularity[r], r))
    name = max(
        by_name,
        key=lambda n: (_bare(normalise(n)) == wanted, sum(index.popularity[r] for r in by_name[n]), n),
    )
    return ArtistMatch(name=name, rows=tuple(every))


def _closest_credit(index: TitleIndex, wanted: str) -> str | None:
    """The normalised credited name closest to `wanted`: the same name with a typo, or one holding every
    word typed ("beethoven" in "ludwig van beethoven"), never one that holds only some of them."""
    hits = process.extract(
        wanted, _texts(index.artists), scorer=fuzz.token_set_ratio, limit=20, score_cutoff=ARTIST_MATCH
    )
    typed = set(wanted.split())
    best: tuple[float, float, str] | None = None
    for _, _, row in hits:
        for name in index.tracks[int(row)].artists:
            normal = normalise(name)
            score = max(fuzz.token_sort_ratio(wanted, normal), 100.0 if typed <= set(normal.split()) else 0.0)
            if score >= ARTIST_MATCH:
                candidate = (score, float(index.popularity[int(row)]), normal)
                best = candidate if best is None or candidate[:2] > best[:2] else best
    return best[2] if best else None


def _texts(values: Sequence[str]) -> Sequence[str]:
    return values.to_list() if isinstance(values, StringColumn) else values
