"""A playlist that flows: songs near the seed, in an order where each one follows the last smoothly.

A ranked list is not a playlist: "Gasolina" gave eight Daddy Yankee songs of fifteen, and neighbours in a
ranking can jump from 90 to 170 BPM. Here the songs are chained greedily from the seed (each next song
the best mix of close-to-the-seed and close-to-the-previous-song in tempo, energy, key and the
embedding), then the order is smoothed with 2-opt moves (reverse a stretch when that shortens the path).
Every order obeys the artist rule: never the same artist twice in a row, and at most PER_WINDOW songs by
one artist in any WINDOW consecutive songs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from songrec.catalog.schema import NUMERIC_FEATURES
from songrec.domain import Filters

if TYPE_CHECKING:
    from songrec.content.engine import Engine

WINDOW = 10
PER_WINDOW = 2
#: How much following the previous song smoothly counts against staying near the seed (0..1).
FLOW_WEIGHT = 0.5
#: Weights of the parts of a step's cost: the embedding, tempo, energy and key.
STEP_WEIGHTS = {"embedding": 1.0, "tempo": 0.6, "energy": 0.6, "key": 0.4}
#: Score taken off a song per song by its artist already in the playlist: new artists come first.
REPEAT_PENALTY = 0.15
#: 2-opt passes over the chain at most (each is O(n^2) cheap checks).
SMOOTHING_PASSES = 3


def artist_rule_holds(artists: Sequence[str], window: int = WINDOW, per_window: int = PER_WINDOW) -> bool:
    """No artist twice in a row, and at most `per_window` of one artist in any `window` consecutive songs
    ("" is an unknown artist, never counted)."""
    last: dict[str, list[int]] = {}
    for i, artist in enumerate(artists):
        if not artist:
            continue
        seen = last.setdefault(artist, [])
        if seen and i - seen[-1] < 2:
            return False
        if len(seen) >= per_window and i - seen[-per_window] < window:
            return False
        seen.append(i)
    return True


def _fits(artists: Sequence[str], artist: str, window: int = WINDOW, per_window: int = PER_WINDOW) -> bool:
    """Whether `artist` may come next after `artists` under the artist rule."""
    if not artist:
        return True
    recent = artists[-(window - 1) :]
    return (not artists or artists[-1] != artist) and sum(a == artist for a in recent) < per_window


def camelot_distance(key_a: float, mode_a: float, key_b: np.ndarray, mode_b: np.ndarray) -> np.ndarray:
    """Steps between keys on the circle of fifths (relative major and minor share a step, plus half a
    step for the change of mode), scaled to 0..1; 0.5 where a key is unknown."""
    pos_a = _fifths(key_a, mode_a)
    pos_b = _fifths(key_b, mode_b)
    gap = np.abs(pos_a - pos_b)
    steps = np.minimum(gap, 12 - gap) + 0.5 * (np.asarray(mode_b) != mode_a)
    out = steps / 6.5
    unknown = ~np.isfinite(pos_b) | (not np.isfinite(pos_a))
    return np.where(unknown, 0.5, out)


def _fifths(key: float | np.ndarray, mode: float | np.ndarray) -> np.ndarray:
    """Position on the circle of fifths of a pitch class (0 = C) in a mode (1 major, 0 minor)."""
    key = np.asarray(key, dtype=np.float64)
    major = np.where(np.asarray(mode, dtype=np.float64) >= 0.5, key, (key + 3) % 12)
    return (major * 7) % 12


class _Steps:
    """The cost of going from one pool song to others: what the chain and the smoothing minimise."""

    def __init__(self, engine: Engine, rows: np.ndarray) -> None:
        self.vectors = engine.embeddings[rows].astype(np.float64)
        self.d_ref = engine.d_ref
        names = list(NUMERIC_FEATURES)
        scaled = np.asarray(engine.scaled[rows], dtype=np.float64)
        spread = np.asarray(engine.spread, dtype=np.float64)
        self.tempo = scaled[:, names.index("tempo")] / spread[names.index("tempo")]
        self.energy = scaled[:, names.index("energy")] / spread[names.index("energy")]
        self.key, self.mode = _keys(engine, rows)

    def from_one(self, i: int, to: np.ndarray | None = None) -> np.ndarray:
        idx = np.arange(len(self.vectors)) if to is None else to
        w = STEP_WEIGHTS
        emb = ((self.vectors[idx] - self.vectors[i]) ** 2).sum(axis=1) / self.d_ref
        cost = w["embedding"] * emb
        cost += w["tempo"] * np.abs(self.tempo[idx] - self.tempo[i])
        cost += w["energy"] * np.abs(self.energy[idx] - self.energy[i])
        cost += w["key"] * camelot_distance(self.key[i], self.mode[i], self.key[idx], self.mode[idx])
        return cost

    def pair(self, i: int, j: int) -> float:
        return float(self.from_one(i, np.asarray([j]))[0])


def path_cost(engine: Engine, rows: Sequence[int]) -> float:
    """The summed step cost along a playlist in this order (what the smoothing shortens)."""
    if len(rows) < 2:
        return 0.0
    steps = _Steps(engine, np.asarray(rows, dtype=np.int64))
    return sum(steps.pair(i, i + 1) for i in range(len(rows) - 1))


def _keys(engine: Engine, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Key (pitch class) and mode per row from the catalogue; NaN where the catalogue lacks them."""
    catalog = engine.catalog
    if "key" not in catalog or "mode" not in catalog:
        nan = np.full(len(rows), np.nan)
        return nan, nan
    key = catalog["key"].to_numpy(dtype=np.float64, na_value=np.nan)[rows]
    mode = catalog["mode"].to_numpy(dtype=np.float64, na_value=np.nan)[rows]
    key = np.where((key >= 0) & (key <= 11), key, np.nan)
    return key, mode


def flowing_playlist(
    engine: Engine,
    anchors: Sequence[int],
    length: int,
    filters: Filters | None = None,
    *,
    start: int | None = None,
    exclude: set[int] | None = None,
) -> list[int]:
    """`length` rows near the anchors (songs, or an artist's representative songs) in an order that
    flows; `start` (a seed song) opens it; rows in `exclude` never appear."""
    anchors = [int(a) for a in anchors]
    if not anchors or length <= 0:
        return []
    cap = PER_WINDOW * math.ceil(length / WINDOW)  # the most the artist rule lets one artist have
    banned = set(exclude or ()) | set(anchors)
    found = engine.similar(anchors, max(length * 10, 120), filters, banned, max_per_artist=cap)
    rows = [int(start)] if start is not None else []
    rows += [c.row for c in found if c.row != start]
    if not rows:
        return []
    pool = np.asarray(rows, dtype=np.int64)
    relevance = engine.closeness(engine.min_distance(pool, np.asarray(anchors, dtype=np.int64)))
    artists = [engine.artist_list[r] for r in pool.tolist()]
    steps = _Steps(engine, pool)
    order = _chain(relevance, artists, steps, length, fixed_start=start is not None)
    order = _smooth(order, artists, steps)
    return [int(pool[i]) for i in order]


def _chain(
    relevance: np.ndarray, artists: list[str], steps: _Steps, length: int, *, fixed_start: bool
) -> list[int]:
    """Greedy: from the start (or the most relevant song), each next song the best blend of near the seed
    and a small step from the last one, among those the artist rule allows."""
    alive = np.ones(len(relevance), dtype=bool)
    by_artist: dict[str, list[int]] = {}
    for i, artist in enumerate(artists):
        by_artist.setdefault(artist, []).append(i)
    played = np.zeros(len(relevance))  # per song: how many songs by its artist the chain already holds
    first = 0 if fixed_start else int(np.argmax(relevance))
    order, chosen_artists = [first], [artists[first]]
    alive[first] = False
    if artists[first]:
        played[by_artist[artists[first]]] += 1
    while len(order) < length and alive.any():
        ease = np.exp(-steps.from_one(order[-1]))  # 1 for no change at all
        score = (1 - FLOW_WEIGHT) * relevance + FLOW_WEIGHT * ease - REPEAT_PENALTY * played
        score[~alive] = -np.inf
        for i in np.argsort(-score, kind="stable").tolist():
            if not np.isfinite(score[i]):
                return order
            if _fits(chosen_artists, artists[i]):
                order.append(i)
                chosen_artists.append(artists[i])
                alive[i] = False
                if artists[i]:
                    played[by_artist[artists[i]]] += 1
                break
        else:
            break
    return order


def _smooth(order: list[int], artists: list[str], steps: _Steps) -> list[int]:
    """2-opt: reverse order[i..j] whenever that shortens the path and keeps the artist rule."""
    n = len(order)
    if n < 4:
        return order
    # cost[a, b]: the step between the songs the chain put at positions a and b; seq: the new order of
    # those positions (a fixed start stays first: i starts at 1, so position 0 never moves).
    cost = np.vstack([steps.from_one(i, np.asarray(order)) for i in order])
    seq = list(range(n))
    for _ in range(SMOOTHING_PASSES):
        improved = False
        for i in range(1, n - 1):
            for j in range(i + 1, n):
                a, b = seq[i - 1], seq[i]
                c = seq[j]
                d = seq[j + 1] if j + 1 < n else None
                before = cost[a, b] + (cost[c, d] if d is not None else 0.0)
                after = cost[a, c] + (cost[b, d] if d is not None else 0.0)
                if after + 1e-12 < before:
                    candidate = seq[:i] + seq[i : j + 1][::-1] + seq[j + 1 :]
                    if artist_rule_holds([artists[order[k]] for k in candidate]):
                        seq = candidate
                        improved = True
        if not improved:
            break
    return [order[k] for k in seq]
