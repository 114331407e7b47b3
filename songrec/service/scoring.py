"""Shared scoring pieces: the per-engine context, distances, and the pluggable re-ranker.

Every score is a sum of named parts (`closeness`-like terms in (0, 1], a small popularity term, a
penalty near dislikes, and whatever a ranker adds), so a suggestion's reason and its score parts
can always be checked against each other.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from songrec.engine import Engine
from songrec.service.types import TrackInfo

log = logging.getLogger(__name__)

#: Candidates per stratum (genre x decade) kept for cold-start picks.
COLD_PER_STRATUM = 12
#: Explore picks come from tracks at least this popular (percentile): far away, but not obscure noise.
EXPLORE_POPULARITY_PERCENTILE = 40.0


@runtime_checkable
class CandidateScorer(Protocol):
    """A re-ranker the learning loop plugs in (a like/dislike classifier, collaborative filtering).

    `score` returns named parts, each an array aligned with `rows`; they are added to the candidate
    scores as they are (the scorer chooses its own scale) and stored as score parts. It runs in a
    worker thread, possibly several at once, so it must be thread-safe and must not block on I/O.
    """

    def score(self, user_id: int, rows: np.ndarray) -> dict[str, np.ndarray]: ...


def ranker_parts(ranker: CandidateScorer | None, user_id: int, rows: np.ndarray) -> dict[str, np.ndarray]:
    """The ranker's parts for these rows; a failing or malformed ranker is logged and ignored."""
    if ranker is None or len(rows) == 0:
        return {}
    try:
        raw = ranker.score(user_id, np.asarray(rows, dtype=np.int64))
        parts = {str(name): np.asarray(values, dtype=np.float64).reshape(-1) for name, values in raw.items()}
    except Exception:
        log.exception("ranker %r failed; serving without it", ranker)
        return {}
    bad = [name for name, values in parts.items() if values.shape != (len(rows),)]
    if bad or any(not np.all(np.isfinite(v)) for v in parts.values()):
        log.error("ranker %r returned misshapen or non-finite parts %s; ignored", ranker, bad)
        return {}
    # info_* parts (e.g. the raw like probability) are stored for the reason but never summed.
    return {
        name if name.startswith(("ranker", "info_")) else f"ranker_{name}": v for name, v in parts.items()
    }


def summed(parts: dict[str, np.ndarray]) -> list[np.ndarray]:
    """The parts that add up to a score (info_* and n_* parts only inform)."""
    return [v for name, v in parts.items() if not name.startswith(("info_", "n_"))]


@dataclass(frozen=True)
class EngineContext:
    """An Engine plus what the service derives from it once: swapped together, never mutated."""

    engine: Engine
    d_ref: float  # typical squared distance to a 10th nearest neighbour: the unit of "close"
    genre: np.ndarray  # object array, "" when unknown
    decade: np.ndarray  # int, -1 when unknown
    cold_pool: np.ndarray  # rows: the most popular tracks of every genre x decade stratum
    explore_pool: np.ndarray  # rows popular enough to be offered as a surprise
    tracks: tuple[TrackInfo, ...]  # every row's record, built once: DataFrame.iloc costs ~1 ms a row

    @classmethod
    def build(cls, engine: Engine) -> EngineContext:
        catalog = engine.catalog
        genre = np.asarray(
            [str(g) if isinstance(g, str) and g else "" for g in catalog["genre"]], dtype=object
        )
        years = catalog["year"].to_numpy(dtype=np.float64, na_value=np.nan)
        decade = np.where(np.isfinite(years), (np.nan_to_num(years) // 10 * 10), -1).astype(np.int64)
        pop = engine.popularity
        order = np.lexsort((np.arange(engine.size), -pop))  # popular first, stable
        seen: dict[tuple[str, int], int] = {}
        cold: list[int] = []
        for row in order:
            stratum = (genre[row], int(decade[row]))
            if seen.get(stratum, 0) < COLD_PER_STRATUM:
                seen[stratum] = seen.get(stratum, 0) + 1
                cold.append(int(row))
        threshold = np.percentile(pop, EXPLORE_POPULARITY_PERCENTILE) if engine.size else 0.0
        explore = np.flatnonzero(pop >= threshold)
        return cls(
            engine=engine,
            d_ref=_reference_distance(engine),
            genre=genre,
            decade=decade,
            cold_pool=np.asarray(cold, dtype=np.int64),
            explore_pool=explore.astype(np.int64),
            tracks=tuple(_track_infos(engine)),
        )

    @property
    def version(self) -> str:
        return self.engine.version

    def closeness(self, distance: np.ndarray | float) -> np.ndarray:
        """exp(-d / d_ref): 1 for the same point, ~0.37 at a typical 10th-neighbour distance."""
        return np.exp(-np.asarray(distance, dtype=np.float64) / self.d_ref)

    def min_distance(self, rows: np.ndarray, to: np.ndarray) -> np.ndarray:
        """For each row, the squared distance to the nearest of `to` (inf when `to` is empty)."""
        rows = np.asarray(rows, dtype=np.int64)
        if len(to) == 0:
            return np.full(len(rows), np.inf)
        return pairwise(self.engine.embeddings, rows, np.asarray(to, dtype=np.int64)).min(axis=1)

    def nearest(self, rows: np.ndarray, to: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each row, the nearest of `to` and the squared distance to it."""
        d = pairwise(self.engine.embeddings, np.asarray(rows, dtype=np.int64), np.asarray(to, dtype=np.int64))
        idx = d.argmin(axis=1)
        return np.asarray(to, dtype=np.int64)[idx], d[np.arange(len(rows)), idx]

    def dislike_penalty(self, rows: np.ndarray, disliked: np.ndarray, weight: float) -> np.ndarray:
        """How close each row is to something disliked, as a negative score part (0 without dislikes)."""
        if len(disliked) == 0:
            return np.zeros(len(rows))
        return -weight * self.closeness(self.min_distance(rows, disliked))

    def info(self, row: int) -> TrackInfo:
        return self.tracks[int(row)]

    def name(self, row: int) -> str:
        return self.tracks[int(row)].name

    def decade_label(self, row: int) -> str | None:
        d = int(self.decade[row])
        return f"{d}s" if d >= 0 else None


def _track_infos(engine: Engine) -> list[TrackInfo]:
    """The same records as Engine.info, for every row at once."""
    catalog = engine.catalog
    years = catalog["year"].to_numpy(dtype=np.float64, na_value=np.nan)
    pops = catalog["popularity"].to_numpy(dtype=np.float64, na_value=np.nan)
    genres = (
        catalog["genre"].to_numpy(dtype=object, na_value=None)
        if "genre" in catalog
        else [None] * len(catalog)
    )
    return [
        TrackInfo(
            track_id=str(tid),
            name=str(name),
            artists=tuple(str(a) for a in artists),
            year=int(year) if np.isfinite(year) else None,
            popularity=float(pop) if np.isfinite(pop) else None,
            genre=str(genre) if isinstance(genre, str) else None,
        )
        for tid, name, artists, year, pop, genre in zip(
            catalog["track_id"], catalog["name"], catalog["artists"], years, pops, genres, strict=True
        )
    ]


def pairwise(vectors: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Squared euclidean distances between rows a and rows b (float64: near pairs must not cancel)."""
    x = vectors[a].astype(np.float64)
    y = vectors[b].astype(np.float64)
    d = (x**2).sum(1)[:, None] - 2 * x @ y.T + (y**2).sum(1)[None, :]
    return np.maximum(d, 0.0)


def _reference_distance(engine: Engine, sample: int = 256) -> float:
    if engine.size < 2:
        return 1.0
    rng = np.random.default_rng(0)
    rows = rng.choice(engine.size, size=min(sample, engine.size), replace=False)
    k = min(11, engine.size)
    hits = engine.index.query(engine.embeddings[rows], k)
    # Measured with our own metric (the index may use another space): squared euclidean.
    far = np.asarray([int(h.rows[-1]) for h in hits], dtype=np.int64)
    x = engine.embeddings[rows].astype(np.float64) - engine.embeddings[far].astype(np.float64)
    value = float(np.median((x**2).sum(axis=1)))
    return value if np.isfinite(value) and value > 1e-12 else 1.0
