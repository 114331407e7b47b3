"""hnswlib over track embeddings: build, save, load and filtered k-NN with an exact fallback.

The index is never mutated once built: a new catalogue or model builds a new index, which is
swapped in whole, so concurrent queries never see a half-built graph.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import hnswlib
import numpy as np

from songrec.ops.progress import progress_bar

#: Below this share of allowed items a filtered graph walk wastes work: scan the subset instead.
EXACT_SUBSET_SHARE = 0.02
#: The widest beam a filtered query asks for before falling back to an exact scan.
MAX_WIDE = 2000


def distances(queries: np.ndarray, base: np.ndarray, space: str = "l2") -> np.ndarray:
    """Every query's distance to every base vector, as hnswlib reports it for `space` (the one distance
    function: the exact scan, the service's scores and reasons all use it).

    "l2" is the squared euclidean distance, clipped at 0. Float64 on purpose: the expanded form of the
    squared distance cancels badly in float32 for near neighbours, which would misorder exactly the pairs
    recall is judged on (and turn "the same point" into a small negative distance).
    """
    queries = np.atleast_2d(queries).astype(np.float64)
    base = np.atleast_2d(base).astype(np.float64)
    if space == "l2":
        d = (queries**2).sum(1)[:, None] - 2 * queries @ base.T + (base**2).sum(1)[None, :]
        return np.maximum(d, 0.0)
    if space == "ip":
        return 1.0 - queries @ base.T
    qn = queries / np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-12)
    bn = base / np.maximum(np.linalg.norm(base, axis=1, keepdims=True), 1e-12)
    return 1.0 - qn @ bn.T


@dataclass(frozen=True)
class IndexConfig:
    space: str = "l2"  # "l2", "cosine" or "ip"
    M: int = 16
    ef_construction: int = 200
    ef: int = 128
    seed: int = 100


@dataclass(frozen=True)
class Neighbours:
    """Row numbers into the catalogue and their distances, nearest first."""

    rows: np.ndarray
    distances: np.ndarray


class TrackIndex:
    def __init__(self, index: hnswlib.Index, vectors: np.ndarray, config: IndexConfig) -> None:
        self._index = index
        self.vectors = vectors
        self.config = config
        self._index.set_ef(config.ef)

    @property
    def size(self) -> int:
        return self.vectors.shape[0]

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    @classmethod
    def build(
        cls, vectors: np.ndarray, config: IndexConfig | None = None, progress: bool = True
    ) -> TrackIndex:
        config = config or IndexConfig()
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] == 0:
            raise ValueError("need a non-empty 2-D array of embeddings")
        index = hnswlib.Index(space=config.space, dim=vectors.shape[1])
        index.init_index(
            max_elements=vectors.shape[0],
            ef_construction=config.ef_construction,
            M=config.M,
            random_seed=config.seed,
        )
        step = 10_000
        for start in progress_bar(range(0, len(vectors), step), desc="index", unit="10k", enabled=progress):
            chunk = vectors[start : start + step]
            index.add_items(chunk, np.arange(start, start + len(chunk)))
        return cls(index, vectors, config)

    # Queries -----------------------------------------------------------------------------

    def query(
        self,
        vectors: np.ndarray,
        k: int,
        allowed: np.ndarray | None = None,
        threads: int = 1,
    ) -> list[Neighbours]:
        """k nearest rows per query vector, restricted to `allowed` (a boolean mask) if given.

        Filters that remove many rows still yield k results: the graph walk is widened, and when
        it cannot deliver (or the allowed set is tiny) the allowed subset is scanned exactly.
        `threads` is hnswlib's: one by default, since a server already runs requests side by side (each
        call would otherwise start a thread per core); -1 (every core) suits batch jobs.
        """
        vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        if k <= 0:
            return [Neighbours(np.empty(0, np.int64), np.empty(0, np.float32)) for _ in vectors]
        n_allowed = self.size if allowed is None else int(np.count_nonzero(allowed))
        k = min(k, n_allowed)
        if k == 0:
            return [Neighbours(np.empty(0, np.int64), np.empty(0, np.float32)) for _ in vectors]
        if allowed is not None and n_allowed < EXACT_SUBSET_SHARE * self.size:
            return self.exact(vectors, k, allowed)
        if allowed is None:
            labels, dists = self._index.knn_query(vectors, k=k, num_threads=threads)
            return [Neighbours(lab.astype(np.int64), d) for lab, d in zip(labels, dists, strict=True)]
        # bytes.__getitem__ answers 0/1 in C: the same filter as `bool(allowed[label])` without a Python
        # frame and a numpy scalar per visited node (~15% of a filtered query).
        keep: Callable[[int], int] = np.ascontiguousarray(allowed, dtype=bool).tobytes().__getitem__
        # Asking for more than k widens the beam (hnswlib searches with max(ef, k)) without
        # touching the shared ef setting that concurrent queries rely on.
        wide = int(min(n_allowed, max(k, min(MAX_WIDE, k * self.size // max(n_allowed, 1)))))
        try:
            labels, dists = self._index.knn_query(vectors, k=wide, filter=keep, num_threads=threads)
        except RuntimeError:  # fewer than `wide` reachable through the filter
            return self.exact(vectors, k, allowed)
        return [Neighbours(lab[:k].astype(np.int64), d[:k]) for lab, d in zip(labels, dists, strict=True)]

    def exact(self, vectors: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[Neighbours]:
        """Brute force over the (allowed) rows: the ground truth for recall, and the fallback."""
        vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        rows = np.arange(self.size) if allowed is None else np.flatnonzero(allowed)
        base = self.vectors[rows]
        dists = distances(vectors, base, self.config.space)
        k = min(k, len(rows))
        out = []
        for d in dists:
            top = np.argpartition(d, k - 1)[:k] if k < len(d) else np.arange(len(d))
            top = top[np.argsort(d[top], kind="stable")]
            out.append(Neighbours(rows[top].astype(np.int64), d[top].astype(np.float32)))
        return out

    def with_ef(self, ef: int) -> TrackIndex:
        """The same graph searched with a wider beam (only before it serves: the beam is shared)."""
        return TrackIndex(self._index, self.vectors, replace(self.config, ef=ef))

    def recall_at(self, k: int = 10, sample: int = 1000, seed: int = 0) -> float:
        """Share of the exact k nearest neighbours the graph finds, on a sample of catalogue rows."""
        rng = np.random.default_rng(seed)
        rows = rng.choice(self.size, size=min(sample, self.size), replace=False)
        queries = self.vectors[rows]
        k = min(k, self.size)
        approx = self.query(queries, k, threads=-1)
        truth = self.exact(queries, k)
        hits = 0
        for a, t in zip(approx, truth, strict=True):
            # Ties at the boundary distance are equally correct answers; the tolerance is relative
            # because hnswlib and the exact scan round float32 distances differently at large scales.
            cutoff = t.distances[-1] * (1 + 1e-5) + 1e-6
            hits += min(k, int((a.distances <= cutoff).sum()))
        return hits / (k * len(rows))

    # Persistence -------------------------------------------------------------------------

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._index.save_index(str(directory / "index.bin"))
        np.save(directory / "embeddings.npy", self.vectors)
        (directory / "index.json").write_text(json.dumps(asdict(self.config)))

    @classmethod
    def load(cls, directory: Path) -> TrackIndex:
        config = IndexConfig(**json.loads((directory / "index.json").read_text()))
        vectors = np.load(directory / "embeddings.npy")
        index = hnswlib.Index(space=config.space, dim=vectors.shape[1])
        index.load_index(str(directory / "index.bin"), max_elements=vectors.shape[0])
        if index.get_current_count() != vectors.shape[0]:
            raise ValueError(f"index in {directory} does not match its embeddings")
        return cls(index, vectors, config)
