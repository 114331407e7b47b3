"""The records songrec's layers pass each other: rows the store returns and answers the service gives.

The service speaks only these types, so front ends never see DataFrames, SQL rows or tensors, and the
store returns them so callers never see a driver's row type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from songrec.domain.vocabulary import (
    DEFAULT_EXPLORE_RATE,
    DEFAULT_SESSION_STRATEGY,
    MAX_USER_EXPLORE_RATE,
    FeedbackSource,
    SessionStrategy,
    SuggestionKind,
    TrainingStatus,
)

# ------------------------------------------------------------------------------------ stored rows


@dataclass(frozen=True, slots=True)
class UserRecord:
    user_id: int
    created_at: float
    settings: dict[str, Any]
    #: The listener's own explore share (0..MAX_USER_EXPLORE_RATE); None: their server's or the default.
    explore_rate: float | None = None


@dataclass(frozen=True, slots=True)
class VotePage:
    """A page of votes as parallel columns, oldest first: what a job that reads every vote needs (the
    training job, the listeners-like-you cache) without a FeedbackRecord per vote, which at a million
    votes cost more than the query."""

    ids: tuple[int, ...]
    user_ids: tuple[int, ...]
    track_ids: tuple[str, ...]
    values: tuple[int, ...]
    undone: tuple[bool, ...]  # True where the vote was undone or replaced (only with include_undone)

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True, slots=True)
class FeedbackRecord:
    """One vote. ``undone_at`` is the tombstone: set by undo, or when an opposite vote replaced it."""

    id: int
    user_id: int
    track_id: str
    value: int
    source: FeedbackSource
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
    kind: SuggestionKind
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
    kind: SuggestionKind
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
    strategy: SessionStrategy
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
class TrainingRunRecord:
    id: int
    started_at: float
    finished_at: float | None
    status: TrainingStatus
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


@dataclass(frozen=True, slots=True)
class GuildSettings:
    """A guild's settings; ``updated_at`` is None while the guild still runs on the defaults."""

    guild_id: int
    command_channel_id: int | None = None
    explore_rate: float = DEFAULT_EXPLORE_RATE
    session_strategy: SessionStrategy = DEFAULT_SESSION_STRATEGY
    updated_at: float | None = None
    #: The server's monthly mix (/settings): posted on the first of each month to ``mix_channel_id``.
    mix_enabled: bool = False
    mix_channel_id: int | None = None
    #: Who may start, skip and end group sessions and post or export the mix (/settings dj_role);
    #: members with Manage Server always may. None: no DJ role, those commands stay as open as before.
    dj_role_id: int | None = None


@dataclass(frozen=True, slots=True)
class ExploreShare:
    """How much of a listener's "from your taste" answers explores, and whose choice that is."""

    rate: float  # what applies: the listener's own, else their server's, else the default
    source: Literal["yours", "server", "default"]
    own: float | None = None  # the listener's own choice; None: they never made one

    @property
    def summary(self) -> str:
        """E.g. "30% of your suggestions from your taste explore (your choice)." (Discord and chat)."""
        whose = {"yours": "your choice", "server": "this server's share", "default": "the default"}
        text = f"{self.rate:.0%} of your suggestions from your taste explore ({whose[self.source]})."
        if self.source != "yours":
            text += f" Choose your own share from 0% to {MAX_USER_EXPLORE_RATE:.0%}."
        return text


@dataclass(frozen=True, slots=True)
class ServerMixRecord:
    """One server's mix for one month, as stored: claimed (the unique (guild, month) row) before it is
    posted, so a restart or a second bot process finds it and posts nothing twice."""

    id: int
    guild_id: int
    month: str  # "2026-11"
    title: str
    summary: str
    listeners: int
    likes: int
    top_artists: tuple[str, ...]
    tracks: tuple[tuple[str, int], ...]  # (track id, members' likes that month; 0: a group suggestion)
    channel_id: int | None
    message_id: int | None
    playlist_url: str | None
    claimed_at: float | None  # None: released after a failed post, free to claim again
    posted_at: float | None


# ------------------------------------------------------------------------------------ answers


#: The track id of a local track (songrec audio): this prefix and a hash of the file's path.
LIBRARY_TRACK_PREFIX = "library-"


@dataclass(frozen=True, slots=True)
class TrackInfo:
    """A catalogue track as front ends show it.

    `year_exact` is False where a source gives only the decade (the Hit Predictor files): `year` is then
    the decade's middle, a number for the model, and is shown as "1960s" (`year_label`), never as a year.
    """

    track_id: str
    name: str
    artists: tuple[str, ...]
    year: int | None
    popularity: float | None
    genre: str | None = None
    year_exact: bool = True

    @property
    def artist_line(self) -> str:
        return ", ".join(self.artists)

    @property
    def decade(self) -> int | None:
        """1960 for any year of the 1960s; None when the year is unknown."""
        return None if self.year is None else self.year // 10 * 10

    @property
    def year_label(self) -> str | None:
        """What to print for when it came out: "1965" when the year is known, "1960s" when only the
        decade is, None when neither."""
        if self.year is None:
            return None
        return str(self.year) if self.year_exact else f"{self.decade}s"

    @property
    def from_library(self) -> bool:
        """A file from the operator's own music that no catalogue track matched (songrec audio)."""
        return self.track_id.startswith(LIBRARY_TRACK_PREFIX)

    @property
    def source(self) -> str:
        """Where the track comes from: "catalogue", or "library" (the operator's own audio files)."""
        return "library" if self.from_library else "catalogue"

    @property
    def spotify_url(self) -> str:
        """The track on Spotify; "" for a file of the operator's library, which Spotify does not know."""
        return "" if self.from_library else f"https://open.spotify.com/track/{self.track_id}"

    @property
    def listen_at(self) -> str:
        """Where to hear it, for a line of text: the Spotify link, or that it is one of the library's files."""
        return self.spotify_url or "(from your library)"


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
class TasteCard:
    """/taste: a listener's taste as a picture and in words; `png` is None when they like nothing yet."""

    user_id: int
    likes: int
    top_genres: tuple[str, ...]
    decades: tuple[str, ...]
    top_artists: tuple[str, ...]
    summary: str  # one line in words (or, with no likes, what to do to get a card)
    png: bytes | None = field(default=None, repr=False)
    width: int = 0
    height: int = 0


@dataclass(frozen=True, slots=True)
class TasteMatch:
    """/compat: how alike two listeners' tastes are, and how that was measured."""

    user_id: int
    other_id: int
    #: "votes": Pearson over co-rated tracks; "profiles": cosine of the mean embeddings of their likes;
    #: "none": one of them likes nothing yet (score 0).
    method: str
    score: float  # -1 .. 1
    overlap: int  # tracks both rated
    both_like: tuple[TrackInfo, ...]
    suggestions: tuple[TrackInfo, ...]  # songs both would like: the group blend for the two of them
    summary: str


@dataclass(frozen=True, slots=True)
class MixTrack:
    track: TrackInfo
    likes: int  # members' likes that month; 0 for a group suggestion


@dataclass(frozen=True, slots=True)
class ServerMix:
    """/mix: a server's month in songs, the most liked blended with suggestions for its listeners.

    ``fresh`` is True only for the caller that just claimed it: that caller posts it and then calls
    ``mix_posted`` (or ``release_mix`` when posting failed). An empty ``tracks`` means nothing to post;
    ``summary`` says why in words.
    """

    guild_id: int
    month: str  # "2026-11"
    title: str
    summary: str
    listeners: int = 0
    likes: int = 0
    top_artists: tuple[str, ...] = ()
    tracks: tuple[MixTrack, ...] = ()
    fresh: bool = False
    channel_id: int | None = None
    message_id: int | None = None
    playlist_url: str | None = None


@dataclass(frozen=True, slots=True)
class ServerCharts:
    """/charts: a server's most liked songs and artists over a period, from votes given in it."""

    guild_id: int
    period: str  # a ChartPeriod
    songs: tuple[tuple[TrackInfo, int], ...]  # most liked first, with their likes
    artists: tuple[tuple[str, int], ...]
    listeners: int
    likes: int
    summary: str


@dataclass(frozen=True, slots=True)
class PrivacyReport:
    """What songrec stores about a listener, what it is used for, and their choice (/privacy)."""

    user_id: int
    choice: str  # a PrivacyChoice
    stored: dict[str, int]  # what is kept: likes, dislikes, suggestions, sessions
    uses: tuple[str, ...]  # what it is used for, in words, under this choice


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
