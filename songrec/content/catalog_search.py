"""Ranking catalogue tracks for what someone typed: `songrec search`, Discord /search and autocomplete.

Relevance first (the whole title or an artist's whole name typed, then the start of either, then every
word somewhere), popularity within a level, one entry per song (songkey.title_key: a remaster or a
re-release is the same song, the most popular release stands for it), and no tail of unrelated fuzzy
matches: spelling fixes are offered when nothing matches as typed, or when they are nearly the text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rapidfuzz import fuzz, process

from songrec.content.packed import StringColumn
from songrec.content.songkey import normalise, title_key

if TYPE_CHECKING:
    from songrec.content.lookup import TitleIndex

#: Rows the word-prefix search hands over for ranking (it is sorted title-prefix first, popular first).
POOL = 300
#: Relevance levels, best first.
EXACT, STARTS, IN_TITLE, ANYWHERE = 3.0, 2.0, 1.5, 1.0
#: A fuzzy match (0-100) is offered beside exact word matches only this close; alone, from FUZZY_ALONE,
#: and never more than FUZZY_SPREAD points below the best one (the rest is noise, not a near miss).
FUZZY_BESIDE, FUZZY_ALONE, FUZZY_SPREAD = 92.0, 75.0, 8.0


def search_rows(index: TitleIndex, text: str, limit: int) -> list[int]:
    """The rows that best match `text`, most relevant first, one per song, at most `limit`."""
    query = normalise(text)
    if not query or limit <= 0:
        return []
    levels = {row: _level(index, row, query) for row in index.prefix_search(text, limit=POOL)}
    if len(levels) < limit and len(query) >= 3:
        cutoff = FUZZY_BESIDE if levels else FUZZY_ALONE
        hits = _fuzzy(query, index.base_titles, limit, cutoff) + _fuzzy(query, index.combined, limit, cutoff)
        best = max((score for _, score in hits), default=0.0)
        for row, score in sorted(hits, key=lambda h: -h[1]):
            if score >= best - FUZZY_SPREAD:
                levels.setdefault(row, score / 100.0)  # below every word match's level
    popularity, titles, bases = index.popularity, index.titles, index.base_titles
    order = sorted(levels, key=lambda r: (-levels[r], -popularity[r], titles[r] != bases[r], r))
    return one_per_song(index, order)[:limit]


def one_per_song(index: TitleIndex, rows: list[int]) -> list[int]:
    """The first row of each song (same title_key) in `rows`, in order."""
    seen: set[str] = set()
    out = []
    for row in rows:
        track = index.tracks[row]
        key = title_key(track.name, track.artists)
        if key not in seen:
            seen.add(key)
            out.append(row)
    return out


def _level(index: TitleIndex, row: int, query: str) -> float:
    title, base = index.titles[row], index.base_titles[row]
    names = [normalise(a) for a in index.tracks[row].artists]
    if query in (title, base) or query in names:
        return EXACT
    if title.startswith(query) or any(n.startswith(query) for n in names):
        return STARTS
    words = set(title.split())
    if all(w in words for w in query.split()):
        return IN_TITLE
    return ANYWHERE


def _fuzzy(query: str, texts: Sequence[str], limit: int, cutoff: float) -> list[tuple[int, float]]:
    """Plain edit-distance matches (typos), not partial ones: "song" is not inside "redemption song"."""
    hits = process.extract(
        query,
        _texts(texts),
        scorer=fuzz.QRatio,
        limit=max(limit * 2, 20),
        score_cutoff=cutoff,
        processor=None,
    )
    return [(int(row), float(score)) for _, score, row in hits]


def _texts(values: Sequence[str]) -> Sequence[str]:
    """A list rapidfuzz scans fast (a packed column decodes once and keeps it)."""
    return values.to_list() if isinstance(values, StringColumn) else values
