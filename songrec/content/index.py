"""hnswlib over track embeddings: build, save, load and filtered k-NN with an exact fallback.

The index is never mutated once built: a new catalogue or model builds a new index, which is
swapped in whole, so concurrent queries never see a half-built graph.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import hnswlib
import numpy as np

from songrec.content.neighbour_table import BUILD_CHUNK, NeighbourTable
from songrec.ops.progress import progress_bar

#: Below this share of allowed items a filtered graph walk wastes work: scan the subset instead.
EXACT_SUBSET_SHARE = 0.02
#: The widest walk a filtered query makes before falling back to an exact scan of the allowed rows.
MAX_WIDE = 2000


def distances(queries: np.ndarray, base: np.ndarray, space: str = "l2") -> np.ndarray:
    """Every query's distance to every base vector, as hnswlib reports it for `space` (the one distance
    function: the exact scan, the service's scores and reasons all use it; Engine.pairwise computes the
    same terms for catalogue rows, their squared lengths summed once).

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
    def __init__(
        self,
        index: hnswlib.Index,
        vectors: np.ndarray,
        config: IndexConfig,
        table: NeighbourTable | None = None,
    ) -> None:
        self._index = index
        self.vectors = vectors
        self.config = config
        self._index.set_ef(config.ef)
        #: Every row's live-query answer at this beam width (songrec.content.neighbour_table), when saved.
        self.table = table

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
        # Plain walks, widened until enough of what they find is allowed: hnswlib's own filter calls back
        # into Python for every node it visits, holding the GIL each time, so filtered walks in several
        # threads at once run slower than one thread alone (measured: 1,331 q/s in one thread, 544 in
        # eight); plain walks release the GIL for their whole length.
        # A walk of k + (rows left out) always finds k allowed: the cheapest sure first walk when a request
        # only leaves out what the listener rated or was offered. A filter that leaves out more (a
        # popularity cap) starts from the width expected to hold k allowed, with a margin.
        expected = int(min(n_allowed, max(k, min(MAX_WIDE, k * self.size // max(n_allowed, 1)))))
        wide = min(k + (self.size - n_allowed), max(expected + expected // 4, k), self.size)
        out: list[Neighbours | None] = [None] * len(vectors)
        todo = np.arange(len(vectors))
        while len(todo):
            try:
                labels, dists = self._index.knn_query(vectors[todo], k=wide, num_threads=threads)
            except RuntimeError:  # the graph could not return `wide` rows (a tiny index): scan exactly
                for i, hit in zip(todo.tolist(), self.exact(vectors[todo], k, allowed), strict=True):
                    out[i] = hit
                break
            passing = allowed[labels]
            enough = passing.sum(axis=1) >= k
            for j in np.flatnonzero(enough).tolist():
                keep = np.flatnonzero(passing[j])[:k]
                out[int(todo[j])] = Neighbours(labels[j, keep].astype(np.int64), dists[j, keep])
            todo = todo[~enough]
            if len(todo) and wide >= min(MAX_WIDE, self.size):
                for i, hit in zip(todo.tolist(), self.exact(vectors[todo], k, allowed), strict=True):
                    out[i] = hit
                break
            wide = min(wide * 2, MAX_WIDE, self.size)
        return out  # type: ignore[return-value]  # every query was answered above

    def neighbours_of(
        self, rows: np.ndarray | list[int], k: int, allowed: np.ndarray | None = None
    ) -> list[Neighbours]:
        """`query` for catalogue rows (each row's own vector): answered from the neighbour table where it
        can be, by a graph walk (one thread) for the rows it cannot answer."""
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        table = self.table
        tiny = allowed is not None and np.count_nonzero(allowed) < EXACT_SUBSET_SHARE * self.size
        if table is None or k <= 0 or len(rows) == 0 or tiny:
            return self.query(self.vectors[rows], k, allowed)
        # A k wider than the table or than what is allowed finds too few entries: `query` answers those.
        out: list[Neighbours | None] = [
            None if found is None else Neighbours(*found) for found in table.lookup(rows, k, allowed)
        ]
        missing = [i for i, hit in enumerate(out) if hit is None]
        if missing:
            for i, hit in zip(missing, self.query(self.vectors[rows[missing]], k, allowed), strict=True):
                out[i] = hit
        return out  # type: ignore[return-value]  # every None was filled above

    def neighbours_near(
        self, rows: np.ndarray | list[int], k: int, allowed: np.ndarray | None = None
    ) -> tuple[list[Neighbours], float]:
        """What the neighbour table alone knows of `neighbours_of`, and how far it knows it: each row's
        list is its `neighbours_of` answer for every neighbour nearer than the distance returned (+inf:
        the whole answer). A caller that needs only the nearest few walks the graph only when it must
        look past that distance."""
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        table = self.table
        tiny = allowed is not None and np.count_nonzero(allowed) < EXACT_SUBSET_SHARE * self.size
        if table is None or k <= 0 or len(rows) == 0 or tiny:
            return self.neighbours_of(rows, k, allowed), math.inf
        pairs, cutoff = table.prefix(rows, k, allowed)
        return [Neighbours(found, near) for found, near in pairs], cutoff

    def build_table(self, progress: bool = False) -> NeighbourTable:
        """Every row's nearest `ef` (the live-query answer at this beam), on every core: a few seconds
        per 100k rows at training time instead of a graph walk per anchor on every request."""
        width = min(self.config.ef, self.size)
        rows = np.empty((self.size, width), dtype=np.int32)
        dists = np.empty((self.size, width), dtype=np.float32)
        starts = range(0, self.size, BUILD_CHUNK)
        for start in progress_bar(starts, desc="neighbour table", unit="16k rows", enabled=progress):
            stop = min(start + BUILD_CHUNK, self.size)
            labels, found = self._index.knn_query(self.vectors[start:stop], k=width, num_threads=-1)
            rows[start:stop] = labels
            dists[start:stop] = found
        self.table = NeighbourTable(rows, dists)
        return self.table

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

    def save(self, directory: Path, progress: bool = False) -> None:
        """The graph, its vectors, its settings and the neighbour table (built here when not yet)."""
        directory.mkdir(parents=True, exist_ok=True)
        self._index.save_index(str(directory / "index.bin"))
        np.save(directory / "embeddings.npy", self.vectors)
        (directory / "index.json").write_text(json.dumps(asdict(self.config)))
        (self.table or self.build_table(progress)).save(directory)

    @classmethod
    def load(cls, directory: Path) -> TrackIndex:
        config = IndexConfig(**json.loads((directory / "index.json").read_text()))
        vectors = np.load(directory / "embeddings.npy")
        index = hnswlib.Index(space=config.space, dim=vectors.shape[1])
        index.load_index(str(directory / "index.bin"), max_elements=vectors.shape[0])
        if index.get_current_count() != vectors.shape[0]:
            raise ValueError(f"index in {directory} does not match its embeddings")
        return cls(index, vectors, config, NeighbourTable.load(directory, vectors.shape[0], config.ef))
