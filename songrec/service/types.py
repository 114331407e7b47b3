"""Records and errors every front end (Discord bot, terminal chat, CLI) shares with the service.

The service speaks only these types, so front ends never see DataFrames, SQL rows or tensors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

FeedbackSource = Literal["command", "reaction", "button", "session", "chat", "cli"]
SuggestionKind = Literal["content", "taste", "explore", "cold_start", "similar_users", "session"]
SessionStrategy = Literal["average", "least_misery"]


@dataclass(frozen=True, slots=True)
class TrackInfo:
    track_id: str
    name: str
    artists: tuple[str, ...]
    year: int | None
    popularity: float | None
    genre: str | None = None

    @property
    def artist_line(self) -> str:
        return ", ".join(self.artists)

    @property
    def spotify_url(self) -> str:
        return f"https://open.spotify.com/track/{self.track_id}"


@dataclass(frozen=True, slots=True)
class Suggestion:
    """One suggested track, as stored: `id` is what buttons and reactions refer to."""

    id: int
    track: TrackInfo
    rank: int
    kind: SuggestionKind
    reason: str
    score: float
    score_parts: dict[str, float] = field(default_factory=dict)
    model_version: str = ""
    session_id: int | None = None


@dataclass(frozen=True, slots=True)
class Filters:
    max_popularity: float | None = None
    min_popularity: float | None = None
    explore_rate: float | None = None  # None -> the user's or guild's default


@dataclass(frozen=True, slots=True)
class FeedbackResult:
    track: TrackInfo
    value: int  # +1 like, -1 dislike, 0 undone
    changed: bool  # False when the same feedback was already recorded (idempotent)


@dataclass(frozen=True, slots=True)
class Profile:
    user_id: int
    likes: int
    dislikes: int
    top_artists: tuple[str, ...]
    top_genres: tuple[str, ...]
    decades: tuple[str, ...]
    feature_summary: dict[str, float]  # mean of liked tracks' audio features, 0..1 scaled
    similar_users: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class HistoryItem:
    track: TrackInfo
    value: int  # +1 / -1
    source: str
    created_at: str


@dataclass(frozen=True, slots=True)
class SessionInfo:
    id: int
    guild_id: int | None
    channel_id: int
    voice_channel_id: int | None
    strategy: SessionStrategy
    members: tuple[int, ...]
    active: bool


@dataclass(frozen=True, slots=True)
class SessionSummary:
    session: SessionInfo
    suggested: tuple[TrackInfo, ...]
    liked: tuple[tuple[TrackInfo, tuple[int, ...]], ...]  # track, members who liked it


@dataclass(frozen=True, slots=True)
class GuildSettings:
    guild_id: int
    command_channel_id: int | None = None
    explore_rate: float = 0.2
    session_strategy: SessionStrategy = "average"


class SongrecError(Exception):
    """A failure the user can act on; `str(error)` is safe to show them."""


class TrackNotFound(SongrecError):
    def __init__(self, query: str, closest: list[TrackInfo] | None = None) -> None:
        self.query = query
        self.closest = closest or []
        hint = ""
        if self.closest:
            hint = " Closest matches: " + "; ".join(f"{t.name} by {t.artist_line}" for t in self.closest[:5])
        super().__init__(f"I couldn't find that song in the catalogue.{hint}")


class AmbiguousTrack(SongrecError):
    def __init__(self, query: str, candidates: list[TrackInfo]) -> None:
        self.query = query
        self.candidates = candidates
        listed = "; ".join(f"{t.name} by {t.artist_line} ({t.year})" for t in candidates[:10])
        super().__init__(f"Several songs match; add the artist to pick one: {listed}")


class InvalidInput(SongrecError):
    """Bad arguments: empty or oversized text, counts out of range, malformed links."""


class NothingToRate(SongrecError):
    """/like or /dislike with no song and no recent suggestion in that channel."""


class NotInSession(SongrecError):
    pass


class ServiceUnavailable(SongrecError):
    """The database is busy or the models are not loaded; try again shortly."""
