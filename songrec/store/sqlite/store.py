"""``Store``: the SQLite backend of StoreBackend, one Database shared by one part per concern.

Each concern's SQL lives in its own module beside the method that runs it (users, feedback,
suggestions, sessions, guilds, server_mixes, training_runs, spotify_cache, privacy, maintenance); the parts are
also reachable directly (``store.feedback.vote(...)``). The flat names (``store.vote(...)``) are what
callers use and what the contract names: each forwards to its part with that part's signature.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from importlib.abc import Traversable
from pathlib import Path
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar, overload

from songrec.store.contract import StoreStats
from songrec.store.sqlite.connection import Database
from songrec.store.sqlite.feedback import SqliteFeedback
from songrec.store.sqlite.guilds import SqliteGuilds
from songrec.store.sqlite.maintenance import SqliteMaintenance
from songrec.store.sqlite.privacy import SqlitePrivacy
from songrec.store.sqlite.server_mix import SqliteServerMixes
from songrec.store.sqlite.sessions import SqliteSessions
from songrec.store.sqlite.spotify_cache import SqliteSpotifyCache
from songrec.store.sqlite.suggestions import SqliteSuggestions
from songrec.store.sqlite.training_runs import SqliteTrainingRuns
from songrec.store.sqlite.users import SqliteUsers

P = ParamSpec("P")
R = TypeVar("R")


class _Forward(Generic[P, R]):
    """``Store.<name>`` is ``store.<part>.<name>``: same signature, same docstring."""

    def __init__(self, part: str, method: Callable[Concatenate[Any, P], R]) -> None:
        self.part = part
        self.name = method.__name__
        self.__doc__ = method.__doc__

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> _Forward[P, R]: ...
    @overload
    def __get__(self, obj: object, owner: type | None = None) -> Callable[P, R]: ...
    def __get__(self, obj: object | None, owner: type | None = None) -> Any:
        if obj is None:
            return self
        return getattr(getattr(obj, self.part), self.name)


class Store:
    """Async, typed access to songrec's SQLite database. Open with ``await Store.open(path)``."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.users = SqliteUsers(db)
        self.feedback = SqliteFeedback(db)
        self.suggestions = SqliteSuggestions(db)
        self.sessions = SqliteSessions(db)
        self.guilds = SqliteGuilds(db)
        self.server_mixes = SqliteServerMixes(db)
        self.training_runs = SqliteTrainingRuns(db)
        self.spotify_cache = SqliteSpotifyCache(db)
        self.privacy = SqlitePrivacy(db)
        self.maintenance = SqliteMaintenance(db)

    @classmethod
    async def open(
        cls,
        path: str | os.PathLike[str],
        *,
        readonly: bool = False,
        busy_timeout_s: float = 0.1,
        busy_deadline_s: float = 10.0,
        migrations_dir: Traversable | Path | None = None,
        clock: Callable[[], float] = time.time,
        max_batch: int = 512,
    ) -> Store:
        """Open (creating if needed) the database and apply pending migrations.

        ``busy_timeout_s`` is how long SQLite itself waits for a lock per attempt (it blocks our one
        connection thread, so keep it short); ``busy_deadline_s`` is how long we keep retrying, with
        backoff, before raising StoreBusy. ``readonly`` opens without migrating (for a training job
        reading the bot's live database) and refuses a database whose schema is not current.
        ``max_batch`` caps the writes one group commit may hold (1 turns group commit off).
        """
        db = await Database.open(
            path,
            readonly=readonly,
            busy_timeout_s=busy_timeout_s,
            busy_deadline_s=busy_deadline_s,
            migrations_dir=migrations_dir,
            clock=clock,
            max_batch=max_batch,
        )
        return cls(db)

    @property
    def path(self) -> str:
        return self.db.path

    @property
    def readonly(self) -> bool:
        return self.db.readonly

    @property
    def stats(self) -> StoreStats:
        return self.db.stats

    async def close(self) -> None:
        """Finish every queued write, then close the connection. Safe to call twice."""
        await self.db.close()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # users
    ensure_user = _Forward("users", SqliteUsers.ensure_user)
    get_user = _Forward("users", SqliteUsers.get_user)
    get_user_settings = _Forward("users", SqliteUsers.get_user_settings)
    set_user_settings = _Forward("users", SqliteUsers.set_user_settings)
    users_with_setting = _Forward("users", SqliteUsers.users_with_setting)
    get_explore_rate = _Forward("users", SqliteUsers.get_explore_rate)
    set_explore_rate = _Forward("users", SqliteUsers.set_explore_rate)
    # feedback
    vote = _Forward("feedback", SqliteFeedback.vote)
    add_feedback = _Forward("feedback", SqliteFeedback.add_feedback)
    add_feedback_bulk = _Forward("feedback", SqliteFeedback.add_feedback_bulk)
    undo_feedback = _Forward("feedback", SqliteFeedback.undo_feedback)
    live_feedback = _Forward("feedback", SqliteFeedback.live_feedback)
    voted_in_guild = _Forward("feedback", SqliteFeedback.voted_in_guild)
    feedback_for_user = _Forward("feedback", SqliteFeedback.feedback_for_user)
    feedback_and_recent = _Forward("feedback", SqliteFeedback.feedback_and_recent)
    all_feedback = _Forward("feedback", SqliteFeedback.all_feedback)
    iter_feedback = _Forward("feedback", SqliteFeedback.iter_feedback)
    iter_vote_pages = _Forward("feedback", SqliteFeedback.iter_vote_pages)
    feedback_count_since = _Forward("feedback", SqliteFeedback.feedback_count_since)
    last_feedback_id = _Forward("feedback", SqliteFeedback.last_feedback_id)
    # suggestions
    record_suggestions = _Forward("suggestions", SqliteSuggestions.record_suggestions)
    get_suggestion = _Forward("suggestions", SqliteSuggestions.get_suggestion)
    attach_message = _Forward("suggestions", SqliteSuggestions.attach_message)
    suggestions_for_message = _Forward("suggestions", SqliteSuggestions.suggestions_for_message)
    last_suggestion = _Forward("suggestions", SqliteSuggestions.last_suggestion)
    recent_suggested_tracks = _Forward("suggestions", SqliteSuggestions.recent_suggested_tracks)
    # sessions
    create_session = _Forward("sessions", SqliteSessions.create_session)
    get_session = _Forward("sessions", SqliteSessions.get_session)
    active_session = _Forward("sessions", SqliteSessions.active_session)
    active_session_for_voice = _Forward("sessions", SqliteSessions.active_session_for_voice)
    add_member = _Forward("sessions", SqliteSessions.add_member)
    remove_member = _Forward("sessions", SqliteSessions.remove_member)
    members = _Forward("sessions", SqliteSessions.members)
    add_session_tracks = _Forward("sessions", SqliteSessions.add_session_tracks)
    mark_played = _Forward("sessions", SqliteSessions.mark_played)
    session_tracks = _Forward("sessions", SqliteSessions.session_tracks)
    end_session = _Forward("sessions", SqliteSessions.end_session)
    # guild settings
    get_guild_settings = _Forward("guilds", SqliteGuilds.get_guild_settings)
    set_guild_settings = _Forward("guilds", SqliteGuilds.set_guild_settings)
    # the server's monthly mix and charts
    guild_feedback = _Forward("server_mixes", SqliteServerMixes.guild_feedback)
    mix_guilds = _Forward("server_mixes", SqliteServerMixes.mix_guilds)
    get_server_mix = _Forward("server_mixes", SqliteServerMixes.get_server_mix)
    claim_server_mix = _Forward("server_mixes", SqliteServerMixes.claim_server_mix)
    finish_server_mix = _Forward("server_mixes", SqliteServerMixes.finish_server_mix)
    release_server_mix = _Forward("server_mixes", SqliteServerMixes.release_server_mix)
    set_server_mix_playlist = _Forward("server_mixes", SqliteServerMixes.set_server_mix_playlist)
    # training runs
    record_training_run = _Forward("training_runs", SqliteTrainingRuns.record_training_run)
    update_training_run = _Forward("training_runs", SqliteTrainingRuns.update_training_run)
    fail_stale_runs = _Forward("training_runs", SqliteTrainingRuns.fail_stale_runs)
    last_training_runs = _Forward("training_runs", SqliteTrainingRuns.last_training_runs)
    last_promoted_run = _Forward("training_runs", SqliteTrainingRuns.last_promoted_run)
    # spotify cache
    get_spotify_track = _Forward("spotify_cache", SqliteSpotifyCache.get_spotify_track)
    get_spotify_tracks = _Forward("spotify_cache", SqliteSpotifyCache.get_spotify_tracks)
    put_spotify_track = _Forward("spotify_cache", SqliteSpotifyCache.put_spotify_track)
    # privacy
    forget_user = _Forward("privacy", SqlitePrivacy.forget_user)
    export_user = _Forward("privacy", SqlitePrivacy.export_user)
    history = _Forward("privacy", SqlitePrivacy.history)
    # maintenance
    database_size = _Forward("maintenance", SqliteMaintenance.database_size)
    integrity_check = _Forward("maintenance", SqliteMaintenance.integrity_check)
    pragmas = _Forward("maintenance", SqliteMaintenance.pragmas)  # SQLite only: not in the contract
    schema_version = _Forward("maintenance", SqliteMaintenance.schema_version)
