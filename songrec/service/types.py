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


@dataclass(frozen=True, slots=True)
class ImportedSeeds:
    """A Spotify album or playlist read as seeds: the tracks the catalogue knows, and what it lacks."""

    kind: str  # "album" or "playlist"
    name: str
    url: str
    tracks: tuple[TrackInfo, ...]  # catalogue tracks, in the collection's order, each once
    missing: int = 0  # Spotify tracks that are not in the catalogue yet
    skipped: int = 0  # local files, podcast episodes and removed tracks
    missing_examples: tuple[str, ...] = ()  # "Title by Artist" of a few missing ones

    @property
    def note(self) -> str:
        """One sentence for the user: what was taken and what was not (and why)."""
        what = f"the {self.kind} “{self.name}”" if self.name else f"that {self.kind}"
        total = len(self.tracks) + self.missing
        text = f"Took {len(self.tracks)} of {total} tracks from {what} as seeds"
        if self.missing:
            examples = "; ".join(self.missing_examples[:3])
            verb = "isn't" if self.missing == 1 else "aren't"
            text += f"; {self.missing} {verb} in the catalogue yet"
            text += f" (e.g. {examples})" if examples else ""
        if self.skipped:
            text += f"; skipped {self.skipped} local files, episodes or removed tracks"
        return text + "."


@dataclass(frozen=True, slots=True)
class PlaylistExport:
    """A playlist songrec created in the operator's Spotify account."""

    url: str
    name: str
    tracks: tuple[TrackInfo, ...]  # in playlist order
    skipped: int = 0  # suggestions without a usable Spotify id


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


class NotInCatalogueYet(TrackNotFound):
    """A Spotify track (or every track of an album/playlist) that the catalogue lacks; `str()` says which,
    and `closest` holds the nearest catalogue tracks by the same artist or with the same name."""

    def __init__(
        self,
        query: str,
        message: str,
        closest: list[TrackInfo] | None = None,
        *,
        title: str | None = None,
        artist: str | None = None,
    ) -> None:
        self.query = query
        self.closest = closest or []
        self.title = title
        self.artist = artist
        SongrecError.__init__(self, message)


class SpotifyProblem(SongrecError):
    """Spotify could not do what was asked (refused, rate limited, unreachable); the message says why."""


class SpotifyNotSetUp(SpotifyProblem, InvalidInput):
    """Spotify credentials or the operator's login are missing or expired: the message says how to fix it.

    Also an InvalidInput: as the server is set up, the request can't be served (use track links instead).
    """


class PlaylistUnavailable(SpotifyProblem):
    """Spotify will not serve that playlist's tracks to songrec (Spotify-made, private, or gone)."""
