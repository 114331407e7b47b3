"""The planner as it was before the serving-speed work (issue 13), kept as the slow, obviously-correct
reference the optimised planner must agree with exactly: per-candidate Candidate objects sorted in Python,
the first artist read from the catalogue DataFrame row by row, the allowed mask rebuilt per group, every
similar-listener candidate turned into a Pick. Exploration follows the edge-of-taste rule (issue 15), spelled
out here one anchor, one candidate and one pick at a time: the neighbourhood of a few likes (or seeds), less
what was rated or offered, scored by how far it is from all of that, how much it shares the listener's
genres, its popularity and the dislike penalty, then picked greedily, one song per artist.
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
from songrec.service.taste import (
    EDGE_ANCHORS,
    EDGE_NEIGHBOURS,
    GENRE_FIT_WEIGHT,
    cluster_likes,
    cold_start_candidates,
    pick_diverse,
    proportional_quotas,
)

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
    # Explore starts from the seeds (a "songs like X" that asked to explore), else the newest likes, else
    # what was just picked (a newcomer).
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


def _edge_candidates(
    engine: Engine,
    allowed: np.ndarray | None,
    anchors: np.ndarray,
    near: np.ndarray,
    taken: set[str],
    rng: np.random.Generator,
    want: int,
) -> list[tuple[int, int, float]]:
    """(row, the sampled anchor nearest to it, squared distance to the nearest rated or offered row),
    ascending by row."""
    start = sorted({int(a) for a in anchors})
    if not start or want <= 0:
        return []
    if len(start) > EDGE_ANCHORS:
        start = sorted(
            int(a) for a in rng.choice(np.asarray(start, dtype=np.int64), EDGE_ANCHORS, replace=False)
        )

    def around(mask: np.ndarray | None) -> set[int]:
        found: set[int] = set()
        for a in start:
            (hits,) = engine.index.query(engine.embeddings[[a]], EDGE_NEIGHBOURS, mask)
            found.update(int(r) for r in hits.rows)
        return found

    rows = around(None)
    if allowed is not None:
        rows = {r for r in rows if allowed[r]}
        if len(rows) < EDGE_NEIGHBOURS:
            rows = around(allowed)
    rows = {r for r in rows if str(engine.keys[r]) not in taken}
    floor = min(float(engine.popularity[r]) for r in engine.explore_pool)
    popular = {r for r in rows if engine.popularity[r] >= floor}
    if len(popular) >= want:
        rows = popular
    out = []
    near_list = [int(r) for r in near]
    for row in sorted(rows):
        to_anchor = engine.pairwise(np.asarray([row]), np.asarray(start))[0]
        anchor = start[int(np.argmin(to_anchor))]
        novelty = (
            float(engine.pairwise(np.asarray([row]), np.asarray(near_list)).min()) if near_list else np.inf
        )
        out.append((row, anchor, novelty))
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
    if n <= 0:
        return []
    found = _edge_candidates(engine, allowed, anchors, near, taken, rng, n)
    if not found:
        return []
    extra = ranker_parts(ranker, req.user_id, np.asarray([r for r, _, _ in found], dtype=np.int64))
    if summed(extra):
        total = np.sum(summed(extra), axis=0)
        passing = (total >= np.median(total)) & (total >= 0.0)
        found = [f for f, ok in zip(found, passing, strict=True) if ok]
        extra = {name: v[passing] for name, v in extra.items()}
    rows = np.asarray([r for r, _, _ in found], dtype=np.int64)
    liked_genres = [str(engine.reason_genre[a]) for a in anchors if engine.reason_genre[a]]
    share = {g: liked_genres.count(g) / len(liked_genres) for g in set(liked_genres)}
    base_parts: dict[str, np.ndarray] = {
        "novelty": 1.0 - engine.closeness(np.asarray([d for _, _, d in found])),
        "genre_fit": np.asarray(
            [GENRE_FIT_WEIGHT * share.get(str(engine.reason_genre[r]), 0.0) for r in rows], dtype=np.float64
        ),
        "popularity": cfg.popularity_weight * engine.popularity[rows] / 100.0,
    }
    disliked = np.asarray(req.disliked, dtype=np.int64)
    if len(disliked):
        base_parts["dislike_penalty"] = engine.dislike_penalty(rows, disliked, cfg.dislike_weight)
    base_parts.update(extra)
    base = np.sum(summed(base_parts), axis=0)
    # The greedy pick: a bonus for an artist the listener has not met (rated, offered, or just picked), a
    # shuffle, at most one song per artist and per same-song key.
    noise = rng.random(len(rows)) * 0.2
    met = {_first_artist(engine, r) for r in [*near, *req.disliked]} | {
        _first_artist(engine, p.row) for p in picked
    }
    bonus = [0.0 if _first_artist(engine, r) in met else 0.2 for r in rows]
    total_score = [float(base[i]) + bonus[i] + float(noise[i]) for i in range(len(rows))]
    seen_keys, seen_artists = set(taken), set()
    out = []
    for i in sorted(range(len(rows)), key=lambda i: -total_score[i]):
        row, anchor, _ = found[i]
        artist = _first_artist(engine, row)
        if str(engine.keys[row]) in seen_keys or (artist and artist in seen_artists):
            continue
        seen_keys.add(str(engine.keys[row]))
        seen_artists.add(artist)
        parts = {name: float(v[i]) for name, v in base_parts.items()}
        parts |= {"diversity": bonus[i], "shuffle": float(noise[i])}
        liked_or_seed = set(req.seeds) | set(req.liked)
        near_genre = str(engine.reason_genre[anchor] or "") if anchor in liked_or_seed else ""
        reason = reasons.explore_reason(engine, row, anchors, near_genre or None)
        out.append(make_pick("explore", row, reason, parts))
        if len(out) == n:
            break
    return out
