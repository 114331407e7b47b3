"""The content engine as the serving side sees it: one loaded embedding artifact.

It answers "which rows are like these" with filters, de-duplicates songs that are the same
song under another id, and explains each pick in words. It also carries what the service derives
from the artifact once (every row's TrackInfo, genre and decade arrays, the cold-start and explore
pools, the unit of "close"), so a request reads one object. It is immutable once loaded; a new
artifact means a new Engine, swapped in whole.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from songrec.catalog.schema import NUMERIC_FEATURES
from songrec.content.artifacts import ArtifactStore, Manifest
from songrec.content.genres import artist_majority_genres
from songrec.content.index import Neighbours, TrackIndex
from songrec.content.lookup import Query, TitleIndex
from songrec.content.serving_parts import CATALOG_FILE, ServingParts, read_catalog
from songrec.content.track_table import TrackTable
from songrec.domain import Filters, TrackInfo
from songrec.domain.records import LIBRARY_TRACK_PREFIX
from songrec.settings import artifacts_dir

if TYPE_CHECKING:
    import pandas as pd

    from songrec.content.features import FeaturePipeline

log = logging.getLogger(__name__)

EMBEDDING_KIND = "embedding"
#: The widest neighbourhood (per anchor) searched to satisfy the per-artist cap.
MAX_SEARCH = 2000
#: At most this many TrackInfo records are kept made (Engine.info); past it the cache starts over.
INFO_CACHE_ROWS = 20_000
#: Audio features worth naming in a reason (duration, popularity and year are said differently).
DESCRIBED = (
    "tempo",
    "acousticness",
    "danceability",
    "energy",
    "valence",
    "instrumentalness",
    "speechiness",
    "liveness",
    "loudness",
)
#: Candidates per stratum (genre x decade) kept for cold-start picks.
COLD_PER_STRATUM = 12
#: Explore picks come from tracks at least this popular (percentile): far away, but not obscure noise.
EXPLORE_POPULARITY_PERCENTILE = 40.0


@dataclass(frozen=True)
class Candidate:
    row: int
    distance: float
    anchor: int  # the seed or liked row it was found near


@dataclass(frozen=True)
class Engine:
    #: At most this many songs by one artist in an answer: people asked for discovery, not a discography.
    MAX_PER_ARTIST: ClassVar[int] = 2

    version: str
    manifest: Manifest
    catalog_path: Path  # the catalogue as a DataFrame, read on first use (serving reads `tracks`)
    pipeline_path: Path  # the fitted FeaturePipeline, loaded on first use (sklearn is slow to import)
    index: TrackIndex
    titles: TitleIndex
    scaled: np.ndarray  # the 12 min-max scaled numeric features, for reasons
    spread: np.ndarray  # per-feature standard deviation, the yardstick for "similar"
    centre: np.ndarray  # per-feature median, what "usual" means
    keys: np.ndarray  # same-song keys (title + first artist)
    first_artist: np.ndarray  # casefolded first artist per row ("" when none): the per-artist cap's unit
    popularity: np.ndarray
    tracks: TrackTable  # every row's record, made on access: DataFrame.iloc costs ~1 ms a row
    genre: np.ndarray  # object array, "" when unknown
    decade: np.ndarray  # int, -1 when unknown
    cold_pool: np.ndarray  # rows: the most popular tracks of every genre x decade stratum
    explore_pool: np.ndarray  # rows popular enough to be offered as a surprise
    d_ref: float  # typical squared distance to a 10th nearest neighbour: the unit of "close"
    problems: list[str] = field(default_factory=list)
    #: The same keys and first artists as Python strings, for the per-candidate loops (no numpy scalars).
    key_list: tuple[str, ...] = field(default=(), repr=False, compare=False)
    artist_list: tuple[str, ...] = field(default=(), repr=False, compare=False)
    #: TrackInfo records already made (immutable, like the engine): reasons and answers ask for the same
    #: few rows several times per request, and making one costs ~30 us.
    _infos: dict[int, TrackInfo] = field(default_factory=dict, init=False, repr=False, compare=False)
    #: Derived per-request answers that depend only on this engine and their key (a listener's taste
    #: clusters for the exact likes they have now): songrec.service.taste reads and fills it.
    memo: dict[object, object] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.key_list:
            object.__setattr__(self, "key_list", tuple(str(k) for k in self.keys.tolist()))
        if not self.artist_list:
            object.__setattr__(self, "artist_list", tuple(str(a) for a in self.first_artist.tolist()))

    @classmethod
    def load(cls, root: Path | None = None) -> Engine:
        """Load the current artifact, or the newest intact one if current is damaged."""
        store = ArtifactStore(root or artifacts_dir(), EMBEDDING_KIND)
        version, manifest, problems = store.resolve_good()
        return cls.from_directory(store.path(version), manifest, problems)

    @classmethod
    def from_directory(cls, path: Path, manifest: Manifest, problems: list[str] | None = None) -> Engine:
        index = TrackIndex.load(path / "index")
        parts = ServingParts.load(path, index.size) or ServingParts.build(path)
        if len(parts.tracks) != index.size:
            raise ValueError(f"artifact {manifest.version}: index and catalogue sizes differ")
        arrays, tracks, titles = parts.arrays, parts.tracks, parts.titles
        scaled = arrays.scaled
        popularity = titles.popularity
        genre = tracks.genre_labels()
        years = tracks.year
        decade = np.where(np.isfinite(years), (np.nan_to_num(years) // 10 * 10), -1).astype(np.int64)
        engine = cls(
            version=manifest.version,
            manifest=manifest,
            catalog_path=path / CATALOG_FILE,
            pipeline_path=path / "pipeline.joblib",
            index=index,
            titles=titles,
            scaled=scaled,
            spread=np.maximum(scaled.std(axis=0), 1e-6),
            centre=np.median(scaled, axis=0),
            keys=arrays.keys,
            first_artist=arrays.first_artist,
            popularity=popularity,
            tracks=tracks,
            genre=genre,
            decade=decade,
            cold_pool=_cold_pool(popularity, genre, decade),
            explore_pool=_explore_pool(popularity),
            d_ref=_reference_distance(index),
            problems=list(problems or []),
        )
        if parts.catalog is not None:  # already read to build the parts: keep it
            engine.__dict__["catalog"] = parts.catalog
        return engine

    @cached_property
    def catalog(self) -> pd.DataFrame:
        """The artifact's catalogue, artists as lists (plots, exports; the serving path reads `tracks`)."""
        return read_catalog(self.catalog_path)

    @cached_property
    def explore_floor(self) -> float:
        """The least popularity among the explore pool's rows (0 when the pool is empty)."""
        pool = self.explore_pool
        return float(self.popularity[pool].min()) if len(pool) else 0.0

    @cached_property
    def reason_genre(self) -> np.ndarray:
        """The genre a reason names per row: the artist's usual one over the track's playlist-majority
        label (songrec.content.genres), built on first use."""
        return artist_majority_genres(self.artist_list, self.genre)

    @cached_property
    def pipeline(self) -> FeaturePipeline:
        """The fitted feature pipeline (nothing on the serving path needs it: loaded on first use)."""
        from songrec.content.features import FeaturePipeline

        return FeaturePipeline.load(self.pipeline_path)

    @property
    def size(self) -> int:
        return len(self.tracks)

    @property
    def embeddings(self) -> np.ndarray:
        return self.index.vectors

    # Tracks ------------------------------------------------------------------------------------

    def info(self, row: int) -> TrackInfo:
        row = int(row)
        found = self._infos.get(row)
        if found is None:
            if len(self._infos) >= INFO_CACHE_ROWS:
                self._infos.clear()  # bounded: a long-running bot does not end up holding the catalogue
            found = self._infos[row] = self.tracks[row]
        return found

    def track_id(self, row: int) -> str:
        """The row's track id alone: a vote names its track without building the whole TrackInfo."""
        return self.tracks.ids[int(row)]

    def name(self, row: int) -> str:
        return self.tracks.names[int(row)]

    def from_library(self, row: int) -> bool:
        """The row is a file of the operator's own music (TrackInfo.from_library), told from its id alone."""
        return self.track_id(row).startswith(LIBRARY_TRACK_PREFIX)

    def decade_label(self, row: int) -> str | None:
        d = int(self.decade[row])
        return f"{d}s" if d >= 0 else None

    def row_of(self, track_id: str) -> int | None:
        return self.titles.row_of_id.get(track_id)

    def resolve(self, query: str | Query, artist: str | None = None) -> int:
        """A catalogue row for what a user typed (a Query when its link is already parsed); InvalidInput,
        AmbiguousTrack or TrackNotFound (with `spotify_id` for a track link the catalogue lacks) else."""
        return self.titles.resolve(query, artist)

    def autocomplete(self, text: str, limit: int = 25) -> list[TrackInfo]:
        return [self.info(r) for r in self.titles.autocomplete(text, limit)]

    # Neighbours --------------------------------------------------------------------------------

    def allowed(
        self, filters: Filters | None = None, exclude_rows: set[int] | None = None
    ) -> np.ndarray | None:
        mask: np.ndarray | None = None
        if filters is not None and (filters.max_popularity is not None or filters.min_popularity is not None):
            mask = np.ones(self.size, dtype=bool)
            if filters.max_popularity is not None:
                mask &= self.popularity <= filters.max_popularity
            if filters.min_popularity is not None:
                mask &= self.popularity >= filters.min_popularity
        if exclude_rows:
            if mask is None:
                mask = np.ones(self.size, dtype=bool)
            mask[list(exclude_rows)] = False
        return mask

    def similar(
        self,
        anchors: list[int],
        k: int,
        filters: Filters | None = None,
        exclude_rows: set[int] | None = None,
        exclude_keys: set[str] | None = None,
        per_anchor: int | None = None,
        max_per_artist: int | None = None,
        allowed: np.ndarray | None = None,
    ) -> list[Candidate]:
        """Up to k distinct songs near the anchors, merged nearest-first across anchors.

        Each anchor is queried on its own (not their mean, which can land between two tastes);
        songs that are an anchor or a duplicate of one (same title and artist) never come back.
        `max_per_artist` keeps one artist from filling the answer (artist names weigh heavily in
        the fused embedding); the cap gives way only when nothing else is near enough to fill k.
        `allowed`, when given, is the mask `allowed(filters, exclude_rows)` already built by the caller
        (once per request rather than once per call); the anchors are excluded from it here as well.
        """
        found = self._similar(
            anchors, k, filters, exclude_rows, exclude_keys, per_anchor, max_per_artist, allowed
        )
        return [Candidate(row, d, a) for row, d, a in found]

    def similar_rows(
        self,
        anchors: list[int],
        k: int,
        exclude_keys: set[str] | None = None,
        max_per_artist: int | None = None,
        allowed: np.ndarray | None = None,
    ) -> list[int]:
        """The rows `similar` gives, alone: the planner scores rows, and a Candidate per row costs."""
        return [
            row
            for row, _, _ in self._similar(
                anchors, k, None, None, exclude_keys, None, max_per_artist, allowed
            )
        ]

    def _similar(
        self,
        anchors: list[int],
        k: int,
        filters: Filters | None,
        exclude_rows: set[int] | None,
        exclude_keys: set[str] | None,
        per_anchor: int | None,
        max_per_artist: int | None,
        allowed: np.ndarray | None,
    ) -> list[tuple[int, float, int]]:
        if not anchors or k <= 0:
            return []
        keys = self.key_list
        banned = set(exclude_keys or ())
        banned.update(keys[a] for a in anchors)
        if allowed is None:
            allowed = self.allowed(filters, set(exclude_rows or ()) | set(anchors))
        elif allowed[anchors].any():
            allowed = allowed.copy()
            allowed[anchors] = False
        want = (per_anchor or k) * 3 + 10
        while True:
            out, overflow = self._pick_distinct(anchors, want, k, allowed, banned, max_per_artist)
            # A prolific artist can fill the whole neighbourhood: look further before giving way.
            if len(out) >= k or not overflow or want >= MAX_SEARCH:
                return out + overflow[: k - len(out)]
            want = min(want * 4, MAX_SEARCH)

    def _pick_distinct(
        self,
        anchors: list[int],
        want: int,
        k: int,
        allowed: np.ndarray | None,
        banned: set[str],
        max_per_artist: int | None,
    ) -> tuple[list[tuple[int, float, int]], list[tuple[int, float, int]]]:
        """The k nearest distinct songs within the `want` nearest of each anchor, and those capped out:
        (row, distance, anchor) each.

        The neighbour table answers first. When a few rows it holds are left out (rated, offered) it knows
        fewer than `want` for an anchor, but knows them completely up to a distance: if the k are found
        nearer than that, the graph walk for the rest would change nothing, and is skipped."""
        table = self.index.table
        picked = None
        if table is not None and want <= table.width:  # wider: its first pass came up short already
            hits, known = self.index.neighbours_near(anchors, want, allowed)
            picked = self._distinct_hits(anchors, hits, k, banned, max_per_artist, known)
        if picked is None:  # the k lie beyond what the table knows: the full answer, walks included
            hits = self.index.neighbours_of(anchors, want, allowed)
            picked = self._distinct_hits(anchors, hits, k, banned, max_per_artist, math.inf)
        assert picked is not None  # every hit is known when `known` is +inf
        return picked

    def _distinct_hits(
        self,
        anchors: list[int],
        hits: list[Neighbours],
        k: int,
        banned: set[str],
        max_per_artist: int | None,
        known: float,
    ) -> tuple[list[tuple[int, float, int]], list[tuple[int, float, int]]] | None:
        """_pick_distinct's choice from these hits; None when it would read a hit at or past `known` (or
        run out of hits before k) with hits unknown past it."""
        if len(hits) == 1 and bool((np.diff(hits[0].distances) >= 0).all()):
            # One anchor's hits, nearest first and each row once: what the merge below gives them.
            rows, distance = hits[0].rows.tolist(), hits[0].distances.tolist()
            origins = [anchors[0]] * len(rows)
        else:
            found = np.concatenate([h.rows for h in hits])
            dists = np.concatenate([h.distances for h in hits])
            origin = np.repeat(np.asarray(anchors, dtype=np.int64), [len(h.rows) for h in hits])
            # Nearest first, ties in query order: what a stable sort of (anchor, rank) candidates gives. A
            # row found from two anchors counts where it comes first: its later copies share its key,
            # which the loop below has banned by then.
            order = np.argsort(dists, kind="stable")
            rows, distance, origins = found[order].tolist(), dists[order].tolist(), origin[order].tolist()
        keys, artists = self.key_list, self.artist_list
        banned = set(banned)
        out: list[tuple[int, float, int]] = []
        overflow: list[tuple[int, float, int]] = []
        per_artist: dict[str, int] = {}
        for row, d, a in zip(rows, distance, origins, strict=True):
            if d >= known:
                return None
            key = keys[row]
            if key in banned:
                continue
            banned.add(key)
            artist = artists[row]
            if max_per_artist and per_artist.get(artist, 0) >= max_per_artist:
                overflow.append((row, d, a))
                continue
            per_artist[artist] = per_artist.get(artist, 0) + 1
            out.append((row, d, a))
            if len(out) == k:
                return out, overflow
        return None if known != math.inf else (out, overflow)

    # Distances and closeness -------------------------------------------------------------------

    def distance(self, a: int, b: int) -> float:
        """The squared distance between two rows (songrec.content.index.distances, like every other)."""
        return float(self.pairwise(np.asarray([a]), np.asarray([b]))[0, 0])

    def pairwise(self, rows: np.ndarray, to: np.ndarray) -> np.ndarray:
        """Squared euclidean distances between rows and rows `to`: songrec.content.index.distances, term
        for term, with each row's squared length read from `_squared_lengths` instead of summed again."""
        rows, to = np.asarray(rows, dtype=np.int64), np.asarray(to, dtype=np.int64)
        vectors, lengths = self.embeddings, self._squared_lengths
        queries, base = vectors[rows].astype(np.float64), vectors[to].astype(np.float64)
        return np.maximum(lengths[rows][:, None] - 2 * queries @ base.T + lengths[to][None, :], 0.0)

    @cached_property
    def _squared_lengths(self) -> np.ndarray:
        """Every row's squared length in float64, as distances() sums it (a few ms, once)."""
        vectors = self.embeddings
        out = np.empty(len(vectors))
        for start in range(0, len(vectors), 8192):  # bounded float64 temporaries
            chunk = vectors[start : start + 8192].astype(np.float64)
            out[start : start + len(chunk)] = (chunk**2).sum(1)
        return out

    def closeness(self, distance: np.ndarray | float) -> np.ndarray:
        """exp(-d / d_ref): 1 for the same point, ~0.37 at a typical 10th-neighbour distance."""
        return np.exp(-np.asarray(distance, dtype=np.float64) / self.d_ref)

    def min_distance(self, rows: np.ndarray, to: np.ndarray) -> np.ndarray:
        """For each row, the squared distance to the nearest of `to` (inf when `to` is empty)."""
        rows = np.asarray(rows, dtype=np.int64)
        if len(to) == 0:
            return np.full(len(rows), np.inf)
        return self.pairwise(rows, to).min(axis=1)

    def nearest(self, rows: np.ndarray, to: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each row, the nearest of `to` and the squared distance to it."""
        d = self.pairwise(rows, to)
        idx = d.argmin(axis=1)
        return np.asarray(to, dtype=np.int64)[idx], d[np.arange(len(d)), idx]

    def dislike_penalty(self, rows: np.ndarray, disliked: np.ndarray, weight: float) -> np.ndarray:
        """How close each row is to something disliked, as a negative score part (0 without dislikes)."""
        if len(disliked) == 0:
            return np.zeros(len(rows))
        return self.penalty_near(self.min_distance(rows, disliked), weight)

    def penalty_near(self, distance: np.ndarray, weight: float) -> np.ndarray:
        """The dislike penalty for a distance to the nearest disliked row (from a table already made)."""
        return -weight * self.closeness(distance)

    # Reasons -----------------------------------------------------------------------------------

    def matching_features(self, a: int, b: int, count: int = 2) -> list[str]:
        """The audio features on which two songs agree most, relative to how much they vary.

        Agreement on a feature where the anchor is unusual (very acoustic, very fast) says more
        than agreement on one where nearly every song sits (no speech, no instruments alone).
        """
        return self.matching_features_of([a], [b], count)[0]

    def matching_features_of(self, anchors: list[int], rows: list[int], count: int = 2) -> list[list[str]]:
        """matching_features for each (anchor, row) pair, in one pass: a plan writes several reasons."""
        if not rows:
            return []
        cols = DESCRIBED_COLUMNS
        here = self.scaled[np.asarray(anchors, dtype=np.int64)][:, cols]
        there = self.scaled[np.asarray(rows, dtype=np.int64)][:, cols]
        spread = self.spread[cols]
        # Elementwise in the arrays' own dtype, as the per-feature scalar arithmetic gave (ties too).
        gap = np.abs(here - there) / spread
        unusual = np.abs(here - self.centre[cols]) / spread
        out = []
        for values in (gap - 0.5 * np.minimum(unusual, 2.0)).tolist():
            scores = sorted(zip(values, DESCRIBED, strict=True))
            out.append([f for s, f in scores[:count] if s < 0.3] or [scores[0][1]])
        return out

    def reason(self, anchor: int, row: int, prefix: str = "close to") -> str:
        """E.g. "close to Ring of Fire: similar tempo and acousticness, 1960s"."""
        features = self.matching_features(anchor, row)
        text = f"{prefix} {self.tracks[anchor].name}: similar {' and '.join(features)}"
        year_a, year_b = self.tracks[anchor].year, self.tracks[row].year
        if year_a is not None and year_b is not None and year_a // 10 == year_b // 10:
            text += f", {year_b // 10 * 10}s"
        return text

    # Playlists ---------------------------------------------------------------------------------

    def playlist(
        self, seed: int, length: int, filters: Filters | None = None, exclude: set[int] | None = None
    ) -> list[int]:
        """A playlist that opens with the seed and flows from it (songrec.content.flow): near the seed, in
        an order with small steps in tempo, energy and key, and the artist rule kept."""
        from songrec.content.flow import flowing_playlist

        return flowing_playlist(self, [seed], length, filters, start=seed, exclude=exclude)

    def _first_artist(self, row: int) -> str:
        return self.artist_list[int(row)]


#: Where each DESCRIBED feature sits among the scaled numeric features (reasons read them too).
DESCRIBED_COLUMNS = np.asarray([list(NUMERIC_FEATURES).index(f) for f in DESCRIBED], dtype=np.int64)


# Derived at load ---------------------------------------------------------------------------------


def _cold_pool(popularity: np.ndarray, genre: np.ndarray, decade: np.ndarray) -> np.ndarray:
    """The COLD_PER_STRATUM most popular rows of every genre x decade stratum, popular first."""
    order = np.lexsort((np.arange(len(popularity)), -popularity))  # popular first, stable
    seen: dict[tuple[str, int], int] = {}
    cold: list[int] = []
    for row in order:
        stratum = (genre[row], int(decade[row]))
        if seen.get(stratum, 0) < COLD_PER_STRATUM:
            seen[stratum] = seen.get(stratum, 0) + 1
            cold.append(int(row))
    return np.asarray(cold, dtype=np.int64)


def _explore_pool(popularity: np.ndarray) -> np.ndarray:
    threshold = np.percentile(popularity, EXPLORE_POPULARITY_PERCENTILE) if len(popularity) else 0.0
    return np.flatnonzero(popularity >= threshold).astype(np.int64)


def _reference_distance(index: TrackIndex, sample: int = 256) -> float:
    size = index.size
    if size < 2:
        return 1.0
    rng = np.random.default_rng(0)
    rows = rng.choice(size, size=min(sample, size), replace=False)
    k = min(11, size)
    vectors = index.vectors
    hits = index.neighbours_of(rows, k)
    # Measured with our own metric (the index may use another space): squared euclidean.
    far = np.asarray([int(h.rows[-1]) for h in hits], dtype=np.int64)
    x = vectors[rows].astype(np.float64) - vectors[far].astype(np.float64)
    value = float(np.median((x**2).sum(axis=1)))
    return value if np.isfinite(value) and value > 1e-12 else 1.0
