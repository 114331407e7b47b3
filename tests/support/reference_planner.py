"""The planner as it was before the serving-speed work (issue 13), kept as the slow, obviously-correct
reference the optimised planner must agree with exactly: per-candidate Candidate objects sorted in Python,
the first artist read from the catalogue DataFrame row by row, the allowed mask rebuilt per group, every
similar-listener candidate turned into a Pick, exploration distances from a fresh pairwise table.
Only the pieces that were not touched (clustering, quotas, diverse picks, reasons) are shared.
"""

from __future__ import annotations

import numpy as np

from songrec.content.engine import MAX_SEARCH, Candidate, Engine
from songrec.domain import Filters
from songrec.service import reasons
from songrec.service.config import ServiceConfig
from songrec.service.planner import LIKE_PROB, Pick, RecommendRequest, _Group
from songrec.service.reasons import COUNT_PREFIX, INFO_PREFIXES
from songrec.service.scoring import CandidateScorer, ranker_parts, summed
from songrec.service.taste import cluster_likes, cold_start_candidates, pick_diverse, proportional_quotas

__all__ = ["RecommendRequest", "reference_plan"]


def _first_artist(engine: Engine, row: int) -> str:
    artists = engine.catalog.iloc[row]["artists"]
    return str(artists[0]).casefold() if len(artists) else ""


def _similar(
    self: Engine,
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
        out, overflow = _pick_distinct(self, anchors, want, k, allowed, banned, max_per_artist)
        # A prolific artist can fill the whole neighbourhood: look further before giving way.
        if len(out) >= k or not overflow or want >= MAX_SEARCH:
            return out + overflow[: k - len(out)]
        want = min(want * 4, MAX_SEARCH)


def _pick_distinct(
    self: Engine,
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
        artist = _first_artist(self, cand.row)
        if max_per_artist and per_artist.get(artist, 0) >= max_per_artist:
            overflow.append(cand)
            continue
        per_artist[artist] = per_artist.get(artist, 0) + 1
        out.append(cand)
        if len(out) == k:
            break
    return out, overflow


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
    dist = engine.pairwise(pool, anchors).min(axis=1)
    keep = max(1, int(len(pool) * keep_share))
    order = np.argsort(-dist, kind="stable")[:keep]
    return pool[order], dist[order]


def make_pick(kind: str, row: int, reason: str, parts: dict[str, float]) -> Pick:
    """The score is the sum of the parts, except those that only inform (n_*, info_*)."""
    clean = {name: round(float(value), 6) for name, value in parts.items()}
    score = sum(v for name, v in clean.items() if not name.startswith(INFO_PREFIXES))
    if LIKE_PROB in clean and kind != "cold_start":
        reason = f"{reason}, and your taste model rates it {clean[LIKE_PROB]:.0%}"
    return Pick(int(row), kind, reason, round(score, 6), clean)


def reference_plan(
    engine: Engine, req: RecommendRequest, cfg: ServiceConfig, ranker: CandidateScorer | None
) -> list[Pick]:
    banned_rows = set(req.excluded) | set(req.disliked) | set(req.liked) | set(req.seeds)
    taken = {str(engine.keys[r]) for r in banned_rows}
    allowed = engine.allowed(req.filters, banned_rows)
    rng = np.random.default_rng(req.rng_seed)
    explore_n = max(0, min(req.k, req.explore_n))
    main_n = req.k - explore_n

    su_pool = [
        (row, n, vote)
        for row, n, vote in req.neighbour_likes
        if (allowed is None or allowed[row]) and str(engine.keys[row]) not in taken
    ]
    su_n = min(len(su_pool), max(1, round(main_n * cfg.similar_share))) if su_pool and main_n >= 2 else 0
    main_n -= su_n

    su_picks = _similar_user_picks(engine, req, cfg, ranker, su_pool, su_n, taken)
    if req.seeds:
        groups = [_Group((s,), (s,)) for s in req.seeds]
        main = _neighbour_picks(engine, req, cfg, ranker, groups, main_n, taken, banned_rows, "content")
    elif req.liked:
        liked = np.asarray(req.liked[-cfg.max_taste_likes :], dtype=np.int64)
        clusters = cluster_likes(engine, liked, cfg.max_clusters, cfg.anchors_per_cluster)
        groups = [_Group(c.anchors, c.members) for c in clusters]
        main = _neighbour_picks(engine, req, cfg, ranker, groups, main_n, taken, banned_rows, "taste")
    else:
        main = _cold_start_picks(engine, req, cfg, ranker, main_n, allowed, taken, rng)
    main.sort(key=lambda p: -p.score)
    picked = main + su_picks
    anchors = np.asarray(req.seeds + req.liked or tuple(p.row for p in picked), dtype=np.int64)
    near = np.asarray(sorted(set(req.seeds + req.liked) | {p.row for p in picked}), dtype=np.int64)
    explore = _explore_picks(engine, req, cfg, ranker, explore_n, allowed, near, anchors, taken, rng)
    return picked + explore


def _neighbour_picks(
    engine: Engine,
    req: RecommendRequest,
    cfg: ServiceConfig,
    ranker: CandidateScorer | None,
    groups: list[_Group],
    n: int,
    taken: set[str],
    banned_rows: set[int],
    kind: str,
) -> list[Pick]:
    """Nearest neighbours per group (a seed, or a taste cluster), each group getting its share."""
    if n <= 0 or not groups:
        return []
    for group, quota in zip(groups, proportional_quotas([len(g.members) for g in groups], n), strict=True):
        group.quota = quota
    disliked = np.asarray(req.disliked, dtype=np.int64)
    part = "similarity" if kind == "content" else "taste"
    scored: list[list[tuple[int, int, dict[str, float]]]] = []
    for group in groups:
        if group.quota == 0:
            scored.append([])
            continue
        found = _similar(
            engine,
            list(group.anchors),
            group.quota * 4 + 10,
            req.filters,
            banned_rows,
            taken,
            max_per_artist=engine.MAX_PER_ARTIST,
        )
        rows = np.asarray([c.row for c in found], dtype=np.int64)
        if len(rows) == 0:
            scored.append([])
            continue
        anchor, dist = engine.nearest(rows, np.asarray(group.members, dtype=np.int64))
        parts: dict[str, np.ndarray] = {
            part: engine.closeness(dist),
            "popularity": cfg.popularity_weight * engine.popularity[rows] / 100.0,
        }
        if len(disliked):
            parts["dislike_penalty"] = engine.dislike_penalty(rows, disliked, cfg.dislike_weight)
        parts.update(ranker_parts(ranker, req.user_id, rows))
        # Reasons are written for the chosen few only (below): they cost far more than a score.
        picks = [
            (int(row), int(anchor[i]), {name: float(v[i]) for name, v in parts.items()})
            for i, row in enumerate(rows)
        ]
        scored.append(sorted(picks, key=lambda p: -sum(summed(p[2]))))
    out: list[tuple[int, int, dict[str, float]]] = []
    leftovers: list[tuple[int, int, dict[str, float]]] = []
    for group, picks in zip(groups, scored, strict=True):
        got = 0
        for pick in picks:
            key = str(engine.keys[pick[0]])
            if got < group.quota and key not in taken:
                taken.add(key)
                out.append(pick)
                got += 1
            else:
                leftovers.append(pick)
    for pick in sorted(leftovers, key=lambda p: -sum(summed(p[2]))):  # a group ran dry: others fill in
        if len(out) >= n:
            break
        key = str(engine.keys[pick[0]])
        if key not in taken:
            taken.add(key)
            out.append(pick)
    write = reasons.seed_reason if kind == "content" else reasons.taste_reason
    return [make_pick(kind, row, write(engine, a, row), parts) for row, a, parts in out]


def _similar_user_picks(
    engine: Engine,
    req: RecommendRequest,
    cfg: ServiceConfig,
    ranker: CandidateScorer | None,
    pool: list[tuple[int, int, float]],
    n: int,
    taken: set[str],
) -> list[Pick]:
    if n <= 0 or not pool:
        return []
    rows = np.asarray([row for row, _, _ in pool], dtype=np.int64)
    extra = ranker_parts(ranker, req.user_id, rows)
    picks = []
    for i, (row, listeners, vote) in enumerate(pool):
        parts = {
            "neighbour_vote": vote,
            "popularity": cfg.popularity_weight * engine.popularity[row] / 100.0,
            f"{COUNT_PREFIX}listeners": float(listeners),
            **{name: v[i] for name, v in extra.items()},
        }
        picks.append(make_pick("similar_users", row, reasons.similar_users_reason(listeners), parts))
    picks.sort(key=lambda p: (-p.score, p.row))
    out = []
    for pick in picks:
        key = str(engine.keys[pick.row])
        if key in taken:
            continue
        taken.add(key)
        out.append(pick)
        if len(out) == n:
            break
    return out


def _cold_start_picks(
    engine: Engine,
    req: RecommendRequest,
    cfg: ServiceConfig,
    ranker: CandidateScorer | None,
    n: int,
    allowed: np.ndarray | None,
    taken: set[str],
    rng: np.random.Generator,
) -> list[Pick]:
    """Popular, but spread over genres and decades: a newcomer's first picks teach us the most."""
    pool = cold_start_candidates(engine, allowed, taken)
    if n <= 0 or len(pool) == 0:
        return []
    popularity = engine.popularity[pool] / 100.0
    base_parts: dict[str, np.ndarray] = {"popularity": popularity}
    disliked = np.asarray(req.disliked, dtype=np.int64)
    if len(disliked):
        base_parts["dislike_penalty"] = engine.dislike_penalty(pool, disliked, cfg.dislike_weight)
    base_parts.update(ranker_parts(ranker, req.user_id, pool))
    base = np.sum(summed(base_parts), axis=0)
    index = {int(r): i for i, r in enumerate(pool)}
    out = []
    for row, extra in pick_diverse(engine, pool, n, base, rng, taken):
        i = index[row]
        parts = {name: float(v[i]) for name, v in base_parts.items()} | extra
        out.append(make_pick("cold_start", row, reasons.cold_start_reason(engine, row), parts))
    return out


def _explore_picks(
    engine: Engine,
    req: RecommendRequest,
    cfg: ServiceConfig,
    ranker: CandidateScorer | None,
    n: int,
    allowed: np.ndarray | None,
    near: np.ndarray,
    anchors: np.ndarray,
    taken: set[str],
    rng: np.random.Generator,
) -> list[Pick]:
    """Far from everything the user likes or was just offered; when a ranker exists, only candidates it
    does not mark down (at or above the median of its scores, and not below neutral) are considered."""
    if n <= 0:
        return []
    rows, dist = far_candidates(engine, allowed, near, rng)
    keys = engine.keys
    keep = np.asarray([str(keys[r]) not in taken for r in rows], dtype=bool)
    rows, dist = rows[keep], dist[keep]
    if len(rows) == 0:
        return []
    extra = ranker_parts(ranker, req.user_id, rows)
    if summed(extra):
        total = np.sum(summed(extra), axis=0)
        # At or above the median, and never a predicted dislike (a neutral model adds 0): a user whose
        # taste model dislikes everything far away gets fewer surprises rather than songs it expects
        # them to hate.
        passing = (total >= np.median(total)) & (total >= 0.0)
        rows, dist = rows[passing], dist[passing]
        extra = {name: v[passing] for name, v in extra.items()}
    novelty = 1.0 - engine.closeness(dist) if len(near) else np.ones(len(rows))
    base_parts = {"novelty": novelty, "popularity": 0.5 * engine.popularity[rows] / 100.0, **extra}
    base = np.sum(summed(base_parts), axis=0)
    index = {int(r): i for i, r in enumerate(rows)}
    out = []
    for row, more in pick_diverse(engine, rows, n, base, rng, taken):
        i = index[row]
        parts = {name: float(v[i]) for name, v in base_parts.items()} | more
        out.append(make_pick("explore", row, reasons.explore_reason(engine, row, anchors), parts))
    return out
