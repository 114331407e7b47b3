"""Choosing one user's suggestions: pure CPU work on an engine snapshot, run in a worker thread.

Sources, in the order they are listed to the user: nearest neighbours of the seeds (or of each taste
cluster, or popular-and-diverse picks for a newcomer), tracks liked by listeners like you, and a share
of exploratory picks from the edge of the listener's taste (near what they like, away from everything
they rated or were just offered; taste.edge_candidates). Every pick carries the score parts that chose it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from songrec.content.engine import Engine
from songrec.domain import Filters
from songrec.service import reasons
from songrec.service.config import ServiceConfig
from songrec.service.reasons import COUNT_PREFIX, INFO_PREFIXES
from songrec.service.scoring import CandidateScorer, ranker_parts, summed
from songrec.service.similar_users import RatingsCache, planner_likes
from songrec.service.taste import (
    cluster_likes,
    cold_start_candidates,
    edge_candidates,
    genre_fit,
    pick_diverse,
    pick_edge,
    proportional_quotas,
)

#: The learned ranker's P(like) for this user, stored for the reason (see songrec.models.ranker).
LIKE_PROB = "info_like_prob"


@dataclass(frozen=True)
class Pick:
    row: int
    kind: str  # a service SuggestionKind
    reason: str
    score: float
    parts: dict[str, float]


@dataclass(frozen=True)
class RecommendRequest:
    user_id: int
    k: int
    seeds: tuple[int, ...] = ()
    liked: tuple[int, ...] = ()  # oldest first
    disliked: tuple[int, ...] = ()
    excluded: frozenset[int] = frozenset()  # already rated, recently suggested
    filters: Filters | None = None
    explore_n: int = 0
    #: From listeners like you: (row, how many of them liked it, sum of their correlations).
    neighbour_likes: tuple[tuple[int, int, float], ...] = ()
    rng_seed: int = 0


@dataclass
class _Group:
    anchors: tuple[int, ...]
    members: tuple[int, ...]
    quota: int = 0


#: A scored neighbour candidate: (row, anchor, (part columns, index into them), total score).
_Scored = tuple[int, int, tuple[dict[str, list[float]], int], float]


def make_pick(kind: str, row: int, reason: str, parts: dict[str, float]) -> Pick:
    """The score is the sum of the parts, except those that only inform (n_*, info_*)."""
    clean = {name: round(float(value), 6) for name, value in parts.items()}
    score = _summed_clean(clean)
    if LIKE_PROB in clean and kind != "cold_start":
        reason = f"{reason}, and your taste model rates it {clean[LIKE_PROB]:.0%}"
    return Pick(int(row), kind, reason, round(score, 6), clean)


def pick_score(parts: dict[str, float]) -> float:
    """The score make_pick gives these parts, without building the Pick."""
    return round(_summed_clean({name: round(float(value), 6) for name, value in parts.items()}), 6)


def _summed_clean(clean: dict[str, float]) -> float:
    return sum(v for name, v in clean.items() if not name.startswith(INFO_PREFIXES))


def plan_with_neighbours(
    ratings: RatingsCache,
    engine: Engine,
    req: RecommendRequest,
    cfg: ServiceConfig,
    ranker: CandidateScorer | None,
) -> list[Pick]:
    """What listeners like this one liked, then the plan: one trip to the worker pool instead of two
    (each trip is a hand-off to a thread and a wake-up of the event loop)."""
    likes = planner_likes(ratings, engine, req.user_id, cfg)
    return plan_recommendations(engine, replace(req, neighbour_likes=likes), cfg, ranker)


def plan_recommendations(
    engine: Engine, req: RecommendRequest, cfg: ServiceConfig, ranker: CandidateScorer | None
) -> list[Pick]:
    banned_rows = set(req.excluded) | set(req.disliked) | set(req.liked) | set(req.seeds)
    keys = engine.key_list
    taken = {keys[r] for r in banned_rows}
    allowed = engine.allowed(req.filters, banned_rows)  # once per request, shared by every group
    rng = np.random.default_rng(req.rng_seed)
    explore_n = max(0, min(req.k, req.explore_n))
    main_n = req.k - explore_n

    su_pool = [
        (row, n, vote)
        for row, n, vote in req.neighbour_likes
        if (allowed is None or allowed[row]) and keys[row] not in taken
    ]
    su_n = min(len(su_pool), max(1, round(main_n * cfg.similar_share))) if su_pool and main_n >= 2 else 0
    main_n -= su_n

    su_picks = _similar_user_picks(engine, req, cfg, ranker, su_pool, su_n, taken)
    if req.seeds:
        groups = [_Group((s,), (s,)) for s in req.seeds]
        main = _neighbour_picks(engine, req, cfg, ranker, groups, main_n, taken, allowed, "content")
    elif req.liked:
        liked = np.asarray(req.liked[-cfg.max_taste_likes :], dtype=np.int64)
        clusters = cluster_likes(engine, liked, cfg.max_clusters, cfg.anchors_per_cluster)
        groups = [_Group(c.anchors, c.members) for c in clusters]
        main = _neighbour_picks(engine, req, cfg, ranker, groups, main_n, taken, allowed, "taste")
    else:
        main = _cold_start_picks(engine, req, cfg, ranker, main_n, allowed, taken, rng)
    main.sort(key=lambda p: -p.score)
    picked = main + su_picks
    # Explore starts from the seeds of a "songs like X" (when asked to explore at all), else the taste.
    start = req.seeds or req.liked[-cfg.max_taste_likes :] or tuple(p.row for p in picked)
    anchors = np.asarray(start, dtype=np.int64)
    near = np.asarray(sorted(set(req.seeds + req.liked) | {p.row for p in picked}), dtype=np.int64)
    explore = _explore_picks(engine, req, cfg, ranker, explore_n, allowed, near, anchors, taken, rng, picked)
    return picked + explore


def _neighbour_picks(
    engine: Engine,
    req: RecommendRequest,
    cfg: ServiceConfig,
    ranker: CandidateScorer | None,
    groups: list[_Group],
    n: int,
    taken: set[str],
    allowed: np.ndarray | None,
    kind: str,
) -> list[Pick]:
    """Nearest neighbours per group (a seed, or a taste cluster), each group getting its share."""
    if n <= 0 or not groups:
        return []
    for group, quota in zip(groups, proportional_quotas([len(g.members) for g in groups], n), strict=True):
        group.quota = quota
    part = "similarity" if kind == "content" else "taste"
    found = [
        engine.similar_rows(
            list(group.anchors),
            group.quota * 4 + 10,
            taken,
            max_per_artist=engine.MAX_PER_ARTIST,
            allowed=allowed,
        )
        if group.quota
        else []
        for group in groups
    ]
    rows = np.asarray([row for group_rows in found for row in group_rows], dtype=np.int64)
    if len(rows) == 0:
        return []
    # One distance table and one ranker call for every group's candidates: columns are every group's
    # members and the dislikes, each group reading its own.
    members = [np.asarray(group.members, dtype=np.int64) for group in groups]
    disliked = np.asarray(req.disliked, dtype=np.int64)
    columns_of = np.unique(np.concatenate([*members, disliked]))
    table = engine.pairwise(rows, columns_of)
    anchor = np.empty(len(rows), dtype=np.int64)
    dist = np.empty(len(rows), dtype=np.float64)
    start = 0
    for group_rows, mine in zip(found, members, strict=True):
        stop = start + len(group_rows)
        if stop > start:
            sub = table[start:stop, np.searchsorted(columns_of, mine)]
            nearest = sub.argmin(axis=1)  # ties: the first member, as Engine.nearest
            anchor[start:stop] = mine[nearest]
            dist[start:stop] = sub[np.arange(stop - start), nearest]
        start = stop
    parts: dict[str, np.ndarray] = {
        part: engine.closeness(dist),
        "popularity": cfg.popularity_weight * engine.popularity[rows] / 100.0,
    }
    if len(disliked):
        near_dislike = table[:, np.searchsorted(columns_of, disliked)].min(axis=1)
        parts["dislike_penalty"] = engine.penalty_near(near_dislike, cfg.dislike_weight)
    parts.update(ranker_parts(ranker, req.user_id, rows))
    # Reasons are written for the chosen few only (below): they cost far more than a score.
    columns = {name: v.tolist() for name, v in parts.items()}
    totals = [sum(values) for values in zip(*summed(columns), strict=True)]  # in parts order
    anchors = anchor.tolist()
    row_list = rows.tolist()
    # Per candidate: (row, anchor, (the part columns, its index there), total); the parts dict is made for
    # the chosen few only.
    scored: list[list[_Scored]] = []
    start = 0
    for group_rows in found:
        stop = start + len(group_rows)
        picks = [(row_list[i], anchors[i], (columns, i), totals[i]) for i in range(start, stop)]
        scored.append(sorted(picks, key=lambda p: -p[3]))
        start = stop
    keys = engine.key_list
    out: list[_Scored] = []
    leftovers: list[_Scored] = []
    for group, picks in zip(groups, scored, strict=True):
        got = 0
        for pick in picks:
            key = keys[pick[0]]
            if got < group.quota and key not in taken:
                taken.add(key)
                out.append(pick)
                got += 1
            else:
                leftovers.append(pick)
    for pick in sorted(leftovers, key=lambda p: -p[3]):  # a group ran dry: others fill in
        if len(out) >= n:
            break
        key = keys[pick[0]]
        if key not in taken:
            taken.add(key)
            out.append(pick)
    written = reasons.neighbour_reasons_for(engine, kind, [(a, row) for row, a, _, _ in out])
    return [
        make_pick(kind, row, reason, {name: v[i] for name, v in columns.items()})
        for (row, _, (columns, i), _), reason in zip(out, written, strict=True)
    ]


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
    extra = {name: v.tolist() for name, v in ranker_parts(ranker, req.user_id, rows).items()}
    popularity = (cfg.popularity_weight * engine.popularity[rows] / 100.0).tolist()

    def parts_of(i: int) -> dict[str, float]:
        _, listeners, vote = pool[i]
        return {
            "neighbour_vote": vote,
            "popularity": popularity[i],
            f"{COUNT_PREFIX}listeners": float(listeners),
            **{name: v[i] for name, v in extra.items()},
        }

    # Every candidate's score as make_pick would give it; the Pick (and its reason) only for the chosen.
    scores = [pick_score(parts_of(i)) for i in range(len(pool))]
    order = sorted(range(len(pool)), key=lambda i: (-scores[i], pool[i][0]))
    keys = engine.key_list
    out = []
    for i in order:
        row, listeners, _ = pool[i]
        key = keys[row]
        if key in taken:
            continue
        taken.add(key)
        out.append(make_pick("similar_users", row, reasons.similar_users_reason(listeners), parts_of(i)))
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
    picked: list[Pick],
) -> list[Pick]:
    """At the edge of the listener's taste: the neighbourhood of a few likes (or seeds), as far as it goes
    from everything rated or offered. When a ranker exists, only candidates it does not mark down (at or
    above the median of its scores, and not below neutral) are considered."""
    if n <= 0:
        return []
    disliked = np.asarray(req.disliked, dtype=np.int64)
    found = edge_candidates(engine, allowed, anchors, near, taken, rng, n, disliked=disliked)
    if len(found) == 0:
        return []
    extra = ranker_parts(ranker, req.user_id, found.rows)
    if summed(extra):
        total = np.sum(summed(extra), axis=0)
        # At or above the median, and never a predicted dislike (a neutral model adds 0): a user whose
        # taste model dislikes all of its edge gets fewer surprises rather than songs it expects them
        # to hate.
        passing = (total >= np.median(total)) & (total >= 0.0)
        found = found.keep(passing)
        extra = {name: v[passing] for name, v in extra.items()}
    rows = found.rows
    base_parts: dict[str, np.ndarray] = {
        "novelty": 1.0 - engine.closeness(found.novelty_distance),
        "genre_fit": genre_fit(engine, rows, anchors),
        "popularity": cfg.popularity_weight * engine.popularity[rows] / 100.0,
    }
    if len(disliked):
        base_parts["dislike_penalty"] = engine.penalty_near(found.dislike_distance, cfg.dislike_weight)
    base_parts.update(extra)
    base = np.sum(summed(base_parts), axis=0)
    artists = engine.artist_list
    known = (
        {artists[r] for r in near.tolist()}
        | {artists[p.row] for p in picked}
        | {artists[r] for r in req.disliked}
    )
    liked_or_seed = set(req.seeds) | set(req.liked)
    out = []
    for row, more in pick_edge(engine, rows, n, base, rng, taken, known):
        i = int(np.searchsorted(rows, row))  # the rows ascend
        parts = {name: float(v[i]) for name, v in base_parts.items()} | more
        anchor = int(found.anchor[i])
        near_genre = str(engine.reason_genre[anchor] or "") if anchor in liked_or_seed else ""
        reason = reasons.explore_reason(engine, row, anchors, near_genre or None)
        out.append(make_pick("explore", row, reason, parts))
    return out
