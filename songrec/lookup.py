"""Finding catalogue tracks from what people type: ids, links, titles with or without the artist.

Autocomplete runs on every keystroke, so it answers from a word-prefix index (a set
intersection per query word) and only falls back to a fuzzy scan when that finds too little.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

from songrec.spotify_links import MalformedSpotifyLink, is_spotify_like, parse_spotify_ref

MAX_QUERY_CHARS = 300
#: Popularity points by which one artist's version must lead to be picked without asking.
DOMINANT_MARGIN = 15.0
TRACK_ID = re.compile(r"^[0-9A-Za-z]{22}$")
_DECORATION = re.compile(
    r"\s*[\(\[][^)\]]*(feat\.?|ft\.|with|remaster|version|edit|mix|live|mono|stereo)[^)\]]*[\)\]]"
    r"|\s+-\s+.*(remaster|version|edit|live|mono|stereo|mix).*$",
    re.IGNORECASE,
)
_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)


def normalise(text: str) -> str:
    """Case-, accent- and punctuation-insensitive form used for matching."""
    text = unicodedata.normalize("NFKD", str(text))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(_NON_WORD.sub(" ", text.casefold()).split())


def title_key(name: str, artists: object) -> str:
    """Two rows with the same key are the same song for listeners (remasters, re-releases)."""
    first = artists[0] if isinstance(artists, list | tuple | np.ndarray) and len(artists) else str(artists)
    return f"{normalise(_DECORATION.sub('', str(name)))}|{normalise(str(first))}"


class LookupError_(Exception):
    """Base for lookup failures; carries catalogue rows for the caller to present."""


class InvalidQuery(LookupError_):
    pass


class NotInCatalogue(LookupError_):
    def __init__(self, message: str, closest: list[int], spotify_id: str | None = None) -> None:
        super().__init__(message)
        self.closest = closest
        self.spotify_id = spotify_id


class Ambiguous(LookupError_):
    def __init__(self, message: str, rows: list[int]) -> None:
        super().__init__(message)
        self.rows = rows


@dataclass
class TitleIndex:
    """Word-prefix and fuzzy search over "title artist" strings of the catalogue."""

    titles: list[str]
    base_titles: list[str]  # without "(feat. ...)", "- 2011 Remaster" and the like
    artists: list[str]
    combined: list[str]
    popularity: np.ndarray
    row_of_id: dict[str, int]
    vocabulary: list[str]
    postings: dict[str, np.ndarray]

    @classmethod
    def build(cls, catalog: pd.DataFrame) -> TitleIndex:
        titles = [normalise(n) for n in catalog["name"].fillna("")]
        artists = [normalise(" ".join(a) if not isinstance(a, str) else a) for a in catalog["artists"]]
        combined = [f"{t} {a}".strip() for t, a in zip(titles, artists, strict=True)]
        postings: dict[str, list[int]] = defaultdict(list)
        for row, text in enumerate(combined):
            for word in set(text.split()):
                postings[word].append(row)
        base_titles = [normalise(_DECORATION.sub("", str(n))) for n in catalog["name"].fillna("")]
        return cls(
            titles=titles,
            base_titles=base_titles,
            artists=artists,
            combined=combined,
            popularity=catalog["popularity"].fillna(0).to_numpy(dtype=np.float64),
            row_of_id={tid: i for i, tid in enumerate(catalog["track_id"])},
            vocabulary=sorted(postings),
            postings={w: np.asarray(rows, dtype=np.int64) for w, rows in postings.items()},
        )

    def _rows_with_prefix(self, prefix: str) -> np.ndarray:
        start = bisect.bisect_left(self.vocabulary, prefix)
        parts = []
        for word in self.vocabulary[start : start + 2000]:
            if not word.startswith(prefix):
                break
            parts.append(self.postings[word])
        return np.unique(np.concatenate(parts)) if parts else np.empty(0, np.int64)

    def prefix_search(self, text: str, limit: int = 25) -> list[int]:
        """Rows whose words start with every query word (the last may be half-typed), popular first."""
        words = normalise(text).split()
        if not words:
            return []
        rows: np.ndarray | None = None
        for word in sorted(words[:-1], key=lambda w: len(self.postings.get(w, ()))):
            exact = self.postings.get(word)
            hits = exact if exact is not None else self._rows_with_prefix(word)
            rows = hits if rows is None else np.intersect1d(rows, hits, assume_unique=True)
            if len(rows) == 0:
                return []
        last = self._rows_with_prefix(words[-1])
        rows = last if rows is None else np.intersect1d(rows, last, assume_unique=True)
        if len(rows) == 0:
            return []
        query = normalise(text)
        starts = np.fromiter((self.titles[r].startswith(query) for r in rows), bool, len(rows))
        order = np.lexsort((-self.popularity[rows], ~starts))
        return rows[order][:limit].tolist()

    def fuzzy(self, text: str, limit: int = 10, cutoff: float = 60.0) -> list[tuple[int, float]]:
        hits = process.extract(
            normalise(text),
            self.combined,
            scorer=fuzz.WRatio,
            limit=limit,
            score_cutoff=cutoff,
            processor=None,
        )
        return [(row, score) for _, score, row in hits]

    def autocomplete(self, text: str, limit: int = 25) -> list[int]:
        text = text[:MAX_QUERY_CHARS]
        rows = self.prefix_search(text, limit)
        if len(rows) < limit and len(normalise(text)) >= 3:
            quick = process.extract(
                normalise(text),
                self.combined,
                scorer=fuzz.QRatio,
                limit=limit,
                score_cutoff=55,
                processor=None,
            )
            rows += [r for _, _, r in quick if r not in rows][: limit - len(rows)]
        return rows

    # Resolution -------------------------------------------------------------------------------

    def resolve(self, query: str, artist: str | None = None) -> int:
        """One catalogue row for a query, or a LookupError_ that says what to do next."""
        query = (query or "").strip()
        if not query:
            raise InvalidQuery(
                "Tell me a song: a title (optionally with the artist), a Spotify link or a track id."
            )
        if len(query) > MAX_QUERY_CHARS:
            raise InvalidQuery(
                f"That is too long for a song title ({len(query):,} characters; {MAX_QUERY_CHARS} at most)."
            )
        if is_spotify_like(query):
            return self._resolve_spotify(query)
        if TRACK_ID.match(query) and query in self.row_of_id:
            return self.row_of_id[query]
        if artist is None:
            for sep in (" - ", " by ", " — ", " – "):
                if sep in query:
                    title, _, who = query.rpartition(sep)
                    try:
                        return self._resolve_text(title.strip(), who.strip())
                    except LookupError_:
                        break
        return self._resolve_text(query, artist)

    def _resolve_spotify(self, query: str) -> int:
        try:
            ref = parse_spotify_ref(query)
        except MalformedSpotifyLink as exc:
            raise InvalidQuery(str(exc)) from exc
        if ref is None:
            raise InvalidQuery("That Spotify link looks malformed: copy it again with Share > Copy link.")
        if ref.kind != "track":
            raise InvalidQuery(
                f"That is a Spotify {ref.kind} link; give me a track link (or import the {ref.kind})."
            )
        if ref.id in self.row_of_id:
            return self.row_of_id[ref.id]
        raise NotInCatalogue("That Spotify track is not in the catalogue yet.", [], spotify_id=ref.id)

    def _resolve_text(self, title: str, artist: str | None) -> int:
        ntitle = normalise(title)
        nartist = normalise(artist) if artist else ""
        if not ntitle:
            raise InvalidQuery("That song title has no letters or digits I can search for.")
        nbase = normalise(_DECORATION.sub("", title)) or ntitle
        exact = [
            r for r in self.prefix_search(title, limit=500) if ntitle in (self.titles[r], self.base_titles[r])
        ]
        exact = exact or [r for r in self.prefix_search(nbase, limit=500) if self.base_titles[r] == nbase]
        if nartist:
            exact = [r for r in exact if fuzz.token_set_ratio(nartist, self.artists[r]) >= 85]
        if exact:
            return self._pick(exact, title)
        scored = self._scored(ntitle, nartist)
        if not scored:
            raise NotInCatalogue(f"“{title}” is not in the catalogue.", [])
        best_row, best = scored[0]
        runner_up = next((s for r, s in scored[1:] if self._key(r) != self._key(best_row)), 0.0)
        if best >= 90 and best - runner_up >= 4:
            return self._pick([r for r, s in scored if s >= best - 0.01], title)
        if best >= 80:
            raise Ambiguous(f"Several songs match “{title}”.", self._distinct([r for r, _ in scored])[:8])
        raise NotInCatalogue(
            f"“{title}” is not in the catalogue.", self._distinct([r for r, _ in scored])[:5]
        )

    def _scored(self, ntitle: str, nartist: str) -> list[tuple[int, float]]:
        # Plain edit distance first (typos). WRatio's partial matching only when that finds
        # nothing close, and discounted: it rates a short title inside a long one highly.
        hits = process.extract(
            ntitle, self.base_titles, scorer=fuzz.QRatio, limit=40, score_cutoff=70, processor=None
        )
        if not hits or hits[0][1] < 85:
            partial = process.extract(
                ntitle, self.base_titles, scorer=fuzz.WRatio, limit=20, score_cutoff=60, processor=None
            )
            hits += [(t, 0.85 * s, r) for t, s, r in partial]
        best: dict[int, float] = {}
        for _, title_score, row in hits:
            score = title_score
            if nartist:
                score = 0.6 * title_score + 0.4 * fuzz.token_set_ratio(nartist, self.artists[row])
            score += self.popularity[row] / 1000.0  # a tie-breaker, never more than 0.1
            best[row] = max(score, best.get(row, 0.0))
        return sorted(best.items(), key=lambda rs: -rs[1])

    def _key(self, row: int) -> tuple[str, str]:
        return (self.base_titles[row], self.artists[row])

    def _distinct(self, rows: list[int]) -> list[int]:
        seen: set[tuple[str, str]] = set()
        out = []
        for row in rows:
            key = (self.titles[row], self.artists[row])
            if key not in seen:
                seen.add(key)
                out.append(row)
        return out

    def _pick(self, rows: list[int], title: str) -> int:
        """Same title and artist under several ids is one song: take the most popular release.

        Different artists are different songs; when one is clearly the famous one (DOMINANT_MARGIN
        popularity points ahead of every other) it is what people mean, else we ask.
        """
        ordered = sorted(rows, key=lambda r: -self.popularity[r])
        by_artist: dict[str, int] = {}
        for row in ordered:
            by_artist.setdefault(self.artists[row], row)
        leaders = list(by_artist.values())
        if len(leaders) > 1 and self.popularity[leaders[0]] - self.popularity[leaders[1]] < DOMINANT_MARGIN:
            raise Ambiguous(f"Several songs are called “{title}”.", leaders[:8])
        return leaders[0]
