"""The content engine as the serving side sees it: one loaded embedding artifact.

It answers "which rows are like these" with filters, de-duplicates songs that are the same
song under another id, and explains each pick in words. It is immutable once loaded; a new
artifact means a new Engine, swapped in whole.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from songrec.artifacts import ArtifactStore, Manifest
from songrec.catalog.schema import NUMERIC_FEATURES
from songrec.config import artifacts_dir
from songrec.features import FeaturePipeline, model_inputs
from songrec.index import TrackIndex
from songrec.lookup import Ambiguous, InvalidQuery, NotInCatalogue, TitleIndex, title_key
from songrec.service.types import AmbiguousTrack, Filters, InvalidInput, TrackInfo, TrackNotFound

log = logging.getLogger(__name__)

EMBEDDING_KIND = "embedding"
#: The widest neighbourhood (per anchor) searched to satisfy the per-artist cap.
MAX_SEARCH = 2000
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


@dataclass(frozen=True)
class Candidate:
    row: int
    distance: float
    anchor: int  # the seed or liked row it was found near


@dataclass
class Engine:
    #: At most this many songs by one artist in an answer: people asked for discovery, not a discography.
    MAX_PER_ARTIST: ClassVar[int] = 2

    version: str
    manifest: Manifest
    catalog: pd.DataFrame
    pipeline: FeaturePipeline
    index: TrackIndex
    titles: TitleIndex
    scaled: np.ndarray  # the 12 min-max scaled numeric features, for reasons
    spread: np.ndarray  # per-feature standard deviation, the yardstick for "similar"
    centre: np.ndarray  # per-feature median, what "usual" means
    keys: np.ndarray  # same-song keys (title + first artist)
    popularity: np.ndarray
    problems: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, root: Path | None = None) -> Engine:
        """Load the current artifact, or the newest intact one if current is damaged."""
        store = ArtifactStore(root or artifacts_dir(), EMBEDDING_KIND)
        version, manifest, problems = store.resolve_good()
        return cls.from_directory(store.path(version), manifest, problems)

    @classmethod
    def from_directory(cls, path: Path, manifest: Manifest, problems: list[str] | None = None) -> Engine:
        catalog = pd.read_parquet(path / "catalog.parquet")
        catalog["artists"] = catalog["artists"].map(lambda a: list(a) if a is not None else [])
        pipeline = FeaturePipeline.load(path / "pipeline.joblib")
        index = TrackIndex.load(path / "index")
        if index.size != len(catalog):
            raise ValueError(f"artifact {manifest.version}: index and catalogue sizes differ")
        base = pipeline.base.transform(model_inputs(catalog))
        scaled = np.asarray(base[:, : len(NUMERIC_FEATURES)], dtype=np.float32)
        keys = np.asarray([title_key(n, a) for n, a in zip(catalog["name"], catalog["artists"], strict=True)])
        return cls(
            version=manifest.version,
            manifest=manifest,
            catalog=catalog,
            pipeline=pipeline,
            index=index,
            titles=TitleIndex.build(catalog),
            scaled=scaled,
            spread=np.maximum(scaled.std(axis=0), 1e-6),
            centre=np.median(scaled, axis=0),
            keys=keys,
            popularity=catalog["popularity"].fillna(0).to_numpy(dtype=np.float64),
            problems=list(problems or []),
        )

    @property
    def size(self) -> int:
        return len(self.catalog)

    @property
    def embeddings(self) -> np.ndarray:
        return self.index.vectors

    # Tracks ------------------------------------------------------------------------------------

    def info(self, row: int) -> TrackInfo:
        rec = self.catalog.iloc[int(row)]
        genre = rec.get("genre")
        return TrackInfo(
            track_id=str(rec["track_id"]),
            name=str(rec["name"]),
            artists=tuple(str(a) for a in rec["artists"]),
            year=int(rec["year"]) if pd.notna(rec["year"]) else None,
            popularity=float(rec["popularity"]) if pd.notna(rec["popularity"]) else None,
            genre=str(genre) if genre is not None and pd.notna(genre) else None,
        )

    def row_of(self, track_id: str) -> int | None:
        return self.titles.row_of_id.get(track_id)

    def resolve(self, query: str, artist: str | None = None) -> int:
        """A catalogue row for what a user typed; SongrecError subclasses say what went wrong."""
        try:
            return self.titles.resolve(query, artist)
        except InvalidQuery as exc:
            raise InvalidInput(str(exc)) from exc
        except Ambiguous as exc:
            raise AmbiguousTrack(query, [self.info(r) for r in exc.rows]) from exc
        except NotInCatalogue as exc:
            error = TrackNotFound(query, [self.info(r) for r in exc.closest])
            error.spotify_id = exc.spotify_id  # type: ignore[attr-defined]
            raise error from exc

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
    ) -> list[Candidate]:
        """Up to k distinct songs near the anchors, merged nearest-first across anchors.

        Each anchor is queried on its own (not their mean, which can land between two tastes);
        songs that are an anchor or a duplicate of one (same title and artist) never come back.
        `max_per_artist` keeps one artist from filling the answer (artist names weigh heavily in
        the fused embedding); the cap gives way only when nothing else is near enough to fill k.
        """
        if not anchors or k <= 0:
            return []
        banned = set(exclude_keys or ()) | {str(self.keys[a]) for a in anchors}
        exclude = set(exclude_rows or ()) | set(anchors)
        allowed = self.allowed(filters, exclude)
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
    ) -> tuple[list[Candidate], list[Candidate]]:
        """The k nearest distinct songs within the `want` nearest of each anchor, and those capped out."""
        hits = self.index.query(self.embeddings[anchors], want, allowed)
        merged = sorted(
            (
                Candidate(int(r), float(d), anchor)
                for anchor, h in zip(anchors, hits, strict=True)
                for r, d in zip(h.rows, h.distances, strict=True)
            ),
            key=lambda c: c.distance,
        )
        banned = set(banned)
        out: list[Candidate] = []
        overflow: list[Candidate] = []
        per_artist: dict[str, int] = {}
        seen_rows: set[int] = set()
        for cand in merged:
            key = str(self.keys[cand.row])
            if cand.row in seen_rows or key in banned:
                continue
            seen_rows.add(cand.row)
            banned.add(key)
            artist = self._first_artist(cand.row)
            if max_per_artist and per_artist.get(artist, 0) >= max_per_artist:
                overflow.append(cand)
                continue
            per_artist[artist] = per_artist.get(artist, 0) + 1
            out.append(cand)
            if len(out) == k:
                break
        return out, overflow

    def distance(self, a: int, b: int) -> float:
        diff = self.embeddings[a] - self.embeddings[b]
        return float(diff @ diff)

    # Reasons -----------------------------------------------------------------------------------

    def matching_features(self, a: int, b: int, count: int = 2) -> list[str]:
        """The audio features on which two songs agree most, relative to how much they vary.

        Agreement on a feature where the anchor is unusual (very acoustic, very fast) says more
        than agreement on one where nearly every song sits (no speech, no instruments alone).
        """
        names = list(NUMERIC_FEATURES)
        scores = []
        for feature in DESCRIBED:
            j = names.index(feature)
            gap = abs(float(self.scaled[a, j] - self.scaled[b, j])) / self.spread[j]
            unusual = abs(float(self.scaled[a, j] - self.centre[j])) / self.spread[j]
            scores.append((gap - 0.5 * min(unusual, 2.0), feature))
        scores.sort()
        return [f for s, f in scores[:count] if s < 0.3] or [scores[0][1]]

    def reason(self, anchor: int, row: int, prefix: str = "close to") -> str:
        """E.g. "close to Ring of Fire: similar tempo and acousticness, 1960s"."""
        features = self.matching_features(anchor, row)
        text = f"{prefix} {self.catalog.iloc[anchor]['name']}: similar {' and '.join(features)}"
        year_a, year_b = self.catalog.iloc[anchor]["year"], self.catalog.iloc[row]["year"]
        if pd.notna(year_a) and pd.notna(year_b) and int(year_a) // 10 == int(year_b) // 10:
            text += f", {int(year_b) // 10 * 10}s"
        return text

    # Playlists ---------------------------------------------------------------------------------

    def playlist(
        self, seed: int, length: int, filters: Filters | None = None, diversity: float = 0.3
    ) -> list[int]:
        """A seeded playlist by maximal marginal relevance: near the seed, not near each other.

        No artist appears more than twice in a row.
        """
        pool = self.similar([seed], max(length * 10, 100), filters)
        if not pool:
            return []
        dist = np.asarray([c.distance for c in pool])
        relevance = 1.0 - dist / max(dist.max(), 1e-9)
        vectors = self.embeddings[[c.row for c in pool]]
        chosen: list[int] = []
        nearest = np.full(len(pool), np.inf)
        scale = max(float(dist.max()), 1e-9)
        first_artist = [self._first_artist(c.row) for c in pool]
        while len(chosen) < min(length, len(pool)):
            redundancy = 1.0 - np.minimum(nearest / scale, 1.0) if chosen else np.zeros(len(pool))
            score = (1 - diversity) * relevance - diversity * redundancy
            score[chosen] = -np.inf
            if len(chosen) >= 2 and first_artist[chosen[-1]] == first_artist[chosen[-2]]:
                repeated = first_artist[chosen[-1]]
                score[[i for i, a in enumerate(first_artist) if a == repeated]] = -np.inf
            pick = int(np.argmax(score))
            if not np.isfinite(score[pick]):
                break
            chosen.append(pick)
            nearest = np.minimum(nearest, ((vectors - vectors[pick]) ** 2).sum(axis=1))
        return [pool[i].row for i in chosen]

    def _first_artist(self, row: int) -> str:
        artists = self.catalog.iloc[row]["artists"]
        return str(artists[0]).casefold() if len(artists) else ""
