"""Every track's nearest neighbours, found once when the index is saved and memory-mapped when it serves.

Nearly every query the service makes starts from a catalogue track (a seed, a like, a taste-cluster
anchor), so its graph walk can be done at training time. The table holds, per row, the `ef` nearest rows
and their distances as hnswlib's own search returns them at the index's beam width. hnswlib searches with
a beam of max(ef, k), so for any k <= ef an unfiltered live query of a row returns exactly the first k
entries of its table row: the table answers such queries with the same rows and distances, without a walk.

A filtered query (rated or recently offered tracks left out, a popularity cap) is answered from the
table when at least k of the row's entries pass the filter: the k nearest allowed tracks among its ef
nearest overall. When fewer pass, the caller walks the graph as before.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

ROWS_FILE = "neighbours.rows.npy"
DISTANCES_FILE = "neighbours.distances.npy"
#: Rows searched per hnswlib call while the table is built (bounds the temporary result arrays).
BUILD_CHUNK = 16_384


@dataclass(frozen=True)
class NeighbourTable:
    rows: np.ndarray  # int32 (n, width): per catalogue row, its nearest rows, nearest first
    distances: np.ndarray  # float32 (n, width): their distances, as hnswlib reports them

    @property
    def width(self) -> int:
        return int(self.rows.shape[1])

    def save(self, directory: Path) -> None:
        np.save(directory / ROWS_FILE, self.rows)
        np.save(directory / DISTANCES_FILE, self.distances)

    @classmethod
    def load(cls, directory: Path, size: int, width: int) -> NeighbourTable | None:
        """The saved table, memory-mapped; None when there is none (an older artifact) or it does not fit
        this index (then every query walks the graph, as before)."""
        rows_path, dist_path = directory / ROWS_FILE, directory / DISTANCES_FILE
        if not rows_path.exists() or not dist_path.exists():
            return None
        try:
            rows = np.load(rows_path, mmap_mode="r")
            dists = np.load(dist_path, mmap_mode="r")
        except (OSError, ValueError) as exc:
            log.warning("neighbour table in %s unreadable (%s): queries walk the graph", directory, exc)
            return None
        expected = (size, min(width, size))
        if rows.shape != expected or dists.shape != expected or rows.dtype != np.int32:
            log.warning("neighbour table in %s does not fit its index: queries walk the graph", directory)
            return None
        # Plain ndarray views of the maps: numpy.memmap's own indexing runs Python code on every access.
        return cls(rows.view(np.ndarray), dists.view(np.ndarray))

    def lookup(
        self, rows: np.ndarray, k: int, allowed: np.ndarray | None
    ) -> list[tuple[np.ndarray, np.ndarray] | None]:
        """Per row: its k nearest (allowed) rows and their distances, or None where the table cannot tell
        (k wider than the table, or too few of the row's entries allowed)."""
        if k > self.width:
            return [None] * len(rows)
        pairs, _ = self.prefix(rows, k, allowed)
        return [pair if len(pair[0]) == k else None for pair in pairs]

    def prefix(
        self, rows: np.ndarray, k: int, allowed: np.ndarray | None
    ) -> tuple[list[tuple[np.ndarray, np.ndarray]], float]:
        """Per row: its nearest allowed rows among its entries, at most k, and the distance below which
        every one of those lists is complete: +inf where each row has its k (what `lookup` gives), else the
        smallest last-entry distance of the rows that came up short. Nearer than that, a short row's list
        holds every allowed row of its neighbourhood; beyond it only a walk can tell."""
        found = self.rows[rows]
        dists = self.distances[rows]
        if allowed is None:
            head, near = found[:, :k].astype(np.int64), dists[:, :k]
            pairs = [(head[i], near[i]) for i in range(len(rows))]
            short = np.full(len(rows), k > self.width)
        else:
            passing = allowed[found]
            keep = passing & (np.cumsum(passing, axis=1) <= k)
            counts = keep.sum(axis=1)
            ends = np.cumsum(counts)[:-1]
            pairs = list(
                zip(np.split(found[keep].astype(np.int64), ends), np.split(dists[keep], ends), strict=True)
            )
            short = counts < k
        cutoff = float(dists[short, -1].min()) if short.any() else math.inf
        return pairs, cutoff
