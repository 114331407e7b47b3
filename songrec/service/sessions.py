"""Group listening sessions: blend the members' tastes, never repeat a track, learn from reactions.

Each member scores every candidate: closeness to their nearest liked track (or, for a member with no
likes yet, the track's popularity), minus a penalty near their dislikes, plus the ranker's opinion.
"average" ranks by the mean over members, "least_misery" by the minimum (nobody hates it). Likes on
session suggestions are the member's own feedback (source "session"), read fresh for every pick, so
the session steers as people react. Session seeds are stored as already-played session tracks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from songrec.content.engine import Engine
from songrec.coordination import Coordination, LocalCoordination
from songrec.domain import (
    InvalidInput,
    NotInSession,
    SessionInfo,
    SessionRecord,
    SessionStrategy,
    SessionSummary,
    Suggestion,
)
from songrec.service import checks, reasons
from songrec.service.config import ServiceConfig
from songrec.service.errors import db_errors
from songrec.service.guilds import STRATEGY_HELP, GuildSettingsBook
from songrec.service.planner import COUNT_PREFIX, Pick, make_pick
from songrec.service.runtime import CpuPool, Serving
from songrec.service.scoring import CandidateScorer, ranker_parts, summed
from songrec.service.seeds import SeedResolver
from songrec.service.suggestions import SuggestionLog
from songrec.service.taste import cluster_likes
from songrec.service.tracks import rows_of, track_info
from songrec.store import StoreBackend

NO_SESSION = "There's no group session in this channel: start one with /session start."
#: Score of a candidate for a member who has liked nothing yet, per unit of popularity (0-1).
COLD_MEMBER_WEIGHT = 0.6
STRATEGIES = ("average", "least_misery")
#: A /session next holds its session's lock this long at most (a process that dies frees it then), and
#: a second one waits this long for it before "try again in a moment".
NEXT_LOCK_TTL_S = 30.0
NEXT_LOCK_WAIT_S = 20.0


@dataclass(frozen=True)
class MemberTaste:
    user_id: int
    liked: tuple[int, ...]
    disliked: tuple[int, ...]


def plan_session(
    engine: Engine,
    members: list[MemberTaste],
    strategy: str,
    k: int,
    excluded: frozenset[int],
    seeds: tuple[int, ...],
    cfg: ServiceConfig,
    ranker: CandidateScorer | None,
) -> list[Pick]:
    banned = set(excluded) | {r for m in members for r in m.disliked}
    taken = {str(engine.keys[r]) for r in banned}
    pool: set[int] = set()
    want = k * 4 + 10
    for member in members:
        liked = np.asarray(member.liked[-cfg.max_taste_likes :], dtype=np.int64)
        for cluster in cluster_likes(engine, liked, cfg.max_clusters, cfg.anchors_per_cluster):
            pool.update(c.row for c in engine.similar(list(cluster.anchors), want, None, banned, taken))
    if seeds:
        pool.update(c.row for c in engine.similar(list(seeds), want, None, banned, taken))
    if any(not m.liked for m in members) and not seeds:
        allowed = engine.allowed(None, banned)
        cold = engine.cold_pool if allowed is None else engine.cold_pool[allowed[engine.cold_pool]]
        pool.update(int(r) for r in cold[:400])
    pool -= banned
    rows = np.asarray(sorted(pool), dtype=np.int64)
    if len(rows) == 0 or not members:
        return []
    scores = np.vstack([_member_scores(engine, m, rows, seeds, cfg, ranker) for m in members])
    mean, worst = scores.mean(axis=0), scores.min(axis=0)
    blend = worst if strategy == "least_misery" else mean
    popularity = cfg.popularity_weight * engine.popularity[rows] / 100.0
    order = np.argsort(-(blend + popularity), kind="stable")
    anchors = np.asarray(sorted({r for m in members for r in m.liked} | set(seeds)), dtype=np.int64)
    other = "average" if strategy == "least_misery" else "least_misery"
    other_values = mean if strategy == "least_misery" else worst
    out: list[Pick] = []
    for i in order:
        row = int(rows[i])
        key = str(engine.keys[row])
        if key in taken:
            continue
        taken.add(key)
        anchor_name = None
        if len(anchors):
            nearest, _ = engine.nearest(np.asarray([row]), anchors)
            anchor_name = engine.name(int(nearest[0]))
        parts = {
            strategy: float(blend[i]),
            "popularity": float(popularity[i]),
            f"info_{other}": float(other_values[i]),
            f"{COUNT_PREFIX}members": float(len(members)),
        }
        reason = reasons.session_reason(strategy, len(members), float(blend[i]), anchor_name)
        out.append(make_pick("session", row, reason, parts))
        if len(out) == k:
            break
    return out


def _member_scores(
    engine: Engine,
    member: MemberTaste,
    rows: np.ndarray,
    seeds: tuple[int, ...],
    cfg: ServiceConfig,
    ranker: CandidateScorer | None,
) -> np.ndarray:
    anchors = np.asarray(member.liked[-cfg.max_taste_likes :] + seeds, dtype=np.int64)
    if len(anchors):
        score = engine.closeness(engine.min_distance(rows, anchors))
    else:
        score = COLD_MEMBER_WEIGHT * engine.popularity[rows] / 100.0
    score = score + engine.dislike_penalty(
        rows, np.asarray(member.disliked, dtype=np.int64), cfg.dislike_weight
    )
    for values in summed(ranker_parts(ranker, member.user_id, rows)):
        score = score + values
    return score


class Sessions:
    """Group sessions for the service: handed the store, what is served, the CPU pool, the seed resolver,
    the suggestion log and the guild settings (for the default strategy)."""

    def __init__(
        self,
        config: ServiceConfig,
        store: StoreBackend,
        serving: Serving,
        cpu: CpuPool,
        seeds: SeedResolver,
        suggestions: SuggestionLog,
        guilds: GuildSettingsBook,
        coordination: Coordination | None = None,
    ) -> None:
        self._config = config
        self._store = store
        self._serving = serving
        self._cpu = cpu
        self._seeds = seeds
        self._suggestions = suggestions
        self._guilds = guilds
        #: one pick at a time per session, so two concurrent /session next never offer the same track;
        #: in Redis when the deployment shares state, so that holds across bot processes too
        self._locks = coordination or LocalCoordination()

    async def _info(self, record: SessionRecord, *, include_left: bool = False) -> SessionInfo:
        with db_errors():
            members = await self._store.members(record.id, include_left=include_left)
        return SessionInfo(
            id=record.id,
            guild_id=record.guild_id,
            channel_id=record.channel_id,
            voice_channel_id=record.voice_channel_id,
            strategy=record.strategy,  # type: ignore[arg-type]
            members=tuple(dict.fromkeys(m.user_id for m in members)),
            active=record.active,
        )

    async def _active(self, channel_id: int) -> SessionRecord:
        with db_errors():
            record = await self._store.active_session(channel_id)
        if record is None:
            raise NotInSession(NO_SESSION)
        return record

    async def start_session(
        self,
        guild_id: int | None,
        channel_id: int,
        created_by: int,
        *,
        voice_channel_id: int | None = None,
        strategy: SessionStrategy | None = None,
        members: Sequence[int] = (),
        seeds: Sequence[str] = (),
    ) -> SessionInfo:
        if guild_id is None:
            raise InvalidInput("Group sessions run in a server's text channel, not in direct messages.")
        creator = checks.user(created_by)
        others = [checks.user(m) for m in dict.fromkeys(members) if m != creator]
        if strategy is None:
            strategy = (await self._guilds.cached(guild_id)).session_strategy
        if strategy not in STRATEGIES:
            raise InvalidInput(STRATEGY_HELP)
        if isinstance(seeds, str):
            seeds = [seeds]
        if len(seeds) > self._config.max_seeds:
            raise InvalidInput(f"Give me at most {self._config.max_seeds} songs to start from.")
        engine = self._serving.engine
        # Bad seeds fail before anything is stored; an album or playlist seeds with all its known tracks.
        seed_rows = [row for s in seeds for row in await self._seeds.rows(engine, s)]
        with db_errors():
            record = await self._store.create_session(
                guild_id, channel_id, creator, voice_channel_id=voice_channel_id, strategy=strategy
            )
            for member in others:
                await self._store.add_member(record.id, member)
            if seed_rows:
                ids = [engine.track_id(r) for r in dict.fromkeys(seed_rows)]
                await self._store.add_session_tracks(record.id, ids, played=True)
        return await self._info(record)

    async def join_session(self, channel_id: int, user_id: int) -> SessionInfo:
        uid = checks.user(user_id)
        record = await self._active(channel_id)
        with db_errors():
            await self._store.add_member(record.id, uid)
        return await self._info(record)

    async def leave_session(self, channel_id: int, user_id: int) -> SessionInfo:
        uid = checks.user(user_id)
        record = await self._active(channel_id)
        with db_errors():
            left = await self._store.remove_member(record.id, uid)
        if not left:
            raise NotInSession("You're not in this session.")
        return await self._info(record)

    async def active_session(self, channel_id: int) -> SessionInfo | None:
        with db_errors():
            record = await self._store.active_session(channel_id)
        return None if record is None else await self._info(record)

    async def session_for_voice_channel(self, voice_channel_id: int) -> SessionInfo | None:
        """The running session tied to a voice channel; survives restarts (it is read from the store)."""
        with db_errors():
            record = await self._store.active_session_for_voice(voice_channel_id)
        return None if record is None else await self._info(record)

    async def session_next(self, channel_id: int, user_id: int, k: int = 5) -> list[Suggestion]:
        uid, count = checks.user(user_id), checks.count(k, self._config.max_k)
        record = await self._active(channel_id)
        lock = self._locks.lock(f"session-next:{record.id}", ttl_s=NEXT_LOCK_TTL_S, wait_s=NEXT_LOCK_WAIT_S)
        async with lock:
            with db_errors():
                members = [m.user_id for m in await self._store.members(record.id)]
                if uid not in members:
                    raise NotInSession("Join the session first with /session join.")
                tracks = await self._store.session_tracks(record.id)
                votes = {m: await self._store.feedback_for_user(m) for m in members}
            engine, ranker = self._serving.engine, self._serving.ranker
            tastes = [
                MemberTaste(
                    m,
                    rows_of(engine, [v.track_id for v in votes[m] if v.value > 0]),
                    rows_of(engine, [v.track_id for v in votes[m] if v.value < 0]),
                )
                for m in members
            ]
            excluded = frozenset(rows_of(engine, [t.track_id for t in tracks]))
            seeds = rows_of(engine, [t.track_id for t in tracks if t.suggestion_id is None])
            picks = await self._cpu.run(
                plan_session, engine, tastes, record.strategy, count, excluded, seeds, self._config, ranker
            )
            suggestions = await self._suggestions.record(
                engine,
                ranker,
                picks,
                user_id=None,
                channel_id=channel_id,
                guild_id=record.guild_id,
                session_id=record.id,
            )
            if suggestions:
                with db_errors():
                    await self._store.add_session_tracks(
                        record.id,
                        [s.track.track_id for s in suggestions],
                        suggestion_ids=[s.id for s in suggestions],
                    )
        return suggestions

    async def end_session(self, channel_id: int, user_id: int) -> SessionSummary:
        checks.user(user_id)
        record = await self._active(channel_id)
        with db_errors():
            tracks = await self._store.session_tracks(record.id)
            members = await self._store.members(record.id, include_left=True)
            people = list(dict.fromkeys(m.user_id for m in members))
            votes = {p: await self._store.feedback_for_user(p) for p in people}
            ended = await self._store.end_session(record.id)
        engine = self._serving.engine
        suggested = [t.track_id for t in tracks if t.suggestion_id is not None]
        liked_by = {p: {v.track_id for v in votes[p] if v.value > 0} for p in people}
        liked = []
        for track_id in dict.fromkeys(suggested):
            fans = tuple(p for p in people if track_id in liked_by[p])
            if fans:
                liked.append((track_info(engine, track_id), fans))
        info = await self._info(ended or record, include_left=True)
        return SessionSummary(
            session=info,
            suggested=tuple(track_info(engine, t) for t in suggested),
            liked=tuple(liked),
        )
