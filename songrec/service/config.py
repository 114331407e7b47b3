"""Knobs of the recommendation service, with the defaults the bot runs with."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from songrec.domain import DEFAULT_EXPLORE_RATE


def _default_workers() -> int:
    return max(2, min(8, os.cpu_count() or 2))


def serving_plan_processes(configured: int | None = None) -> int:
    """The bot's planning processes: as configured (SONGREC_PLAN_PROCESSES), else one per core, at most 4
    (past that each adds memory more than speed), none on one core. On two cores two beat one (bench/
    service.py: 384-460 against 253-297 answers/s): the loop's share is small and the kernel interleaves."""
    if configured is not None:
        return configured
    cores = os.cpu_count() or 1
    return 0 if cores < 2 else min(4, cores)


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    #: Tracks suggested to a user within this window are not suggested to them again.
    recent_window_s: float = 14 * 24 * 3600.0
    recent_limit: int = 1000
    #: Share of exploratory picks when neither the call nor the guild says otherwise.
    explore_rate: float = DEFAULT_EXPLORE_RATE
    #: Listeners like you: Pearson correlation over at least this many co-rated tracks.
    similar_min_overlap: int = 3
    similar_min_correlation: float = 0.3
    similar_max_neighbours: int = 20
    #: Share of the non-explore picks taken from what similar listeners liked (when there is any).
    similar_share: float = 0.2
    #: Taste clustering: k ~ sqrt(likes), at most this many clusters, each queried through a few of
    #: its own liked tracks (never through a mean, which can land between two tastes).
    max_clusters: int = 6
    anchors_per_cluster: int = 4
    #: Only the newest likes shape the taste (old likes fade out instead of piling up).
    max_taste_likes: int = 300
    max_seeds: int = 5
    max_k: int = 50
    #: Score weights: closeness is in (0, 1]; popularity adds at most popularity_weight.
    popularity_weight: float = 0.05
    dislike_weight: float = 0.6
    #: Refresh the in-memory ratings (for listeners-like-you) at most this often from the database,
    #: so another process writing to the same database (chat beside the bot) is seen eventually.
    ratings_refresh_s: float = 60.0
    guild_settings_ttl_s: float = 30.0
    #: CPU work (index queries, clustering, scoring) runs in this many threads, off the event loop.
    cpu_workers: int = field(default_factory=_default_workers)
    #: Recommendations are planned in this many worker processes, one engine copy each, so planning uses
    #: every core instead of one GIL (songrec.service.plan_processes); 0 plans in the threads above. The
    #: bot runs serving_plan_processes(); tests and one-off tools plan in threads unless they ask.
    plan_processes: int = 0
    #: How long a write waits for another process's lock before the user hears "busy, try again".
    busy_deadline_s: float = 5.0
    #: Fixes the exploration and cold-start shuffles (tests); None draws fresh randomness.
    seed: int | None = None
