"""Fixed planner requests over the small artifact (seeds, tastes, newcomers, dislikes, exclusions,
popularity filters, exploration, listeners like you) and a simple ranker: what the planner's equivalence
tests replay."""

from __future__ import annotations

import numpy as np

from songrec.content.engine import Engine
from songrec.domain import Filters
from songrec.service.planner import RecommendRequest


class Prior:
    """A deterministic re-ranker (picklable: module level), with an info part as the real one has."""

    def __init__(self, engine: Engine) -> None:
        self.popularity = engine.popularity / 100.0

    def score(self, user_id: int, rows: np.ndarray) -> dict[str, np.ndarray]:
        return {"prior": 0.02 * self.popularity[rows] - 0.01 * (rows % 3), "info_like_prob": 0.5 + 0 * rows}


def planner_requests(engine: Engine, n: int) -> list[RecommendRequest]:
    rng = np.random.default_rng(42)
    size = engine.size
    out = []
    for i in range(n):
        mode = i % 3
        liked = tuple(int(r) for r in rng.choice(size, size=int(rng.integers(1, 30)), replace=False))
        disliked = tuple(int(r) for r in rng.choice(size, size=int(rng.integers(0, 6)), replace=False))
        excluded = frozenset(int(r) for r in rng.choice(size, size=int(rng.integers(0, 40)), replace=False))
        k = int(rng.integers(1, 25))
        filters = None
        if i % 4 == 1:
            filters = Filters(max_popularity=float(rng.integers(30, 90)))
        elif i % 4 == 2:
            filters = Filters(min_popularity=float(rng.integers(5, 60)))
        neighbour = tuple(
            (int(r), int(rng.integers(1, 5)), float(rng.random()))
            for r in rng.choice(size, size=int(rng.integers(0, 60)), replace=False)
        )
        out.append(
            RecommendRequest(
                user_id=1000 + i,
                k=k,
                seeds=tuple(int(r) for r in rng.choice(size, size=int(rng.integers(1, 4))))
                if mode == 0
                else (),
                liked=liked if mode == 1 else (liked[:3] if mode == 0 else ()),
                disliked=disliked,
                excluded=excluded,
                filters=filters,
                explore_n=int(rng.integers(0, k + 1)),
                neighbour_likes=neighbour if i % 2 else (),
                rng_seed=int(rng.integers(0, 2**32)),
            )
        )
    return out
