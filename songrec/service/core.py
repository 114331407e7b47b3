"""The recommendation service: one engine snapshot per request, the store for every write.

Concurrency model: the event loop only orchestrates. CPU work (index queries, clustering, scoring)
runs in a bounded thread pool on an immutable EngineContext read once per request, so swapping in
a new engine (or ranker) between requests is one reference assignment and never disturbs a request in
flight. Every write goes through the Store's single writer (group commit): nothing is lost or doubled.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar, get_args

import numpy as np

from songrec import config as paths
from songrec.artifacts import ArtifactError
from songrec.catalog.schema import NUMERIC_FEATURES
from songrec.engine import DESCRIBED, Engine
from songrec.metrics import metrics
from songrec.service.config import ServiceConfig
from songrec.service.errors import db_errors
from songrec.service.planner import INFO_PREFIXES, Pick, RecommendRequest, plan_recommendations
from songrec.service.scoring import CandidateScorer, EngineContext
from songrec.service.sessions import SessionOps
from songrec.service.similar_users import RatingsCache
from songrec.service.spotify_ops import SpotifyOps
from songrec.service.types import (
    FeedbackResult,
    FeedbackSource,
    Filters,
    GuildSettings,
    HistoryItem,
    InvalidInput,
    NothingToRate,
    Profile,
    ServiceUnavailable,
    SessionStrategy,
    Suggestion,
    TrackInfo,
    TrackNotFound,
)
from songrec.status import current_pointer, serving_note
from songrec.store import NewSuggestion, Store, SuggestionRecord

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_ID = 2**63 - 1
MAX_HISTORY = 100
MAX_AUTOCOMPLETE = 100
#: Front ends whose votes the store records as plain commands.
_STORED_SOURCE = {"chat": "command", "cli": "command"}
_SOURCES = frozenset(get_args(FeedbackSource))
_STRATEGIES = frozenset(get_args(SessionStrategy))
_SETTINGS = frozenset({"command_channel_id", "explore_rate", "session_strategy"})
NOTHING_TO_RATE = "There's nothing to rate here yet: ask me for /recommend first, or name a song."
GONE = "That suggestion is no longer available."


def stored_kind(kind: str) -> str:
    """The store knows content/explore/cold_start/cf/similar_users: taste and session picks are content
    picks, told apart again on the way out by their score parts and session id (see service_kind)."""
    return "content" if kind in ("taste", "session") else kind


def service_kind(record: SuggestionRecord) -> str:
    if record.kind == "content":
        if record.session_id is not None:
            return "session"
        if "taste" in record.score_parts:
            return "taste"
    if record.kind in ("content", "explore", "cold_start", "similar_users"):
        return record.kind
    return "content"


def _load_engine(artifacts: Path | None) -> Engine:
    try:
        return Engine.load(artifacts)
    except ArtifactError as exc:
        raise ServiceUnavailable(
            f"No trained model to recommend from yet ({exc}). Run `songrec train` first."
        ) from exc


class Service(SessionOps, SpotifyOps):
    """Implements songrec.service.api.SongService. Open with `await Service.open(...)`."""

    def __init__(
        self,
        store: Store,
        ctx: EngineContext,
        *,
        config: ServiceConfig,
        spotify: Any = None,
        artifacts: Path | None = None,
    ) -> None:
        self.config = config
        self._store = store
        self._ctx = ctx
        self._spotify = spotify
        self._artifacts = artifacts
        #: Re-ranks candidates when set (the learning loop plugs in a classifier or CF model).
        self.ranker: CandidateScorer | None = None
        self._executor = ThreadPoolExecutor(max_workers=config.cpu_workers, thread_name_prefix="songrec-cpu")
        self._ratings = RatingsCache()
        self._refresh: asyncio.Task[None] | None = None
        self._guilds: dict[int, tuple[float, GuildSettings]] = {}
        self._rng = random.Random(config.seed)
        self._init_sessions()
        self._init_spotify()

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    async def open(
        cls,
        db_path: str | Path | None = None,
        artifacts: str | Path | None = None,
        spotify: Any = None,
        config: ServiceConfig | None = None,
        *,
        engine: Engine | None = None,
    ) -> Service:
        """Load the current artifact (off the event loop) and open the database.

        `spotify` is an optional songrec.spotify.SpotifyClient: without one, links to tracks outside the
        catalogue get a TrackNotFound with the closest catalogue tracks. `engine` skips loading (tests).
        """
        config = config or ServiceConfig()
        root = Path(artifacts) if artifacts is not None else None
        if engine is None:
            engine = await asyncio.to_thread(_load_engine, root)
        ctx = await asyncio.to_thread(EngineContext.build, engine)
        with db_errors():
            store = await Store.open(
                db_path if db_path is not None else paths.database_path(),
                busy_deadline_s=config.busy_deadline_s,
            )
        service = cls(store, ctx, config=config, spotify=spotify, artifacts=root)
        if spotify is not None and getattr(spotify, "cache", None) is None:
            spotify.cache = store  # Spotify metadata is cached in the database
        try:
            await service._reload_ratings()
        except BaseException:
            await service.close()
            raise
        return service

    async def close(self) -> None:
        """Finish queued writes and release the database and threads. Safe to call twice."""
        if self._refresh is not None and not self._refresh.done():
            self._refresh.cancel()
        await self._store.close()
        await asyncio.to_thread(self._executor.shutdown, True)

    async def __aenter__(self) -> Service:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def engine(self) -> Engine:
        return self._ctx.engine

    @property
    def store(self) -> Store:
        return self._store

    async def swap_engine(self, engine: Engine) -> None:
        """Serve from `engine` from the next request on; requests in flight finish on the old one."""
        ctx = await self._cpu(EngineContext.build, engine)
        self._ctx = ctx
        log.info("serving engine %s (%d tracks)", engine.version, engine.size)

    async def reload_engine(self) -> str:
        """Load the artifact now marked current and swap it in; returns its version."""
        engine = await asyncio.to_thread(_load_engine, self._artifacts)
        await self.swap_engine(engine)
        return engine.version

    def swap_ranker(self, ranker: CandidateScorer | None) -> None:
        """Score candidates with `ranker` from the next request on (None: embedding scores only)."""
        self.ranker = ranker

    def user_ratings(self, user_id: int) -> dict[str, int]:
        """The user's live votes by track id, from memory (what a ranker folds a new user in from)."""
        return self._ratings.ratings_of(user_id)

    async def _cpu(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, partial(fn, *args))

    def _model_version(self, ctx: EngineContext, ranker: CandidateScorer | None) -> str:
        extra = getattr(ranker, "version", None) if ranker is not None else None
        return f"{ctx.version}+{extra}" if extra else ctx.version

    # ------------------------------------------------------------------ validation

    @staticmethod
    def _user(user_id: Any) -> int:
        if (
            isinstance(user_id, bool)
            or not isinstance(user_id, int | np.integer)
            or not 0 < user_id <= MAX_ID
        ):
            raise InvalidInput(f"That isn't a valid user id ({str(user_id)[:40]!r}).")
        return int(user_id)

    @staticmethod
    def _guild(guild_id: Any) -> int:
        if (
            isinstance(guild_id, bool)
            or not isinstance(guild_id, int | np.integer)
            or not 0 < guild_id <= MAX_ID
        ):
            raise InvalidInput(f"That isn't a valid server id ({str(guild_id)[:40]!r}).")
        return int(guild_id)

    def _count(self, k: Any) -> int:
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= self.config.max_k:
            raise InvalidInput(f"Ask for between 1 and {self.config.max_k} songs.")
        return int(k)

    @staticmethod
    def _filters(filters: Filters | None) -> Filters | None:
        if filters is None:
            return None
        if not isinstance(filters, Filters):
            raise InvalidInput("Filters must be a songrec Filters record.")
        for name in ("max_popularity", "min_popularity"):
            value = getattr(filters, name)
            if value is not None and (
                isinstance(value, bool) or not (isinstance(value, int | float) and 0 <= value <= 100)
            ):
                raise InvalidInput("Popularity limits go from 0 to 100.")
        if (
            filters.max_popularity is not None
            and filters.min_popularity is not None
            and filters.min_popularity > filters.max_popularity
        ):
            raise InvalidInput("The minimum popularity is above the maximum: nothing could match.")
        rate = filters.explore_rate
        if rate is not None and (
            isinstance(rate, bool) or not (isinstance(rate, int | float) and 0.0 <= rate <= 1.0)
        ):
            raise InvalidInput("The explore rate must be between 0 and 1.")
        return filters

    def _seed_texts(self, seeds: Sequence[str] | str | None) -> list[str]:
        if seeds is None:
            return []
        if isinstance(seeds, str):
            seeds = [seeds]
        texts = list(seeds)
        if len(texts) > self.config.max_seeds:
            raise InvalidInput(f"Give me at most {self.config.max_seeds} songs to start from.")
        for text in texts:
            if not isinstance(text, str):
                raise InvalidInput("Tell me a song as text: a title, 'title - artist' or a Spotify link.")
        return texts

    # ------------------------------------------------------------------ tracks

    def _track_info(self, ctx: EngineContext, track_id: str) -> TrackInfo:
        row = ctx.engine.row_of(track_id)
        if row is not None:
            return ctx.info(row)
        return TrackInfo(track_id, "a song no longer in the catalogue", (), None, None)

    async def _resolve(self, ctx: EngineContext, text: str) -> int:
        """A catalogue row for what the user typed; Spotify links outside the catalogue go to Spotify."""
        if not isinstance(text, str):
            raise InvalidInput("Tell me a song as text: a title, 'title - artist' or a Spotify link.")
        try:
            return await asyncio.to_thread(ctx.engine.resolve, text)
        except TrackNotFound as exc:
            if getattr(exc, "spotify_id", None) is None:
                raise
            return await self._resolve_with_spotify(ctx, text, exc)  # see SpotifyOps

    # ------------------------------------------------------------------ recommendations

    async def recommend(
        self,
        user_id: int,
        seeds: Sequence[str] | None = None,
        k: int = 5,
        filters: Filters | None = None,
        *,
        guild_id: int | None = None,
        channel_id: int | None = None,
    ) -> list[Suggestion]:
        uid, count, checked = self._user(user_id), self._count(k), self._filters(filters)
        texts = self._seed_texts(seeds)
        ctx = self._ctx
        # Albums and playlists stand for all their catalogue tracks: a few anchors, none suggested back.
        anchors, covered = await self._seed_rows(ctx, texts)
        return await self._recommend(ctx, uid, anchors, count, checked, guild_id, channel_id, exclude=covered)

    async def more_like(self, user_id: int, suggestion_id: int, k: int = 5) -> list[Suggestion]:
        uid, count = self._user(user_id), self._count(k)
        record = await self._suggestion_record(suggestion_id)
        if record is None:
            raise InvalidInput(GONE)
        ctx = self._ctx
        row = ctx.engine.row_of(record.track_id)
        if row is None:
            raise InvalidInput("That song is no longer in the catalogue.")
        return await self._recommend(ctx, uid, (row,), count, None, record.guild_id, record.channel_id)

    async def _recommend(
        self,
        ctx: EngineContext,
        uid: int,
        seeds: tuple[int, ...],
        k: int,
        filters: Filters | None,
        guild_id: int | None,
        channel_id: int | None,
        *,
        exclude: frozenset[int] = frozenset(),
    ) -> list[Suggestion]:
        cfg = self.config
        with db_errors():
            votes = await self._store.feedback_for_user(uid)
            recent = await self._store.recent_suggested_tracks(
                uid, since_seconds=cfg.recent_window_s, limit=cfg.recent_limit
            )
        liked = self._rows(ctx, [v.track_id for v in votes if v.value > 0])
        disliked = self._rows(ctx, [v.track_id for v in votes if v.value < 0])
        rate = await self._explore_rate(filters, guild_id)
        self._maybe_refresh_ratings()
        ranker = self.ranker
        request = RecommendRequest(
            user_id=uid,
            k=k,
            seeds=seeds,
            liked=liked,
            disliked=disliked,
            excluded=frozenset(self._rows(ctx, recent)) | exclude,
            filters=filters,
            explore_n=self._share(k, rate),
            neighbour_likes=await self._cpu(self._neighbour_likes, ctx, uid),
            rng_seed=self._rng.getrandbits(32),
        )
        picks = await self._cpu(plan_recommendations, ctx, request, cfg, ranker)
        return await self._record(ctx, ranker, picks, user_id=uid, channel_id=channel_id, guild_id=guild_id)

    @staticmethod
    def _rows(ctx: EngineContext, track_ids: Sequence[str]) -> tuple[int, ...]:
        rows = (ctx.engine.row_of(t) for t in track_ids)
        return tuple(dict.fromkeys(r for r in rows if r is not None))

    def _share(self, k: int, rate: float) -> int:
        """k * rate picks, the fraction rounded up or down at random so the long-run share is exact."""
        exact = k * rate
        whole = int(exact)
        return whole + (1 if self._rng.random() < exact - whole else 0)

    async def _explore_rate(self, filters: Filters | None, guild_id: int | None) -> float:
        if filters is not None and filters.explore_rate is not None:
            return float(filters.explore_rate)
        if guild_id is not None:
            return (await self._guild_cached(guild_id)).explore_rate
        return self.config.explore_rate

    def _neighbour_likes(self, ctx: EngineContext, uid: int) -> tuple[tuple[int, int, float], ...]:
        cfg = self.config
        neighbours = self._ratings.neighbours(
            uid,
            min_overlap=cfg.similar_min_overlap,
            min_correlation=cfg.similar_min_correlation,
            limit=cfg.similar_max_neighbours,
        )
        if not neighbours:
            return ()
        found = []
        for track_id, (count, vote) in self._ratings.neighbour_likes(uid, neighbours).items():
            row = ctx.engine.row_of(track_id)
            if row is not None:
                found.append((row, count, vote))
        found.sort(key=lambda f: (-f[2], -f[1], f[0]))
        return tuple(found[:500])

    async def _record(
        self,
        ctx: EngineContext,
        ranker: CandidateScorer | None,
        picks: list[Pick],
        *,
        user_id: int | None,
        channel_id: int | None,
        guild_id: int | None,
        session_id: int | None = None,
    ) -> list[Suggestion]:
        """Store the picks (rank, model version, score, parts, reason, kind); return them with their ids."""
        if not picks:
            return []
        infos = [ctx.info(p.row) for p in picks]
        version = self._model_version(ctx, ranker)
        new = [
            NewSuggestion(
                track_id=info.track_id,
                rank=rank,
                model_version=version,
                kind=stored_kind(pick.kind),
                score=pick.score,
                score_parts=pick.parts,
                reason=pick.reason,
                user_id=user_id,
                session_id=session_id,
                channel_id=channel_id,
                guild_id=guild_id,
            )
            for rank, (pick, info) in enumerate(zip(picks, infos, strict=True), 1)
        ]
        with db_errors():
            records = await self._store.record_suggestions(new)
        return [self._suggestion(ctx, r, info) for r, info in zip(records, infos, strict=True)]

    def _suggestion(
        self, ctx: EngineContext, record: SuggestionRecord, info: TrackInfo | None = None
    ) -> Suggestion:
        parts = {
            str(name): float(value)
            for name, value in record.score_parts.items()
            if isinstance(value, int | float) and not isinstance(value, bool)
        }
        return Suggestion(
            id=record.id,
            track=info or self._track_info(ctx, record.track_id),
            rank=record.rank,
            kind=service_kind(record),  # type: ignore[arg-type]
            reason=record.reason,
            score=float(record.score or 0.0),
            score_parts=parts,
            model_version=record.model_version,
            session_id=record.session_id,
        )

    async def _suggestion_record(self, suggestion_id: Any) -> SuggestionRecord | None:
        if isinstance(suggestion_id, bool) or not isinstance(suggestion_id, int | np.integer):
            raise InvalidInput(GONE)
        if not 0 < suggestion_id <= MAX_ID:
            return None
        with db_errors():
            return await self._store.get_suggestion(int(suggestion_id))

    async def get_suggestion(self, suggestion_id: int) -> Suggestion | None:
        record = await self._suggestion_record(suggestion_id)
        return None if record is None else self._suggestion(self._ctx, record)

    async def attach_message(
        self, suggestion_ids: Sequence[int], message_id: int, channel_id: int, guild_id: int | None
    ) -> None:
        with db_errors():
            await self._store.attach_message(list(suggestion_ids), message_id, channel_id, guild_id)

    async def suggestions_for_message(self, message_id: int) -> list[Suggestion]:
        with db_errors():
            records = await self._store.suggestions_for_message(message_id)
        ctx = self._ctx
        return [self._suggestion(ctx, r) for r in records]

    # ------------------------------------------------------------------ feedback

    async def like(
        self,
        user_id: int,
        track: str | None = None,
        *,
        suggestion_id: int | None = None,
        source: FeedbackSource = "command",
        guild_id: int | None = None,
        channel_id: int | None = None,
    ) -> FeedbackResult:
        return await self._rate(1, user_id, track, suggestion_id, source, guild_id, channel_id)

    async def dislike(
        self,
        user_id: int,
        track: str | None = None,
        *,
        suggestion_id: int | None = None,
        source: FeedbackSource = "command",
        guild_id: int | None = None,
        channel_id: int | None = None,
    ) -> FeedbackResult:
        return await self._rate(-1, user_id, track, suggestion_id, source, guild_id, channel_id)

    async def _rate(
        self,
        value: int,
        user_id: int,
        track: str | None,
        suggestion_id: int | None,
        source: str,
        guild_id: int | None,
        channel_id: int | None,
    ) -> FeedbackResult:
        uid = self._user(user_id)
        if source not in _SOURCES:
            raise InvalidInput(f"Unknown feedback source {str(source)[:20]!r}.")
        ctx = self._ctx
        track_id, sid = await self._target(ctx, uid, track, suggestion_id, channel_id)
        with db_errors():
            before = await self._store.live_feedback(uid, track_id)
            record = await self._store.add_feedback(
                uid, track_id, value, _STORED_SOURCE.get(source, source), guild_id, channel_id, sid
            )
        self._ratings.set(uid, track_id, value)
        changed = before is None or before.id != record.id
        if changed:
            metrics().feedback(source, "like" if value > 0 else "dislike")
        return FeedbackResult(self._track_info(ctx, track_id), value, changed)

    async def _target(
        self,
        ctx: EngineContext,
        uid: int,
        track: str | None,
        suggestion_id: int | None,
        channel_id: int | None,
    ) -> tuple[str, int | None]:
        """What a vote is about: a suggestion, a named track, or the last suggestion shown here."""
        if suggestion_id is not None:
            record = await self._suggestion_record(suggestion_id)
            if record is None:
                raise InvalidInput(GONE)
            return record.track_id, record.id
        if track is not None:
            row = await self._resolve(ctx, track)
            return ctx.info(row).track_id, None
        last = await self._last_shown(uid, channel_id)
        if last is None:
            raise NothingToRate(NOTHING_TO_RATE)
        return last.track_id, last.id

    async def _last_shown(self, uid: int, channel_id: int | None) -> SuggestionRecord | None:
        """The newest suggestion the user saw in the channel: their own, or their session's."""
        with db_errors():
            best = await self._store.last_suggestion(uid, channel_id)
            if channel_id is None:
                return best
            session = await self._store.active_session(channel_id)
            if session is None:
                return best
            members = {m.user_id for m in await self._store.members(session.id)}
            if uid not in members:
                return best
            ids = [t.suggestion_id for t in await self._store.session_tracks(session.id) if t.suggestion_id]
            if ids and (best is None or max(ids) > best.id):
                return await self._store.get_suggestion(max(ids)) or best
            return best

    async def undo(
        self,
        user_id: int,
        *,
        suggestion_id: int | None = None,
        track: str | None = None,
        value: int | None = None,
    ) -> FeedbackResult | None:
        uid = self._user(user_id)
        if value not in (None, 1, -1):
            raise InvalidInput("Only a like (+1) or a dislike (-1) can be taken back.")
        ctx = self._ctx
        with db_errors():
            if suggestion_id is None and track is None:
                record = await self._store.undo_feedback(uid)
            else:
                track_id, _ = await self._target(ctx, uid, track, suggestion_id, None)
                if value is not None:
                    live = await self._store.live_feedback(uid, track_id)
                    if live is None or live.value != value:
                        return None
                record = await self._store.undo_feedback(uid, track_id=track_id)
        if record is None:
            return None
        self._ratings.remove(uid, record.track_id)
        metrics().feedback("any", "undo")
        return FeedbackResult(self._track_info(ctx, record.track_id), 0, True)

    async def why(self, user_id: int, suggestion_id: int | None = None, channel_id: int | None = None) -> str:
        uid = self._user(user_id)
        if suggestion_id is None:
            record = await self._last_shown(uid, channel_id)
            if record is None:
                raise NothingToRate("I haven't suggested anything to you here yet.")
        else:
            record = await self._suggestion_record(suggestion_id)
            if record is None:
                raise InvalidInput(GONE)
        return explain(self._suggestion(self._ctx, record))

    # ------------------------------------------------------------------ the user's data

    async def history(self, user_id: int, limit: int = 20) -> list[HistoryItem]:
        uid = self._user(user_id)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_HISTORY:
            raise InvalidInput(f"History shows between 1 and {MAX_HISTORY} entries.")
        with db_errors():
            votes = await self._store.feedback_for_user(uid)
        ctx = self._ctx
        return [
            HistoryItem(
                track=self._track_info(ctx, v.track_id),
                value=v.value,
                source=v.source,
                created_at=datetime.fromtimestamp(v.created_at, UTC).isoformat(timespec="seconds"),
            )
            for v in sorted(votes, key=lambda v: (v.created_at, v.id), reverse=True)[:limit]
        ]

    async def profile(self, user_id: int) -> Profile:
        uid = self._user(user_id)
        with db_errors():
            votes = await self._store.feedback_for_user(uid)
        ctx = self._ctx
        liked = list(self._rows(ctx, [v.track_id for v in votes if v.value > 0]))
        infos = [ctx.info(r) for r in liked]
        artists = Counter(a for t in infos for a in t.artists)
        genres = Counter(t.genre for t in infos if t.genre)
        decades = Counter(f"{t.year // 10 * 10}s" for t in infos if t.year)
        summary: dict[str, float] = {}
        if liked:
            means = ctx.engine.scaled[liked].mean(axis=0)
            names = list(NUMERIC_FEATURES)
            summary = {f: round(float(means[names.index(f)]), 4) for f in DESCRIBED}
        neighbours = await self._cpu(
            partial(
                self._ratings.neighbours,
                uid,
                min_overlap=self.config.similar_min_overlap,
                min_correlation=self.config.similar_min_correlation,
                limit=5,
            )
        )
        return Profile(
            user_id=uid,
            likes=sum(1 for v in votes if v.value > 0),
            dislikes=sum(1 for v in votes if v.value < 0),
            top_artists=tuple(a for a, _ in artists.most_common(5)),
            top_genres=tuple(g for g, _ in genres.most_common(5)),
            decades=tuple(d for d, _ in decades.most_common(5)),
            feature_summary=summary,
            similar_users=tuple(n.user_id for n in neighbours),
        )

    async def forget_user(self, user_id: int) -> int:
        uid = self._user(user_id)
        with db_errors():
            counts = await self._store.forget_user(uid)
        self._ratings.forget(uid)
        return sum(n for table, n in counts.items() if table != "sessions")  # sessions are only unlinked

    async def export_user(self, user_id: int) -> dict[str, Any]:
        uid = self._user(user_id)
        with db_errors():
            return await self._store.export_user(uid)

    async def autocomplete(self, text: str, limit: int = 25) -> list[TrackInfo]:
        if not isinstance(text, str):
            raise InvalidInput("Type part of a song title.")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_AUTOCOMPLETE:
            raise InvalidInput(f"Autocomplete returns between 1 and {MAX_AUTOCOMPLETE} songs.")
        if not text.strip():
            return []
        # A default-pool thread, not the CPU pool: keystrokes must not queue behind recommendations.
        return await asyncio.to_thread(self._ctx.engine.autocomplete, text[:300], limit)

    # ------------------------------------------------------------------ similar listeners

    def _maybe_refresh_ratings(self) -> None:
        stale = time.monotonic() - self._ratings.loaded_at > self.config.ratings_refresh_s
        if stale and (self._refresh is None or self._refresh.done()):
            self._refresh = asyncio.create_task(self._refresh_quietly(), name="songrec-ratings-refresh")

    async def _refresh_quietly(self) -> None:
        try:
            await self._reload_ratings()
        except Exception as exc:  # a refresh failing must not fail a request: retry next time
            log.warning("could not refresh ratings from the database: %s", exc)

    async def _reload_ratings(self) -> None:
        self._ratings.begin_reload()
        try:
            with db_errors():
                votes = [(v.user_id, v.track_id, v.value) async for v in self._store.iter_feedback()]
        except BaseException:
            self._ratings.abort_reload()
            raise
        self._ratings.finish_reload(votes)

    async def similar_users(self, user_id: int, limit: int = 10) -> list[tuple[int, float]]:
        """Listeners whose likes and dislikes correlate with this user's: (user id, Pearson r)."""
        uid = self._user(user_id)
        cfg = self.config
        found = await self._cpu(
            partial(
                self._ratings.neighbours,
                uid,
                min_overlap=cfg.similar_min_overlap,
                min_correlation=cfg.similar_min_correlation,
                limit=limit,
            )
        )
        return [(n.user_id, n.correlation) for n in found]

    # ------------------------------------------------------------------ guild settings and status

    async def get_guild_settings(self, guild_id: int) -> GuildSettings:
        guild_id = self._guild(guild_id)
        with db_errors():
            stored = await self._store.get_guild_settings(guild_id)
        settings = GuildSettings(
            guild_id=stored.guild_id,
            command_channel_id=stored.command_channel_id,
            # A guild that never chose keeps following the service default (not the schema's).
            explore_rate=stored.explore_rate if stored.updated_at is not None else self.config.explore_rate,
            session_strategy=stored.session_strategy,  # type: ignore[arg-type]
        )
        self._guilds[settings.guild_id] = (time.monotonic(), settings)
        return settings

    async def update_guild_settings(self, guild_id: int, **changes: Any) -> GuildSettings:
        unknown = set(changes) - _SETTINGS
        if unknown:
            raise InvalidInput(f"Unknown setting(s): {', '.join(sorted(unknown))}.")
        rate = changes.get("explore_rate")
        if "explore_rate" in changes and (
            isinstance(rate, bool) or not isinstance(rate, int | float) or not 0.0 <= rate <= 1.0
        ):
            raise InvalidInput("The explore rate must be between 0 and 1.")
        if "session_strategy" in changes and changes["session_strategy"] not in _STRATEGIES:
            raise InvalidInput("Strategy must be 'average' or 'least_misery'.")
        current = await self.get_guild_settings(guild_id)
        with db_errors():
            stored = await self._store.get_guild_settings(guild_id)
            if stored.updated_at is None:  # first save: pin the defaults the guild was running with
                changes = {"explore_rate": current.explore_rate, **changes}
            await self._store.set_guild_settings(guild_id, **changes)
        return await self.get_guild_settings(guild_id)

    async def _guild_cached(self, guild_id: int) -> GuildSettings:
        cached = self._guilds.get(guild_id)
        if cached is not None and time.monotonic() - cached[0] < self.config.guild_settings_ttl_s:
            return cached[1]
        return await self.get_guild_settings(guild_id)

    async def status(self) -> dict[str, Any]:
        ctx = self._ctx
        with db_errors():
            size = await self._store.database_size()
            runs = await self._store.last_training_runs(5)
        metrics = ctx.engine.manifest.metrics
        current = current_pointer(self._artifacts or paths.artifacts_dir(), "embedding")
        return {
            "model_version": ctx.version,
            "current_version": current,
            "serving_note": serving_note(ctx.version, current, ctx.engine.problems),
            "catalogue_size": ctx.engine.size,
            "index_recall": metrics.get("recall_at_10"),
            "embedding_problems": list(ctx.engine.problems),
            "ranker": None if self.ranker is None else type(self.ranker).__name__,
            "ranker_version": getattr(self.ranker, "version", None),
            "ranker_metrics": getattr(self.ranker, "metrics", None),
            "database_path": self._store.path,
            "database_bytes": size,
            "training_runs": [
                {
                    "id": r.id,
                    "status": r.status,
                    "started_at": r.started_at,
                    "finished_at": r.finished_at,
                    "artifact_version": r.artifact_version,
                    "promoted": r.promoted,
                    "metrics": r.metrics,
                }
                for r in runs
            ],
        }


def explain(suggestion: Suggestion) -> str:
    """The reason, then the score as the sum of its parts (what /why shows)."""
    summed = [(n, v) for n, v in suggestion.score_parts.items() if not n.startswith(INFO_PREFIXES)]
    terms = " ".join(f"{'+' if v >= 0 else '-'} {n.replace('_', ' ')} {abs(v):.2f}" for n, v in summed)
    terms = terms[2:] if terms.startswith("+ ") else terms
    notes = [
        f"{n.removeprefix('n_').removeprefix('info_').replace('_', ' ')} {v:g}"
        for n, v in suggestion.score_parts.items()
        if n.startswith(INFO_PREFIXES)
    ]
    head = (
        f"{suggestion.track.name} by {suggestion.track.artist_line or 'unknown artist'}: {suggestion.reason}."
    )
    tail = f"\nScore {suggestion.score:.2f} = {terms}" if terms else f"\nScore {suggestion.score:.2f}"
    if notes:
        tail += f" ({'; '.join(notes)})"
    return f"{head}{tail}\n{suggestion.kind.replace('_', ' ')} pick, model {suggestion.model_version}."
