"""Where a recommendation is planned: the planning processes when the service runs them and one is ready,
else the service's thread pool (songrec.service.plan_processes says why the processes exist)."""

from __future__ import annotations

from dataclasses import replace

from songrec.content.engine import Engine
from songrec.service.config import ServiceConfig
from songrec.service.plan_processes import PlanProcesses, VotesOf
from songrec.service.planner import Pick, RecommendRequest, plan_recommendations, plan_with_neighbours
from songrec.service.runtime import CpuPool
from songrec.service.scoring import CandidateScorer
from songrec.service.similar_users import RatingsCache, planner_likes

#: Up to this many raters to walk, a listener's neighbours are found on the event loop (Planning.plan).
INLINE_NEIGHBOUR_SEARCH = 1000


class Planning:
    """Plans requests; owns the planning processes (started with the service, stopped with it)."""

    def __init__(self, config: ServiceConfig, cpu: CpuPool, ratings: RatingsCache, votes_of: VotesOf) -> None:
        self._config = config
        self._cpu = cpu
        self._ratings = ratings
        count = config.plan_processes
        self.processes = PlanProcesses(count, votes_of) if count > 0 else None

    def start(self, engine: Engine, ranker: CandidateScorer | None) -> None:
        if self.processes is not None:
            self.processes.start(engine, ranker)

    def use_engine(self, engine: Engine) -> None:
        if self.processes is not None:
            self.processes.use_engine(engine)

    def use_ranker(self, ranker: CandidateScorer | None) -> None:
        if self.processes is not None:
            self.processes.use_ranker(ranker)

    def describe(self) -> str:
        """One line for /admin status: where requests are planned now."""
        pool = self.processes
        if pool is None:
            return "in threads of this process"
        stats = pool.stats
        return (
            f"{pool.ready} of {pool.count} planning processes ready; {stats.planned:,} planned there,"
            f" {stats.declined:,} handed to threads, {stats.restarts} restarts"
        )

    async def close(self) -> None:
        if self.processes is not None:
            await self.processes.close()

    async def plan(
        self, engine: Engine, ranker: CandidateScorer | None, request: RecommendRequest
    ) -> list[Pick]:
        cfg, ratings = self._config, self._ratings
        if self.processes is None or not self.processes.ready:
            return await self._cpu.run(plan_with_neighbours, ratings, engine, request, cfg, ranker)
        # The listeners like you come from this process's ratings: found here, then sent along. A small
        # search (under a millisecond or so) runs on the loop, sparing a hop to a thread; a larger one (a
        # listener of many hits at community scale: 25 ms for 20 votes) runs in the pool.
        if ratings.search_size(request.user_id) <= INLINE_NEIGHBOUR_SEARCH:
            likes = planner_likes(ratings, engine, request.user_id, cfg)
        else:
            likes = await self._cpu.run(planner_likes, ratings, engine, request.user_id, cfg)
        request = replace(request, neighbour_likes=likes)
        picks = await self.processes.plan(engine, ranker, request, cfg)
        if picks is None:  # no worker ready for this engine and ranker, or it died mid-plan
            picks = await self._cpu.run(plan_recommendations, engine, request, cfg, ranker)
        return picks
