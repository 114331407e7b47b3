"""Typed rows the store returns (and the few inputs it takes), so callers never see sqlite3.Row or SQL."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

#: Where a vote came from.
FEEDBACK_SOURCES: frozenset[str] = frozenset({"command", "reaction", "button", "session"})
#: Which recommender branch produced a suggestion.
SUGGESTION_KINDS: frozenset[str] = frozenset({"content", "explore", "cold_start", "cf", "similar_users"})
#: How a group session combines its members' scores.
SESSION_STRATEGIES: frozenset[str] = frozenset({"average", "least_misery"})
TRAINING_STATUSES: frozenset[str] = frozenset({"running", "succeeded", "failed", "skipped", "cancelled"})
DEFAULT_EXPLORE_RATE = 0.1
DEFAULT_SESSION_STRATEGY = "average"

FeedbackSource = Literal["command", "reaction", "button", "session"]
SuggestionKind = Literal["content", "explore", "cold_start", "cf", "similar_users"]
SessionStrategy = Literal["average", "least_misery"]


@dataclass(frozen=True, slots=True)
class UserRecord:
    user_id: int
    created_at: float
    settings: dict[str, Any]


@dataclass(frozen=True, slots=True)
class FeedbackRecord:
    """One vote. ``undone_at`` is the tombstone: set by undo, or when an opposite vote replaced it."""

    id: int
    user_id: int
    track_id: str
    value: int
    source: str
    guild_id: int | None
    channel_id: int | None
    suggestion_id: int | None
    created_at: float
    undone_at: float | None
    replaced_by: int | None

    @property
    def live(self) -> bool:
        return self.undone_at is None


@dataclass(frozen=True, slots=True)
class NewSuggestion:
    """A suggestion about to be recorded. Give user_id (personal) or session_id (group), or both.

    Never put other users' ids into ``score_parts`` or ``reason``: forget_user can only erase rows it
    can find by their user columns.
    """

    track_id: str
    rank: int
    model_version: str
    kind: str
    score: float | None = None
    score_parts: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    user_id: int | None = None
    session_id: int | None = None
    channel_id: int | None = None
    guild_id: int | None = None


@dataclass(frozen=True, slots=True)
class SuggestionRecord:
    id: int
    user_id: int | None
    session_id: int | None
    track_id: str
    rank: int
    model_version: str
    score: float | None
    score_parts: dict[str, Any]
    reason: str
    kind: str
    message_id: int | None
    channel_id: int | None
    guild_id: int | None
    created_at: float
    posted_at: float | None


@dataclass(frozen=True, slots=True)
class SessionRecord:
    id: int
    guild_id: int
    channel_id: int
    voice_channel_id: int | None
    created_by: int | None
    strategy: str
    started_at: float
    ended_at: float | None

    @property
    def active(self) -> bool:
        return self.ended_at is None


@dataclass(frozen=True, slots=True)
class SessionMemberRecord:
    id: int
    session_id: int
    user_id: int
    joined_at: float
    left_at: float | None


@dataclass(frozen=True, slots=True)
class SessionTrackRecord:
    id: int
    session_id: int
    track_id: str
    suggestion_id: int | None
    suggested_at: float
    played_at: float | None


@dataclass(frozen=True, slots=True)
class GuildSettings:
    """A guild's settings; ``updated_at`` is None when the guild never changed the defaults."""

    guild_id: int
    command_channel_id: int | None = None
    explore_rate: float = DEFAULT_EXPLORE_RATE
    session_strategy: str = DEFAULT_SESSION_STRATEGY
    updated_at: float | None = None


@dataclass(frozen=True, slots=True)
class TrainingRunRecord:
    id: int
    started_at: float
    finished_at: float | None
    status: str
    device: str
    metrics: dict[str, Any]
    artifact_version: str | None
    promoted: bool
    reason: str


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One line of a user's history: a suggestion they got, or a vote they cast (newest first)."""

    at: float
    event: Literal["suggested", "liked", "disliked"]
    track_id: str
    suggestion_id: int | None
    source: str | None  # feedback source, or the suggestion kind for "suggested"
    undone: bool
