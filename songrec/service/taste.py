"""A listener's taste in embedding space: clusters of likes, cold-start picks and exploration.

Likes are clustered (k ~ sqrt(likes)) and each cluster is queried through a few of its own liked
tracks, with suggestions shared between clusters in proportion to their size: someone who likes
both 1960s country and 2010s rap gets some of each, never the average of the two (which is neither).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from songrec.content.engine import Engine


@dataclass(frozen=True)
class TasteCluster:
    anchors: tuple[int, ...]  # liked rows nearest the cluster centre, queried one by one
    members: tuple[int, ...]  # every liked row in the cluster

    @property
    def size(self) -> int:
        return len(self.members)


def cluster_likes(
    engine: Engine, liked: np.ndarray, max_clusters: int, anchors_per_cluster: int
) -> list[TasteCluster]:
    """k-means (k-means++ start, fixed seed: the same likes give the same clusters) over liked rows."""
    liked = np.asarray(liked, dtype=np.int64)
    if len(liked) == 0:
        return []
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
    return clusters


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


def far_candidates(
    engine: Engine,
    allowed: np.ndarray | None,
    anchors: np.ndarray,
    rng: np.random.Generator,
    sample: int = 2000,
    keep_share: float = 0.25,
) -> tuple[np.ndarray, np.ndarray]:
    """A random sample of reasonably popular tracks, reduced to the share farthest from the anchors.

    Returns the rows and their distances to the nearest anchor.
    """
    pool = engine.explore_pool
    if allowed is not None:
        pool = pool[allowed[pool]]
    if len(pool) == 0:
        return np.empty(0, np.int64), np.empty(0)
    if len(pool) > sample:
        pool = rng.choice(pool, size=sample, replace=False)
    if len(anchors) == 0:
        return pool, np.full(len(pool), np.inf)
    dist = engine.min_distance(pool, anchors)
    keep = max(1, int(len(pool) * keep_share))
    order = np.argsort(-dist, kind="stable")[:keep]
    return pool[order], dist[order]
