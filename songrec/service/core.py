"""The recommendation service: a facade over the collaborators that do the work, one engine per request.

Concurrency model: the event loop only orchestrates. CPU work (index queries, clustering, scoring)
runs in a bounded thread pool (runtime.CpuPool) on the immutable Engine read once per request, so
swapping in a new engine (or ranker) between requests is one reference assignment (runtime.Serving) and
never disturbs a request in flight. Every write goes through the store's single writer (group commit):
nothing is lost or doubled.

Collaborators, each handed what it needs (no mixins): seeds.SeedResolver (what a seed stands for),
sessions.Sessions (group sessions), spotify_ops.SpotifyOps (Spotify), suggestions.SuggestionLog
(recording and reading suggestions), guilds.GuildSettingsBook (server settings), user_data.UserData (a
listener's own data and privacy choice), charts.ChartBook and server_mix.ServerMixes (/charts, the mix); checks and tracks are the small helpers they share.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

import numpy as np

from songrec import settings as paths
from songrec.content.engine import Engine
from songrec.coordination import Coordination, LocalCoordination
from songrec.domain import (
    ArtifactError,
    ExploreShare,
    FeedbackResult,
    FeedbackSource,
    Filters,
    GuildSettings,
    HistoryItem,
    ImportedSeeds,
    InvalidInput,
    NotFound,
    NothingToRate,
    PlaylistExport,
    PrivacyReport,
    Profile,
    ServerCharts,
    ServerMix,
    ServiceUnavailable,
    SessionInfo,
    SessionStrategy,
    SessionSummary,
    Suggestion,
    TasteCard,
    TasteMatch,
    TrackInfo,
)
from songrec.ops.metrics import metrics
from songrec.service import checks
from songrec.service.api import LearningControl
from songrec.service.charts import ChartBook
from songrec.service.compat import TasteMatcher
from songrec.service.config import ServiceConfig
from songrec.service.errors import db_errors
from songrec.service.explore_share import ExploreShares, explore_count
from songrec.service.guilds import GuildSettingsBook
from songrec.service.health import service_status
from songrec.service.planner import RecommendRequest
from songrec.service.planning import Planning
from songrec.service.ratings_refresh import RatingsRefresh
from songrec.service.reasons import explain
from songrec.service.runtime import CpuPool, Serving, resettle_heap, settle_heap
from songrec.service.scoring import CandidateScorer
from songrec.service.seeds import SeedResolver
from songrec.service.server_mix import ServerMixes
from songrec.service.sessions import Sessions
from songrec.service.similar_users import RatingsCache
from songrec.service.spotify_ops import SpotifyOps
from songrec.service.suggestions import GONE, SuggestionLog
from songrec.service.taste_cards import TasteCards
from songrec.service.tracks import rows_of, track_info
from songrec.service.user_data import UserData
from songrec.store import StoreBackend, open_store

if TYPE_CHECKING:
    from songrec.spotify.client import SpotifyClient

log = logging.getLogger(__name__)

MAX_AUTOCOMPLETE = 100
_SOURCES = frozenset(get_args(FeedbackSource))
NOTHING_TO_RATE = "There's nothing to rate here yet: ask me for /recommend first, or name a song."


def _load_engine(artifacts: Path | None) -> Engine:
    try:
        return Engine.load(artifacts)
    except ArtifactError as exc:
        raise ServiceUnavailable(
            f"No trained model to recommend from yet ({exc}). Run `songrec train` first."
        ) from exc


class Service:
    """Implements songrec.service.api.SongService. Open with `await Service.open(...)`."""

    #: The learning loop's control (/admin retrain), set by whoever runs one beside the service.
    learning: LearningControl | None

    def __init__(
        self,
        store: StoreBackend,
        engine: Engine,
        *,
        config: ServiceConfig,
        spotify: SpotifyClient | None = None,
        artifacts: Path | None = None,
        coordination: Coordination | None = None,
    ) -> None:
        self.config = config
        self.learning = None
        #: State shared with the deployment's other processes (the session lock; the bot's cooldowns
        #: and the retrain lease use the same one). Closed by whoever opened it.
        self.coordination: Coordination = coordination or LocalCoordination()
        self._store = store
        self._artifacts = artifacts
        self._serving = Serving(engine)
        self._cpu = CpuPool(config.cpu_workers)
        self._ratings = RatingsCache()
        self._planning = Planning(config, self._cpu, self._ratings, self.user_ratings)
        self._rng = random.Random(config.seed)
        self.guilds = GuildSettingsBook(store, config)
        self.explore = ExploreShares(store, config, self.guilds)
        self.user_data = UserData(store, self._serving, self._cpu, self._ratings, config)
        self._ratings_refresh = RatingsRefresh(store, self._cpu, self._ratings, self.user_data, config)
        self.cards = TasteCards(store, self._serving, self._cpu, self.user_data)
        self.matches = TasteMatcher(store, self._serving, self._cpu, self._ratings, self.user_data, config)
        self.suggestions = SuggestionLog(store, self._serving)
        self.spotify = SpotifyOps(store, self._serving, self._cpu, spotify)
        self.seeds = SeedResolver(config, self._cpu, self.spotify)
        self.charts_book = ChartBook(store, self._serving, self._cpu, self.user_data)
        self.mixes = ServerMixes(store, self._serving, self._cpu, self.charts_book, self.spotify, config)
        self.sessions = Sessions(
            config,
            store,
            self._serving,
            self._cpu,
            self.seeds,
            self.suggestions,
            self.guilds,
            self.coordination,
        )

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    async def open(
        cls,
        db_path: str | Path | None = None,
        artifacts: str | Path | None = None,
        spotify: SpotifyClient | None = None,
        config: ServiceConfig | None = None,
        *,
        engine: Engine | None = None,
        coordination: Coordination | None = None,
    ) -> Service:
        """Load the current artifact (off the event loop) and open the database.

        `spotify` is an optional songrec.spotify.client.SpotifyClient: without one, links to tracks outside the
        catalogue get a TrackNotFound with the closest catalogue tracks. `engine` skips loading (tests).
        `coordination` is the deployment's shared state (songrec.coordination.open_coordination, opened
        and closed by the caller); without it session locks are per process.
        """
        config = config or ServiceConfig()
        root = Path(artifacts) if artifacts is not None else None
        if engine is None:
            engine = await asyncio.to_thread(_load_engine, root)
        with db_errors():
            store = await open_store(
                db_path if db_path is not None else paths.database_location(),
                busy_deadline_s=config.busy_deadline_s,
            )
        service = cls(
            store, engine, config=config, spotify=spotify, artifacts=root, coordination=coordination
        )
        if spotify is not None and spotify.cache is None:
            spotify.cache = store  # Spotify metadata is cached in the database
        try:
            await service._reload_ratings()
        except BaseException:
            await service.close()
            raise
        settle_heap()  # what open loaded lives as long as the service: no full collection walks it again
        service._planning.start(engine, service.ranker)  # planning processes, when configured
        return service

    async def close(self) -> None:
        """Finish queued writes and release the database and threads. Safe to call twice."""
        self._ratings_refresh.cancel()
        await self._planning.close()
        await self._store.close()
        await self._cpu.shutdown()

    async def __aenter__(self) -> Service:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def engine(self) -> Engine:
        return self._serving.engine

    @property
    def ranker(self) -> CandidateScorer | None:
        """Re-ranks candidates when set (the learning loop plugs in a classifier or CF model)."""
        return self._serving.ranker

    @property
    def store(self) -> StoreBackend:
        return self._store

    async def swap_engine(self, engine: Engine) -> None:
        """Serve from `engine` from the next request on; requests in flight finish on the old one."""
        swapped = self._serving.engine is not engine
        self._serving.engine = engine  # everything it needs was derived at load: one assignment
        self._planning.use_engine(engine)
        log.info("serving engine %s (%d tracks)", engine.version, engine.size)
        if swapped:
            await resettle_heap()  # the old engine is collected before the heap is frozen again

    async def reload_engine(self) -> str:
        """Load the artifact now marked current and swap it in; returns its version."""
        engine = await asyncio.to_thread(_load_engine, self._artifacts)
        await self.swap_engine(engine)
        return engine.version

    def swap_ranker(self, ranker: CandidateScorer | None) -> None:
        """Score candidates with `ranker` from the next request on (None: embedding scores only)."""
        self._serving.ranker = ranker
        self._planning.use_ranker(ranker)

    def user_ratings(self, user_id: int) -> dict[str, int]:
        """The user's live votes by track id, from memory (what a ranker folds a new user in from)."""
        return self._ratings.ratings_of(user_id)

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
        artist: str | None = None,
    ) -> list[Suggestion]:
        uid, count = checks.user(user_id), checks.count(k, self.config.max_k)
        checked = checks.filters(filters)
        texts = checks.seed_texts(seeds, self.config.max_seeds)
        engine = self._serving.engine
        # Albums, playlists and artists stand for all their tracks: a few anchors, none suggested back.
        anchors, covered = await self.seeds.anchors(engine, texts, artist)
        return await self._recommend(
            engine, uid, anchors, count, checked, guild_id, channel_id, exclude=covered
        )

    async def more_like(self, user_id: int, suggestion_id: int, k: int = 5) -> list[Suggestion]:
        uid, count = checks.user(user_id), checks.count(k, self.config.max_k)
        record = await self.suggestions.fetch(suggestion_id)
        if record is None:
            raise InvalidInput(GONE)
        engine = self._serving.engine
        row = engine.row_of(record.track_id)
        if row is None:
            raise InvalidInput("That song is no longer in the catalogue.")
        return await self._recommend(engine, uid, (row,), count, None, record.guild_id, record.channel_id)

    async def _recommend(
        self,
        engine: Engine,
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
            votes, recent = await self._store.feedback_and_recent(
                uid, since_seconds=cfg.recent_window_s, limit=cfg.recent_limit
            )
        votes = votes if self.user_data.learns_from(uid) else []  # /privacy off: steer nothing
        liked = rows_of(engine, [v.track_id for v in votes if v.value > 0])
        disliked = rows_of(engine, [v.track_id for v in votes if v.value < 0])
        rate = await self.explore.rate_for(uid, filters, guild_id, seeded=bool(seeds))
        self._ratings_refresh.maybe_start()
        ranker = self._serving.ranker
        request = RecommendRequest(
            user_id=uid,
            k=k,
            seeds=seeds,
            liked=liked,
            disliked=disliked,
            excluded=frozenset(rows_of(engine, recent)) | exclude,
            filters=filters,
            explore_n=explore_count(k, rate),
            rng_seed=self._rng.getrandbits(32),
        )
        picks = await self._planning.plan(engine, ranker, request)
        return await self.suggestions.record(
            engine, ranker, picks, user_id=uid, channel_id=channel_id, guild_id=guild_id
        )

    async def get_suggestion(self, suggestion_id: int) -> Suggestion | None:
        record = await self.suggestions.fetch(suggestion_id)
        return None if record is None else self.suggestions.suggestion(self._serving.engine, record)

    async def attach_message(
        self, suggestion_ids: Sequence[int], message_id: int, channel_id: int, guild_id: int | None
    ) -> None:
        with db_errors():
            await self._store.attach_message(list(suggestion_ids), message_id, channel_id, guild_id)

    async def suggestions_for_message(self, message_id: int) -> list[Suggestion]:
        with db_errors():
            records = await self._store.suggestions_for_message(message_id)
        engine = self._serving.engine
        return [self.suggestions.suggestion(engine, r) for r in records]

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
        uid = checks.user(user_id)
        if source not in _SOURCES:
            raise InvalidInput(f"Unknown feedback source {str(source)[:20]!r}.")
        engine = self._serving.engine
        track_id: str | None = None
        if suggestion_id is not None:  # the store reads the suggestion inside the vote's transaction
            if (
                isinstance(suggestion_id, bool)
                or not isinstance(suggestion_id, int | np.integer)
                or not 0 < suggestion_id <= checks.MAX_ID
            ):
                raise InvalidInput(GONE)
            sid: int | None = int(suggestion_id)
        else:
            track_id, sid = await self._target(engine, uid, track, None, channel_id)
        with db_errors():
            try:  # one write transaction: the vote, and whether it changed anything
                record, changed = await self._store.vote(
                    uid,
                    value,
                    source,
                    track_id=track_id,
                    suggestion_id=sid,
                    guild_id=guild_id,
                    channel_id=channel_id,
                )
            except NotFound as exc:  # the suggestion was forgotten (or never existed)
                raise InvalidInput(GONE) from exc
        self._ratings.set(uid, record.track_id, value)
        if changed:
            metrics().feedback(source, "like" if value > 0 else "dislike")
        return FeedbackResult(track_info(engine, record.track_id), value, changed)

    async def _target(
        self,
        engine: Engine,
        uid: int,
        track: str | None,
        suggestion_id: int | None,
        channel_id: int | None,
    ) -> tuple[str, int | None]:
        """What a vote is about: a suggestion, a named track, or the last suggestion shown here."""
        if suggestion_id is not None:
            record = await self.suggestions.fetch(suggestion_id)
            if record is None:
                raise InvalidInput(GONE)
            return record.track_id, record.id
        if track is not None:
            row = await self.seeds.song(engine, track)
            return engine.track_id(row), None
        last = await self.suggestions.last_shown(uid, channel_id)
        if last is None:
            raise NothingToRate(NOTHING_TO_RATE)
        return last.track_id, last.id

    async def undo(
        self,
        user_id: int,
        *,
        suggestion_id: int | None = None,
        track: str | None = None,
        value: int | None = None,
    ) -> FeedbackResult | None:
        uid = checks.user(user_id)
        if value not in (None, 1, -1):
            raise InvalidInput("Only a like (+1) or a dislike (-1) can be taken back.")
        engine = self._serving.engine
        with db_errors():
            if suggestion_id is None and track is None:
                record = await self._store.undo_feedback(uid)
            else:
                track_id, _ = await self._target(engine, uid, track, suggestion_id, None)
                if value is not None:
                    live = await self._store.live_feedback(uid, track_id)
                    if live is None or live.value != value:
                        return None
                record = await self._store.undo_feedback(uid, track_id=track_id)
        if record is None:
            return None
        self._ratings.remove(uid, record.track_id)
        metrics().feedback("any", "undo")
        return FeedbackResult(track_info(engine, record.track_id), 0, True)

    async def why(
        self,
        user_id: int,
        suggestion_id: int | None = None,
        channel_id: int | None = None,
        *,
        details: bool = False,
    ) -> str:
        uid = checks.user(user_id)
        if suggestion_id is None:
            record = await self.suggestions.last_shown(uid, channel_id)
            if record is None:
                raise NothingToRate("I haven't suggested anything to you here yet.")
        else:
            record = await self.suggestions.fetch(suggestion_id)
            if record is None:
                raise InvalidInput(GONE)
        return explain(self.suggestions.suggestion(self._serving.engine, record), details=bool(details))

    # ------------------------------------------------------------------ the user's data

    async def history(self, user_id: int, limit: int = 20) -> list[HistoryItem]:
        return await self.user_data.history(user_id, limit)

    async def profile(self, user_id: int) -> Profile:
        return await self.user_data.profile(user_id)

    async def forget_user(self, user_id: int) -> int:
        removed = await self.user_data.forget_user(user_id)
        self.explore.forget(user_id)
        return removed

    async def explore_share(self, user_id: int, *, guild_id: int | None = None) -> ExploreShare:
        return await self.explore.share(user_id, guild_id)

    async def set_explore_share(
        self, user_id: int, rate: float | None, *, guild_id: int | None = None
    ) -> ExploreShare:
        return await self.explore.set(user_id, rate, guild_id)

    async def export_user(self, user_id: int) -> dict[str, Any]:
        return await self.user_data.export_user(user_id)

    async def privacy(self, user_id: int) -> PrivacyReport:
        return await self.user_data.privacy(user_id)

    async def set_privacy(self, user_id: int, choice: str) -> PrivacyReport:
        return await self.user_data.set_privacy(user_id, choice)

    async def taste_card(
        self, user_id: int, *, viewer_id: int | None = None, name: str | None = None
    ) -> TasteCard:
        return await self.cards.taste_card(user_id, viewer_id=viewer_id, name=name)

    async def compat(self, user_id: int, other_id: int) -> TasteMatch:
        return await self.matches.compat(user_id, other_id)

    async def neighbours(
        self, user_id: int, *, guild_id: int | None = None, limit: int = 5
    ) -> list[tuple[int, float]]:
        return await self.matches.neighbours(user_id, guild_id=guild_id, limit=limit)

    async def autocomplete(self, text: str, limit: int = 25) -> list[TrackInfo]:
        if not isinstance(text, str):
            raise InvalidInput("Type part of a song title.")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_AUTOCOMPLETE:
            raise InvalidInput(f"Autocomplete returns between 1 and {MAX_AUTOCOMPLETE} songs.")
        if not text.strip():
            return []
        # A default-pool thread, not the CPU pool: keystrokes must not queue behind recommendations.
        return await asyncio.to_thread(self._serving.engine.autocomplete, text[:300], limit)

    async def search(self, text: str, limit: int = 10) -> list[TrackInfo]:
        return await self.seeds.search(self._serving.engine, text, limit)

    # ------------------------------------------------------------------ similar listeners

    async def _reload_ratings(self, full: bool = True) -> None:
        """Bring the in-memory ratings up to date now (songrec.service.ratings_refresh)."""
        await self._ratings_refresh.reload(full)

    @property
    def last_ratings_refresh_s(self) -> float:
        """How long the last ratings refresh took, in seconds (the bench reports it)."""
        return self._ratings_refresh.last_s

    async def similar_users(self, user_id: int, limit: int = 10) -> list[tuple[int, float]]:
        """Listeners whose likes and dislikes correlate with this user's: (user id, Pearson r)."""
        found = await self.matches.correlated(checks.user(user_id), limit)
        return [(n.user_id, n.correlation) for n in found]

    # ------------------------------------------------------------------ seeds, sessions, Spotify

    async def resolve_seeds(self, text: str) -> list[TrackInfo]:
        """The catalogue tracks a song argument stands for (not recorded anywhere): one for a song or a
        track link, the known tracks of an album or playlist, a few songs of an artist link."""
        engine = self._serving.engine
        return [engine.info(r) for r in await self.seeds.rows(engine, text)]

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
        return await self.sessions.start_session(
            guild_id,
            channel_id,
            created_by,
            voice_channel_id=voice_channel_id,
            strategy=strategy,
            members=members,
            seeds=seeds,
        )

    async def join_session(self, channel_id: int, user_id: int) -> SessionInfo:
        return await self.sessions.join_session(channel_id, user_id)

    async def leave_session(self, channel_id: int, user_id: int) -> SessionInfo:
        return await self.sessions.leave_session(channel_id, user_id)

    async def active_session(self, channel_id: int) -> SessionInfo | None:
        return await self.sessions.active_session(channel_id)

    async def session_for_voice_channel(self, voice_channel_id: int) -> SessionInfo | None:
        return await self.sessions.session_for_voice_channel(voice_channel_id)

    async def session_next(self, channel_id: int, user_id: int, k: int = 5) -> list[Suggestion]:
        return await self.sessions.session_next(channel_id, user_id, k)

    async def end_session(self, channel_id: int, user_id: int) -> SessionSummary:
        return await self.sessions.end_session(channel_id, user_id)

    async def import_playlist(self, user_id: int, url: str) -> ImportedSeeds:
        return await self.spotify.import_playlist(user_id, url)

    async def export_playlist(
        self,
        user_id: int,
        *,
        count: int | None = None,
        session_id: int | None = None,
        name: str | None = None,
        public: bool = True,
    ) -> PlaylistExport:
        return await self.spotify.export_playlist(
            user_id, count=count, session_id=session_id, name=name, public=public
        )

    # ------------------------------------------------------------------ the server's mix and charts

    async def monthly_mix(
        self, guild_id: int, *, month: str | None = None, name: str | None = None
    ) -> ServerMix:
        return await self.mixes.monthly_mix(guild_id, month=month, name=name)

    async def mix_posted(self, guild_id: int, month: str, channel_id: int, message_id: int) -> None:
        await self.mixes.mix_posted(guild_id, month, channel_id, message_id)

    async def release_mix(self, guild_id: int, month: str) -> None:
        await self.mixes.release_mix(guild_id, month)

    async def mix_guilds(self) -> list[GuildSettings]:
        return await self.mixes.mix_guilds()

    async def export_mix(self, user_id: int, guild_id: int, month: str | None = None) -> PlaylistExport:
        return await self.mixes.export_mix(user_id, guild_id, month)

    async def charts(self, guild_id: int, period: str = "week", limit: int = 10) -> ServerCharts:
        return await self.charts_book.charts(guild_id, period, limit)

    # ------------------------------------------------------------------ guild settings and status

    async def get_guild_settings(self, guild_id: int) -> GuildSettings:
        return await self.guilds.get(guild_id)

    async def update_guild_settings(self, guild_id: int, **changes: Any) -> GuildSettings:
        return await self.guilds.update(guild_id, **changes)

    async def status(self) -> dict[str, Any]:
        status = await service_status(
            self._serving.engine, self._serving.ranker, self._store, self._artifacts
        )
        return {**status, "planning": self._planning.describe()}
