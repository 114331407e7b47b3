"""What every store backend provides, concern by concern, in songrec's own records and words.

The service and the training jobs type-hint against ``StoreBackend``; ``songrec.store.Store`` is the
SQLite backend, and a PostgreSQL backend implements the same protocols. Nothing here knows about a
driver: arguments and results are plain Python values and the records in ``songrec.domain``, and
failures are the ``songrec.domain`` errors (InvalidInput, NotFound, StoreBusy, StoreClosed, ...).

Semantics every backend keeps (tests/store/ checks them against each backend):

* every write is atomic and durable once its await returns; concurrent writers lose and double nothing;
* one live vote per (user, track); a repeat is a no-op, the opposite vote tombstones the old one;
* ``vote`` costs one write transaction and says whether it changed anything;
* ids only grow, so ``since_id`` cursors stay valid; times are unix seconds from the store's clock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from songrec.domain import (
    FeedbackRecord,
    GuildSettings,
    HistoryEntry,
    NewSuggestion,
    ServerMixRecord,
    SessionMemberRecord,
    SessionRecord,
    SessionTrackRecord,
    SuggestionRecord,
    TrainingRunRecord,
    UserRecord,
    VotePage,
)


@dataclass
class StoreStats:
    """Counters for tests, benchmarks and /stats."""

    #: Write transactions opened (each one that got the write lock), committed or rolled back.
    transactions: int = 0
    #: Write transactions committed, and the jobs they held (group commit: jobs >= batches).
    write_batches: int = 0
    write_jobs: int = 0
    #: Read jobs run outside a write transaction.
    reads: int = 0
    #: Attempts that found another process holding a lock and waited.
    busy_retries: int = 0


class UserStore(Protocol):
    async def ensure_user(self, user_id: int) -> UserRecord: ...
    async def get_user(self, user_id: int) -> UserRecord | None: ...
    async def get_user_settings(self, user_id: int) -> dict[str, Any]: ...
    async def set_user_settings(
        self, user_id: int, settings: dict[str, Any], *, replace: bool = False
    ) -> dict[str, Any]: ...
    async def users_with_setting(self, key: str) -> dict[int, Any]:
        """user id -> the value of ``key`` in their settings, for every user who has it."""
        ...

    async def get_explore_rate(self, user_id: int) -> float | None:
        """The listener's own explore share; None when they never chose one (their server's applies)."""
        ...

    async def set_explore_rate(self, user_id: int, rate: float | None) -> float | None:
        """Set the listener's own explore share (0..1; None clears it); returns what is stored."""
        ...


class FeedbackStore(Protocol):
    async def vote(
        self,
        user_id: int,
        value: int,
        source: str,
        *,
        track_id: str | None = None,
        suggestion_id: int | None = None,
        guild_id: int | None = None,
        channel_id: int | None = None,
    ) -> tuple[FeedbackRecord, bool]:
        """The live vote and whether it changed (new, or replaced the opposite vote): one transaction."""
        ...

    async def add_feedback(
        self,
        user_id: int,
        track_id: str,
        value: int,
        source: str,
        guild_id: int | None = None,
        channel_id: int | None = None,
        suggestion_id: int | None = None,
    ) -> FeedbackRecord: ...
    async def add_feedback_bulk(
        self, votes: Iterable[tuple[int, str, int, float]], source: str = ...
    ) -> int: ...
    async def undo_feedback(
        self, user_id: int, track_id: str | None = None, suggestion_id: int | None = None
    ) -> FeedbackRecord | None: ...
    async def live_feedback(self, user_id: int, track_id: str) -> FeedbackRecord | None: ...
    async def feedback_for_user(self, user_id: int) -> list[FeedbackRecord]: ...
    async def voted_in_guild(self, guild_id: int, user_ids: Sequence[int]) -> list[int]:
        """Those of ``user_ids`` with a live vote given in that guild, ascending."""
        ...

    async def feedback_and_recent(
        self, user_id: int, *, since_seconds: float | None = None, limit: int | None = None
    ) -> tuple[list[FeedbackRecord], list[str]]:
        """feedback_for_user and recent_suggested_tracks in one read (each recommend needs both)."""
        ...

    async def all_feedback(
        self, since_id: int = 0, *, include_undone: bool = False
    ) -> list[FeedbackRecord]: ...
    def iter_feedback(
        self, since_id: int = 0, *, include_undone: bool = False, batch_size: int = 5000
    ) -> AsyncIterator[FeedbackRecord]: ...
    def iter_vote_pages(
        self, since_id: int = 0, *, include_undone: bool = False, batch_size: int = 20000
    ) -> AsyncIterator[VotePage]:
        """iter_feedback's id, user, track and value as columns, a page at a time (no record per vote)."""
        ...

    async def feedback_count_since(self, since_id: int = 0, *, since_ts: float | None = None) -> int: ...
    async def last_feedback_id(self) -> int: ...


class SuggestionStore(Protocol):
    async def record_suggestions(self, suggestions: Iterable[NewSuggestion]) -> list[SuggestionRecord]: ...
    async def get_suggestion(self, suggestion_id: int) -> SuggestionRecord | None: ...
    async def attach_message(
        self, suggestion_ids: Sequence[int], message_id: int, channel_id: int, guild_id: int | None
    ) -> int: ...
    async def suggestions_for_message(self, message_id: int) -> list[SuggestionRecord]: ...
    async def last_suggestion(
        self, user_id: int, channel_id: int | None = None
    ) -> SuggestionRecord | None: ...
    async def recent_suggested_tracks(
        self, user_id: int, *, since_seconds: float | None = None, limit: int | None = None
    ) -> list[str]: ...


class SessionStore(Protocol):
    async def create_session(
        self,
        guild_id: int,
        channel_id: int,
        created_by: int,
        *,
        voice_channel_id: int | None = None,
        strategy: str = "average",
    ) -> SessionRecord: ...
    async def get_session(self, session_id: int) -> SessionRecord | None: ...
    async def active_session(self, channel_id: int) -> SessionRecord | None: ...
    async def active_session_for_voice(self, voice_channel_id: int) -> SessionRecord | None: ...
    async def add_member(self, session_id: int, user_id: int) -> SessionMemberRecord: ...
    async def remove_member(self, session_id: int, user_id: int) -> bool: ...
    async def members(self, session_id: int, *, include_left: bool = False) -> list[SessionMemberRecord]: ...
    async def add_session_tracks(
        self,
        session_id: int,
        track_ids: Sequence[str],
        *,
        suggestion_ids: Sequence[int | None] | None = None,
        played: bool = False,
    ) -> list[SessionTrackRecord]: ...
    async def mark_played(self, session_id: int, track_id: str) -> bool: ...
    async def session_tracks(self, session_id: int) -> list[SessionTrackRecord]: ...
    async def end_session(self, session_id: int) -> SessionRecord | None: ...


class GuildStore(Protocol):
    async def get_guild_settings(self, guild_id: int) -> GuildSettings: ...
    async def set_guild_settings(
        self,
        guild_id: int,
        *,
        command_channel_id: int | None = ...,
        explore_rate: float = ...,
        session_strategy: str = ...,
        mix_enabled: bool = ...,
        mix_channel_id: int | None = ...,
        dj_role_id: int | None = ...,
    ) -> GuildSettings:
        """Change only the settings given (command_channel_id=None or dj_role_id=None clears it); returns the
        result."""
        ...


class ServerMixStore(Protocol):
    """The server's monthly mix (one per guild and month, claimed before it is posted) and /charts."""

    async def guild_feedback(
        self, guild_id: int, *, since: float | None = None, until: float | None = None
    ) -> list[FeedbackRecord]:
        """The live votes given in that guild with since <= created_at < until (either end open), by id."""
        ...

    async def mix_guilds(self) -> list[GuildSettings]:
        """Every guild that turned its monthly mix on."""
        ...

    async def get_server_mix(self, guild_id: int, month: str) -> ServerMixRecord | None: ...
    async def claim_server_mix(
        self,
        guild_id: int,
        month: str,
        *,
        title: str,
        summary: str,
        listeners: int,
        likes: int,
        top_artists: Sequence[str],
        tracks: Sequence[tuple[str, int]],
        channel_id: int | None,
        stale_after_s: float = ...,
    ) -> tuple[ServerMixRecord, bool]:
        """One write transaction: (record, True) for the one caller that claims the (guild, month) mix,
        else (the stored one, False). An unposted claim is taken over once released or stale."""
        ...

    async def finish_server_mix(
        self, guild_id: int, month: str, channel_id: int, message_id: int
    ) -> ServerMixRecord: ...
    async def release_server_mix(self, guild_id: int, month: str) -> bool:
        """Free an unposted claim (its post failed); False when there was none to free."""
        ...

    async def set_server_mix_playlist(self, guild_id: int, month: str, url: str) -> ServerMixRecord: ...


class TrainingRunStore(Protocol):
    async def record_training_run(
        self, device: str, reason: str = "", *, status: str = "running", started_at: float | None = None
    ) -> TrainingRunRecord: ...
    async def update_training_run(
        self,
        run_id: int,
        *,
        status: str = ...,
        finished_at: float | None = ...,
        metrics: dict[str, Any] = ...,
        artifact_version: str | None = ...,
        promoted: bool = ...,
        reason: str = ...,
    ) -> TrainingRunRecord: ...
    async def fail_stale_runs(self, older_than_s: float, reason: str) -> int: ...
    async def last_training_runs(self, limit: int = 10) -> list[TrainingRunRecord]: ...
    async def last_promoted_run(self) -> TrainingRunRecord | None: ...


class SpotifyCacheStore(Protocol):
    async def get_spotify_track(
        self, track_id: str, *, max_age_s: float | None = None
    ) -> dict[str, Any] | None: ...
    async def get_spotify_tracks(
        self, track_ids: Sequence[str], *, max_age_s: float | None = None
    ) -> dict[str, dict[str, Any]]: ...
    async def put_spotify_track(self, track_id: str, payload: dict[str, Any]) -> None: ...


class PrivacyStore(Protocol):
    async def forget_user(self, user_id: int) -> dict[str, int]:
        """Erase every row about the user; returns rows removed per table."""
        ...

    async def export_user(self, user_id: int) -> dict[str, Any]: ...
    async def history(self, user_id: int, limit: int = 20) -> list[HistoryEntry]: ...


class MaintenanceStore(Protocol):
    async def database_size(self) -> int: ...
    async def integrity_check(self) -> list[str]:
        """Problems found; [] means healthy."""
        ...

    async def schema_version(self) -> int: ...


@runtime_checkable
class StoreBackend(
    UserStore,
    FeedbackStore,
    SuggestionStore,
    SessionStore,
    GuildStore,
    ServerMixStore,
    TrainingRunStore,
    SpotifyCacheStore,
    PrivacyStore,
    MaintenanceStore,
    Protocol,
):
    """One database, every concern: what the service holds. Close it when done (also ``async with``)."""

    #: Where the data lives, for status pages and for training jobs that reopen it (a path or a URL).
    path: str
    readonly: bool
    stats: StoreStats

    async def close(self) -> None: ...
    async def __aenter__(self) -> StoreBackend: ...
    async def __aexit__(self, *exc: object) -> None: ...
