"""Finding catalogue tracks from what people type: ids, links, titles with or without the artist.

Autocomplete runs on every keystroke, so it answers from a word-prefix index (a set
intersection per query word) and only falls back to a fuzzy scan when that finds too little.
Resolution raises the domain's errors (InvalidInput, AmbiguousTrack, TrackNotFound) with the near
misses as TrackInfo records, so nothing above this module translates lookup failures.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

from songrec.content.artist_match import artist_matches, names_exactly, same_act
from songrec.content.catalog_search import search_rows
from songrec.content.packed import StringColumn, mapped
from songrec.content.songkey import DECORATION as _DECORATION
from songrec.content.songkey import normalise
from songrec.content.track_table import TrackTable
from songrec.domain import AmbiguousTrack, InvalidInput, MalformedSpotifyLink, TrackInfo, TrackNotFound
from songrec.domain.vocabulary import MAX_SONG_TEXT
from songrec.spotify.links import SpotifyRef, is_spotify_id, parse_spotify_ref

MAX_QUERY_CHARS = MAX_SONG_TEXT
#: A fuzzy match this good (0-100) is the title typed, with a typo; below it, a near miss to offer.
SAME_TITLE_SCORE = 88.0
#: With the artist given, their track whose title scores this much (0-100) is the one meant.
ARTIST_TITLE_SCORE = 70.0
#: Popularity points by which one artist's version must lead to be picked without asking.
DOMINANT_MARGIN = 15.0


def catalogue_tracks(catalog: pd.DataFrame) -> tuple[TrackInfo, ...]:
    """Every row's TrackInfo (what a TrackTable gives), built at once: for a catalogue without a table."""
    return tuple(TrackTable.from_catalog(catalog))


@dataclass(frozen=True)
class Query:
    """What someone typed, its Spotify link parsed once (the service routes a seed on it, then resolves it).

    `link` is a usable Spotify link, `broken` the error for text clearly meant as one; neither for a song
    name or a bare catalogue id.
    """

    text: str
    link: SpotifyRef | None = None
    broken: MalformedSpotifyLink | None = None

    @classmethod
    def parse(cls, text: str) -> Query:
        try:
            return cls(text, parse_spotify_ref(text))
        except MalformedSpotifyLink as exc:
            return cls(text, None, exc)

    @property
    def collection(self) -> SpotifyRef | None:
        """The album, playlist or artist link this query is, if it is one."""
        return self.link if self.link is not None and self.link.kind != "track" else None


class _NoMatch(Exception):
    """Internal to TitleIndex: one reading of a query ("title - artist") matched nothing; try the next."""


@dataclass(frozen=True, eq=False)
class Postings:
    """Word -> catalogue rows, as one sorted vocabulary and flat row lists (CSR): saved, memory-mapped."""

    words: Sequence[str]  # sorted
    starts: np.ndarray  # int64 (len(words) + 1,): where each word's rows begin in `rows`
    rows: np.ndarray  # int64: each word's rows, ascending

    @classmethod
    def build(cls, texts: Sequence[str]) -> Postings:
        postings: dict[str, list[int]] = defaultdict(list)
        for row, text in enumerate(texts):
            for word in set(text.split()):
                postings[word].append(row)
        words = sorted(postings)
        counts = np.asarray([len(postings[w]) for w in words], dtype=np.int64)
        starts = np.zeros(len(words) + 1, dtype=np.int64)
        np.cumsum(counts, out=starts[1:])
        flat = [r for w in words for r in postings[w]]
        return cls(words=words, starts=starts, rows=np.asarray(flat, dtype=np.int64))

    def _word_list(self) -> Sequence[str]:
        return _strings(self.words)

    def _position(self, word: str) -> int | None:
        words = self._word_list()
        i = bisect.bisect_left(words, word)
        return i if i < len(words) and words[i] == word else None

    def get(self, word: str) -> np.ndarray | None:
        i = self._position(word)
        return None if i is None else self.rows[self.starts[i] : self.starts[i + 1]]

    def count(self, word: str) -> int:
        i = self._position(word)
        return 0 if i is None else int(self.starts[i + 1] - self.starts[i])

    def with_prefix(self, prefix: str, max_words: int = 2000) -> np.ndarray:
        """Distinct rows of the (at most max_words) words that start with prefix."""
        words = self._word_list()
        start = bisect.bisect_left(words, prefix)
        end = start
        while end < min(start + max_words, len(words)) and words[end].startswith(prefix):
            end += 1
        if end == start:
            return np.empty(0, np.int64)
        return np.unique(self.rows[self.starts[start] : self.starts[end]])


def _strings(values: Sequence[str]) -> Sequence[str]:
    """A Python list for loops and rapidfuzz (a packed column decodes once and keeps it)."""
    return values.to_list() if isinstance(values, StringColumn) else values


#: Files of a saved TitleIndex (inside the artifact's serving/ folder).
TITLES_DIR = "titles"
_TEXT_COLUMNS = ("titles", "base_titles", "artists", "combined")


@dataclass
class TitleIndex:
    """Word-prefix and fuzzy search over "title artist" strings of the catalogue.

    Built at training time and saved (`save`/`load`: packed columns, memory-mapped); an older
    artifact without them builds it from the catalogue at load.
    """

    tracks: Sequence[TrackInfo]  # every row's record, for the candidates and near misses errors carry
    titles: Sequence[str]
    base_titles: Sequence[str]  # without "(feat. ...)", "- 2011 Remaster" and the like
    artists: Sequence[str]
    combined: Sequence[str]
    popularity: np.ndarray
    row_of_id: Mapping[str, int]
    postings: Postings

    @classmethod
    def build(cls, catalog: pd.DataFrame, tracks: Sequence[TrackInfo] | None = None) -> TitleIndex:
        titles = [normalise(n) for n in catalog["name"].fillna("")]
        artists = [normalise(" ".join(a) if not isinstance(a, str) else a) for a in catalog["artists"]]
        combined = [f"{t} {a}".strip() for t, a in zip(titles, artists, strict=True)]
        base_titles = [normalise(_DECORATION.sub("", str(n))) for n in catalog["name"].fillna("")]
        return cls(
            tracks=tracks if tracks is not None else catalogue_tracks(catalog),
            titles=titles,
            base_titles=base_titles,
            artists=artists,
            combined=combined,
            popularity=catalog["popularity"].fillna(0).to_numpy(dtype=np.float64),
            row_of_id={tid: i for i, tid in enumerate(catalog["track_id"])},
            postings=Postings.build(combined),
        )

    @property
    def vocabulary(self) -> Sequence[str]:
        return self.postings._word_list()

    def save(self, directory: Path) -> None:
        """What `load` reads: the normalised texts and the postings, packed (popularity and ids are the
        track table's)."""
        directory.mkdir(parents=True, exist_ok=True)
        for name in _TEXT_COLUMNS:
            StringColumn.pack(_strings(getattr(self, name))).save(directory, name)
        StringColumn.pack(_strings(self.postings.words)).save(directory, "words")
        np.save(directory / "postings.starts.npy", np.asarray(self.postings.starts, dtype=np.int64))
        np.save(directory / "postings.rows.npy", np.asarray(self.postings.rows, dtype=np.int64))

    @classmethod
    def load(
        cls,
        directory: Path,
        tracks: Sequence[TrackInfo],
        popularity: np.ndarray,
        row_of_id: Mapping[str, int],
    ) -> TitleIndex | None:
        """The saved index, memory-mapped; None when the artifact predates it or it does not fit."""
        columns = {name: StringColumn.load(directory, name) for name in (*_TEXT_COLUMNS, "words")}
        starts_path, rows_path = directory / "postings.starts.npy", directory / "postings.rows.npy"
        if any(c is None for c in columns.values()) or not (starts_path.is_file() and rows_path.is_file()):
            return None
        starts = mapped(starts_path)
        rows = mapped(rows_path)
        words = columns.pop("words")
        sizes = {len(c) for c in columns.values()}  # type: ignore[arg-type]
        if sizes != {len(tracks)} or len(starts) != len(words) + 1 or starts[-1] != len(rows):  # type: ignore[arg-type]
            return None
        return cls(
            tracks=tracks,
            popularity=popularity,
            row_of_id=row_of_id,
            postings=Postings(words=words, starts=starts, rows=rows),  # type: ignore[arg-type]
            **columns,  # type: ignore[arg-type]
        )

    def _rows_with_prefix(self, prefix: str) -> np.ndarray:
        return self.postings.with_prefix(prefix)

    def prefix_search(self, text: str, limit: int = 25) -> list[int]:
        """Rows whose words start with every query word (the last may be half-typed), popular first."""
        words = normalise(text).split()
        if not words:
            return []
        rows: np.ndarray | None = None
        for word in sorted(words[:-1], key=self.postings.count):
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
        titles = _strings(self.titles)
        starts = np.fromiter((titles[r].startswith(query) for r in rows.tolist()), bool, len(rows))
        order = np.lexsort((-self.popularity[rows], ~starts))
        return rows[order][:limit].tolist()

    def fuzzy(self, text: str, limit: int = 10, cutoff: float = 60.0) -> list[tuple[int, float]]:
        hits = process.extract(
            normalise(text),
            _strings(self.combined),
            scorer=fuzz.WRatio,
            limit=limit,
            score_cutoff=cutoff,
            processor=None,
        )
        return [(row, score) for _, score, row in hits]

    def autocomplete(self, text: str, limit: int = 25) -> list[int]:
        """What the song option offers as someone types: search() ranking, or the track an id names."""
        text = text[:MAX_QUERY_CHARS]
        if is_spotify_id(text.strip()) and text.strip() in self.row_of_id:  # a picked choice's value
            return [self.row_of_id[text.strip()]]
        return self.search(text, limit)

    def search(self, text: str, limit: int = 10) -> list[int]:
        """Rows by relevance (title, artist, popularity), one per song (songrec.content.catalog_search)."""
        return search_rows(self, text[:MAX_QUERY_CHARS], limit)

    # Resolution -------------------------------------------------------------------------------

    def resolve(self, query: str | Query, artist: str | None = None) -> int:
        """One catalogue row for a query; InvalidInput, AmbiguousTrack or TrackNotFound say what to do next.

        A Query carries its Spotify link already parsed; a plain string is parsed here (once).
        """
        raw = query.text if isinstance(query, Query) else query
        text = (raw or "").strip()
        if not text:
            raise InvalidInput(
                "Tell me a song: a title (optionally with the artist), a Spotify link or a track id."
            )
        if len(text) > MAX_QUERY_CHARS:
            raise InvalidInput(
                f"That is too long for a song title ({len(text):,} characters; {MAX_QUERY_CHARS} at most)."
            )
        parsed = query if isinstance(query, Query) else Query.parse(text)
        if parsed.broken is not None:
            raise InvalidInput(str(parsed.broken)) from parsed.broken
        if parsed.link is not None:
            return self._resolve_link(raw, parsed.link)
        direct = self.direct_row(parsed)
        if direct is not None:
            return direct
        if artist is None:
            for sep in (" - ", " by ", " — ", " – "):
                if sep in text:
                    title, _, who = text.rpartition(sep)
                    try:
                        return self._resolve_text(raw, title.strip(), who.strip())
                    except (InvalidInput, AmbiguousTrack, TrackNotFound):  # that reading found nothing
                        break
        return self._resolve_text(raw, text, artist)

    def direct_row(self, query: Query) -> int | None:
        """The row a catalogue track id or a track link to one names, else None: a dict lookup, which
        callers on the event loop may run without a thread hop (a vote by id or button is most votes)."""
        text = (query.text or "").strip()
        if query.broken is not None or len(text) > MAX_QUERY_CHARS:
            return None
        if query.link is not None:
            return self.row_of_id.get(query.link.id) if query.link.kind == "track" else None
        return self.row_of_id.get(text) if is_spotify_id(text) else None

    def _resolve_link(self, raw: str, ref: SpotifyRef) -> int:
        if ref.kind != "track":
            raise InvalidInput(
                f"That is a Spotify {ref.kind} link; give me a track link (or import the {ref.kind})."
            )
        if ref.id in self.row_of_id:
            return self.row_of_id[ref.id]
        raise TrackNotFound(raw, [], spotify_id=ref.id)  # the service may ask Spotify which song it is

    def _infos(self, rows: Sequence[int]) -> list[TrackInfo]:
        return [self.tracks[int(r)] for r in rows]

    def _resolve_text(self, raw: str, title: str, artist: str | None) -> int:
        ntitle = normalise(title)
        nartist = normalise(artist) if artist else ""
        if not ntitle:
            raise InvalidInput("That song title has no letters or digits I can search for.")
        nbase = normalise(_DECORATION.sub("", title)) or ntitle
        exact = [
            r for r in self.prefix_search(title, limit=500) if ntitle in (self.titles[r], self.base_titles[r])
        ]
        exact = exact or [r for r in self.prefix_search(nbase, limit=500) if self.base_titles[r] == nbase]
        if nartist:
            exact = self._by_artist(exact, nartist)
        if exact:
            return self._pick(raw, exact)
        scored = self._scored(ntitle, nartist)
        if not scored:
            raise TrackNotFound(raw, [])
        if nartist:  # the artist given has a track close to that title: theirs is the one meant
            titled = {r: t for r, t in self._title_scores(ntitle) if t >= ARTIST_TITLE_SCORE}
            theirs = self._by_artist([r for r, _ in scored if r in titled], nartist)
            if theirs:
                top = max(titled[r] for r in theirs)
                return self._pick(raw, [r for r in theirs if titled[r] >= top - 5])
        best_row, best = scored[0]
        runner_up = next((s for r, s in scored[1:] if self._key(r) != self._key(best_row)), 0.0)
        if best >= 90 and best - runner_up >= 4:
            return self._pick(raw, [r for r, s in scored if s >= best - 0.01])
        close = [r for r, s in scored if s >= SAME_TITLE_SCORE]  # the title typed with a typo
        if close:
            return self._pick(raw, self._distinct(close))
        raise TrackNotFound(raw, self._infos(self._distinct([r for r, _ in scored])[:5]))

    def _by_artist(self, rows: list[int], nartist: str) -> list[int]:
        """The rows credited to the artist typed; only those naming them word for word when some do
        ("Dave Brubeck" is not "The Dave Brubeck Quartet", though both match it)."""
        matching = [r for r in rows if artist_matches(nartist, self.artists[r])]
        exact = [
            r
            for r in matching
            if names_exactly(nartist, self.artists[r], [normalise(a) for a in self.tracks[r].artists])
        ]
        return exact or matching

    def _title_scores(self, ntitle: str) -> list[tuple[int, float]]:
        """Title-only scores (0-100) of the rows _scored draws from, on the same scale."""
        return self._scored(ntitle, "")

    def _scored(self, ntitle: str, nartist: str) -> list[tuple[int, float]]:
        # Plain edit distance first (typos). WRatio's partial matching only when that finds
        # nothing close, and discounted: it rates a short title inside a long one highly.
        hits = process.extract(
            ntitle, _strings(self.base_titles), scorer=fuzz.QRatio, limit=40, score_cutoff=70, processor=None
        )
        if not hits or hits[0][1] < 85:
            partial = process.extract(
                ntitle,
                _strings(self.base_titles),
                scorer=fuzz.WRatio,
                limit=20,
                score_cutoff=60,
                processor=None,
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

    def _pick(self, raw: str, rows: list[int]) -> int:
        """Same title and artist under several ids is one song: take the most popular release.

        Different artists are different songs; when one is clearly the famous one (DOMINANT_MARGIN
        popularity points ahead of every other) it is what people mean, else we ask.
        """
        # Most popular first; at equal popularity the original before a remaster or a live take.
        ordered = sorted(rows, key=lambda r: (-self.popularity[r], self.titles[r] != self.base_titles[r]))
        by_artist: dict[str, int] = {}
        for row in ordered:
            by_artist.setdefault(self.artists[row], row)
        leaders: list[int] = []
        for row in by_artist.values():  # one act under two credits is one song, not a choice
            if not any(same_act(self.artists[row], self.artists[kept]) for kept in leaders):
                leaders.append(row)
        if len(leaders) > 1 and self.popularity[leaders[0]] - self.popularity[leaders[1]] < DOMINANT_MARGIN:
            raise AmbiguousTrack(raw, self._infos(leaders[:8]))
        return leaders[0]
