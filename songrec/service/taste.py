"""A listener's taste in embedding space: clusters of likes, cold-start picks and exploration at its edge.

Likes are clustered (k ~ sqrt(likes)) and each cluster is queried through a few of its own liked
tracks, with suggestions shared between clusters in proportion to their size: someone who likes
both 1960s country and 2010s rap gets some of each, never the average of the two (which is neither).

Exploration starts from the same likes: a few of them (a different few each answer), their wider
neighbourhood less everything already rated or offered, scored by how far a song is from all of that
(novelty), how much it shares the listener's genres, and a shuffle; one song per artist. A global hit far
from the taste (a rap anthem for a classical-piano listener) is never in that neighbourhood.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import cast

import numpy as np

from songrec.content.engine import Engine


@dataclass(frozen=True)
class TasteCluster:
    anchors: tuple[int, ...]  # liked rows nearest the cluster centre, queried one by one
    members: tuple[int, ...]  # every liked row in the cluster

    @property
    def size(self) -> int:
        return len(self.members)


#: Taste clusterings kept per engine: a listener's likes change far less often than they ask.
CLUSTER_MEMO_SIZE = 4096


def cluster_likes(
    engine: Engine, liked: np.ndarray, max_clusters: int, anchors_per_cluster: int
) -> list[TasteCluster]:
    """k-means (k-means++ start, fixed seed: the same likes give the same clusters) over liked rows.

    Deterministic, so the answer for the same likes in the same order is kept on the engine (a new
    artifact starts afresh); a like or an undo changes the key."""
    liked = np.asarray(liked, dtype=np.int64)
    if len(liked) == 0:
        return []
    key = ("clusters", tuple(liked.tolist()), max_clusters, anchors_per_cluster)
    memo = engine.memo
    found = memo.get(key)
    if found is None:
        found = _cluster(engine, liked, max_clusters, anchors_per_cluster)
        if len(memo) >= CLUSTER_MEMO_SIZE:
            memo.clear()  # bounded; refilled by the next requests
        memo[key] = found
    return list(cast("tuple[TasteCluster, ...]", found))  # only clusterings are kept under this key


def _cluster(
    engine: Engine, liked: np.ndarray, max_clusters: int, anchors_per_cluster: int
) -> tuple[TasteCluster, ...]:
    vectors = engine.embeddings[liked].astype(np.float64)
    k = max(1, min(max_clusters, len(liked), round(math.sqrt(len(liked)))))
    labels = kmeans(vectors, k)
    clusters = []
    for label in np.unique(labels):
        idx = np.flatnonzero(labels == label)
        centre = vectors[idx].mean(axis=0)
        order = idx[np.argsort(((vectors[idx] - centre) ** 2).sum(axis=1), kind="stable")]
        clusters.append(
            TasteCluster(
                anchors=tuple(int(liked[i]) for i in order[:anchors_per_cluster]),
                members=tuple(int(liked[i]) for i in idx),
            )
        )
    clusters.sort(key=lambda c: (-c.size, c.anchors[0]))
    return tuple(clusters)


def kmeans(x: np.ndarray, k: int, iterations: int = 30, seed: int = 0) -> np.ndarray:
    """Plain Lloyd's k-means with a k-means++ start; returns a label per row."""
    n = len(x)
    if k <= 1 or n <= 1:
        return np.zeros(n, dtype=np.int64)
    rng = np.random.default_rng(seed)
    centres = [x[int(rng.integers(n))]]
    for _ in range(1, k):
        d = np.min([((x - c) ** 2).sum(axis=1) for c in centres], axis=0)
        total = d.sum()
        if total <= 0:
            break
        centres.append(x[int(rng.choice(n, p=d / total))])
    c = np.asarray(centres)
    labels = np.zeros(n, dtype=np.int64)
    for _ in range(iterations):
        d = ((x[:, None, :] - c[None, :, :]) ** 2).sum(axis=2)
        new = d.argmin(axis=1)
        if np.array_equal(new, labels) and _ > 0:
            break
        labels = new
        for j in range(len(c)):
            if np.any(labels == j):
                c[j] = x[labels == j].mean(axis=0)
    return labels


def proportional_quotas(sizes: list[int], total: int) -> list[int]:
    """Split `total` picks across groups in proportion to their sizes (largest remainder)."""
    if not sizes or total <= 0:
        return [0] * len(sizes)
    weight = sum(sizes)
    exact = [total * s / weight for s in sizes]
    quotas = [int(e) for e in exact]
    order = sorted(range(len(sizes)), key=lambda i: (-(exact[i] - quotas[i]), -sizes[i], i))
    for i in order[: total - sum(quotas)]:
        quotas[i] += 1
    return quotas


#: How many candidates a filtered cold start looks at when the strata leave too few.
COLD_FALLBACK = 60


def cold_start_candidates(engine: Engine, allowed: np.ndarray | None, banned_keys: set[str]) -> np.ndarray:
    """Popular tracks of every genre x decade stratum that the user may still be offered.

    A filter can leave the strata empty (a popularity cap below every stratum's hits): then the most
    popular tracks the filter allows stand in, so "something obscure" still gets an answer.
    """
    pool = engine.cold_pool
    if allowed is not None:
        pool = pool[allowed[pool]]
    keys = engine.keys
    out = [r for r in pool if str(keys[r]) not in banned_keys]
    if allowed is not None and len(out) < COLD_FALLBACK:
        rows = np.flatnonzero(allowed)
        seen = set(out)
        for r in rows[np.argsort(-engine.popularity[rows], kind="stable")]:
            if len(out) >= COLD_FALLBACK:
                break
            if int(r) not in seen and str(keys[r]) not in banned_keys:
                out.append(int(r))
    return np.asarray(out, dtype=np.int64)


def pick_diverse(
    engine: Engine,
    pool: np.ndarray,
    n: int,
    base: np.ndarray,
    rng: np.random.Generator,
    banned_keys: set[str],
    novelty_bonus: float = 0.5,
    jitter: float = 0.3,
) -> list[tuple[int, dict[str, float]]]:
    """Greedy picks over `pool`: base score, a bonus for a genre and a decade not picked yet, a shuffle.

    Returns rows with the score parts that chose them ("diversity" is the bonus, "shuffle" the noise).
    """
    out: list[tuple[int, dict[str, float]]] = []
    if len(pool) == 0 or n <= 0:
        return out
    noise = rng.random(len(pool)) * jitter
    alive = np.ones(len(pool), dtype=bool)
    keys = engine.keys
    taken = set(banned_keys)
    genre_names, genre_code = np.unique(engine.genre[pool].astype(str), return_inverse=True)
    decade_names, decade_code = np.unique(engine.decade[pool], return_inverse=True)
    known_genre = genre_names[genre_code] != ""
    known_decade = decade_names[decade_code] >= 0
    used_genre = np.zeros(len(genre_names), dtype=bool)
    used_decade = np.zeros(len(decade_names), dtype=bool)
    while len(out) < n and alive.any():
        fresh = (known_genre & ~used_genre[genre_code]).astype(float)
        fresh += (known_decade & ~used_decade[decade_code]).astype(float)
        bonus = novelty_bonus * fresh
        total = np.where(alive, base + bonus + noise, -np.inf)
        i = int(np.argmax(total))
        alive[i] = False
        row = int(pool[i])
        key = str(keys[row])
        if key in taken:
            continue
        taken.add(key)
        used_genre[genre_code[i]] |= known_genre[i]
        used_decade[decade_code[i]] |= known_decade[i]
        out.append((row, {"diversity": float(bonus[i]), "shuffle": float(noise[i])}))
    return out


#: Explore looks this far around each like it starts from: past what the main picks took, but still the
#: neighbourhood of something the listener chose (a global hit is not "near what you like").
EDGE_NEIGHBOURS = 60
#: How many likes (or seeds) one answer explores from: a different few each time, so explore walks the
#: whole edge of a taste over a few answers instead of one corner of it.
EDGE_ANCHORS = 6
#: How much sharing the listener's genres counts at the edge (novelty is in [0, 1)).
GENRE_FIT_WEIGHT = 0.5


@dataclass(frozen=True)
class EdgeCandidates:
    """Tracks at the edge of a taste, ascending by row, with where each was found and how new it is."""

    rows: np.ndarray
    anchor: np.ndarray  # per row: the nearest of the anchors explored from
    novelty_distance: np.ndarray  # per row: squared distance to the nearest rated or offered row
    #: Per row: squared distance to the nearest disliked row (inf without dislikes).
    dislike_distance: np.ndarray

    def __len__(self) -> int:
        return len(self.rows)

    def keep(self, mask: np.ndarray) -> EdgeCandidates:
        return EdgeCandidates(
            self.rows[mask], self.anchor[mask], self.novelty_distance[mask], self.dislike_distance[mask]
        )


def edge_candidates(
    engine: Engine,
    allowed: np.ndarray | None,
    anchors: np.ndarray,
    near: np.ndarray,
    taken: set[str],
    rng: np.random.Generator,
    want: int,
    per_anchor: int = EDGE_NEIGHBOURS,
    count: int = EDGE_ANCHORS,
    disliked: np.ndarray | None = None,
) -> EdgeCandidates:
    """The neighbourhood of a few of the anchors (the listener's likes or seeds; a sample of `count`),
    less every song already rated or offered (`taken`), popular enough to be worth a try when that
    still leaves `want` of them. `near` (everything rated or offered) is what novelty is measured from;
    the distance to the nearest of `disliked` comes from the same distance table.
    """
    anchors = np.unique(np.asarray(anchors, dtype=np.int64))
    if len(anchors) == 0 or want <= 0:
        return _NO_EDGE
    if len(anchors) > count:
        anchors = np.sort(rng.choice(anchors, size=count, replace=False))
    rows = _around(engine, anchors, per_anchor, None)
    if allowed is not None:
        # An unfiltered graph walk is several times cheaper than a filtered one; the filtered walk runs
        # only when the filters leave too few of the plain neighbours.
        rows = rows[allowed[rows]]
        if len(rows) < per_anchor:
            rows = _around(engine, anchors, per_anchor, allowed)
    keys = engine.key_list
    rows = rows[np.asarray([keys[r] not in taken for r in rows.tolist()], dtype=bool)]
    if len(engine.explore_pool):  # not obscure noise, unless the filters leave nothing else
        popular = engine.popularity[rows] >= engine.explore_floor
        if int(popular.sum()) >= want:
            rows = rows[popular]
    if len(rows) == 0:
        return _NO_EDGE
    # One distance table: novelty is measured from everything rated or offered, and the anchor each row
    # was found beside is the nearest of the sampled anchors (columns of the same table).
    hated = np.empty(0, np.int64) if disliked is None else np.asarray(disliked, dtype=np.int64)
    columns = np.unique(np.concatenate([near, anchors, hated]).astype(np.int64))
    table = engine.pairwise(rows, columns)
    own = np.searchsorted(columns, anchors)
    nearest = own[table[:, own].argmin(axis=1)]
    novelty = (
        table[:, np.searchsorted(columns, near)].min(axis=1) if len(near) else np.full(len(rows), np.inf)
    )
    dislike = (
        table[:, np.searchsorted(columns, hated)].min(axis=1) if len(hated) else np.full(len(rows), np.inf)
    )
    return EdgeCandidates(rows, columns[nearest], novelty, dislike)


def genre_fit(
    engine: Engine, rows: np.ndarray, anchors: np.ndarray, weight: float = GENRE_FIT_WEIGHT
) -> np.ndarray:
    """Per row: `weight` x the share of the anchors (labelled ones) whose genre it shares, in the words a
    reason uses (Engine.reason_genre): at the edge of a taste, a step that stays in the listener's genres
    is preferred over one that leaves them."""
    labels = engine.reason_genre
    known = [str(g) for g in labels[np.asarray(anchors, dtype=np.int64)].tolist() if g]
    if not known or len(rows) == 0:
        return np.zeros(len(rows))
    share = {g: n / len(known) for g, n in Counter(known).items()}
    return weight * np.asarray([share.get(str(g), 0.0) for g in labels[rows].tolist()], dtype=np.float64)


def _around(engine: Engine, anchors: np.ndarray, k: int, allowed: np.ndarray | None) -> np.ndarray:
    """The k nearest rows of each anchor (within `allowed`), merged, ascending."""
    hits = engine.index.neighbours_of(anchors, k, allowed)
    return np.unique(np.concatenate([h.rows for h in hits]).astype(np.int64))


_NO_EDGE = EdgeCandidates(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0), np.empty(0))


def pick_edge(
    engine: Engine,
    pool: np.ndarray,
    n: int,
    base: np.ndarray,
    rng: np.random.Generator,
    banned_keys: set[str],
    known_artists: set[str],
    artist_bonus: float = 0.2,
    jitter: float = 0.2,
) -> list[tuple[int, dict[str, float]]]:
    """Greedy picks over `pool`: base score, a bonus for an artist the listener has not met yet, a shuffle;
    one song per artist. Returns rows with the parts that chose them ("diversity", "shuffle")."""
    out: list[tuple[int, dict[str, float]]] = []
    if len(pool) == 0 or n <= 0:
        return out
    noise = rng.random(len(pool)) * jitter
    artist_list = engine.artist_list
    artists = [artist_list[r] for r in pool.tolist()]
    bonus = np.asarray([0.0 if a in known_artists else artist_bonus for a in artists])
    total = base + bonus + noise
    keys = engine.key_list
    taken, used = set(banned_keys), set()
    for i in np.argsort(-total, kind="stable").tolist():
        row, artist = int(pool[i]), artists[i]
        if keys[row] in taken or (artist and artist in used):
            continue
        taken.add(keys[row])
        used.add(artist)
        out.append((row, {"diversity": float(bonus[i]), "shuffle": float(noise[i])}))
        if len(out) == n:
            break
    return out
