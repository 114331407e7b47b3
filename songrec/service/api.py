"""The one way in for every front end: what the Discord bot, `songrec chat` and the CLI may call.

`songrec.service.Service` implements it; front ends type against this Protocol so they stay
thin and never reach for SQL, DataFrames or torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from songrec.domain import (
    ExploreShare,
    FeedbackResult,
    FeedbackSource,
    Filters,
    GuildSettings,
    HistoryItem,
    ImportedSeeds,
    PlaylistExport,
    PrivacyReport,
    Profile,
    ServerCharts,
    ServerMix,
    SessionInfo,
    SessionStrategy,
    SessionSummary,
    Suggestion,
    TasteCard,
    TasteMatch,
    TrackInfo,
)


class LearningControl(Protocol):
    """The learning loop as a front end may steer it (training's embedded scheduler satisfies it)."""

    def retrain_now(self, reason: str) -> bool:
        """Start a retraining run in the background; False when one is already going."""
        ...


class SongService(Protocol):
    #: The learning loop beside the service (/admin retrain); None when this process runs none.
    learning: LearningControl | None

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
        """Seeds are free text: a title, "title - artist", a Spotify URL/URI, a track id, or an artist's
        name where it is an artist and not a better-known title ("Nirvana").

        `artist` with seeds narrows each title to that artist; alone it asks for songs like the artist
        (their most representative songs as anchors, none of theirs suggested). Without either the
        user's taste is used (cold start when they have none: every pick's kind is "cold_start"). Raises
        TrackNotFound / AmbiguousTrack / InvalidInput (all SongrecError) on bad seeds.
        """

    async def more_like(self, user_id: int, suggestion_id: int, k: int = 5) -> list[Suggestion]: ...

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
        """With neither track nor suggestion_id: the last suggestion shown to the user in that channel."""

    async def dislike(
        self,
        user_id: int,
        track: str | None = None,
        *,
        suggestion_id: int | None = None,
        source: FeedbackSource = "command",
        guild_id: int | None = None,
        channel_id: int | None = None,
    ) -> FeedbackResult: ...

    async def undo(
        self,
        user_id: int,
        *,
        suggestion_id: int | None = None,
        track: str | None = None,
        value: int | None = None,
    ) -> FeedbackResult | None:
        """Remove the user's feedback (only if it still has `value`, when given); None when nothing to undo."""

    async def why(
        self,
        user_id: int,
        suggestion_id: int | None = None,
        channel_id: int | None = None,
        *,
        details: bool = False,
    ) -> str:
        """Why a suggestion (default: the last one shown here) was picked, in words; with `details`, also
        its score as the sum of its parts, its kind and the model."""

    async def history(self, user_id: int, limit: int = 20) -> list[HistoryItem]: ...

    async def profile(self, user_id: int) -> Profile: ...

    async def forget_user(self, user_id: int) -> int:
        """Deletes every row of that user; returns how many rows went."""

    async def export_user(self, user_id: int) -> dict[str, Any]: ...

    async def privacy(self, user_id: int) -> PrivacyReport:
        """What is stored about the user, what it is used for, and their choice (/privacy)."""

    async def set_privacy(self, user_id: int, choice: str) -> PrivacyReport:
        """ "shared", "private" (only their own suggestions) or "off" (learned from by nothing); applies at
        once to listeners-like-you and at the next retrain to the global models. InvalidInput otherwise."""

    async def explore_share(self, user_id: int, *, guild_id: int | None = None) -> ExploreShare:
        """The share of the listener's "from your taste" answers that explores (in this server), and
        whose choice it is: theirs, the server's, or the default."""

    async def set_explore_share(
        self, user_id: int, rate: float | None, *, guild_id: int | None = None
    ) -> ExploreShare:
        """The listener's own explore share, 0 to MAX_USER_EXPLORE_RATE (InvalidInput otherwise); None goes
        back to the server's. It overrides the server's share for their answers only."""

    async def taste_card(
        self, user_id: int, *, viewer_id: int | None = None, name: str | None = None
    ) -> TasteCard:
        """The user's taste card (a 1200x675 PNG, their top genres, decades, artists and a summary line),
        asked for by `viewer_id` (default: themself), titled with `name`. No likes: png None, words why.
        NotShared when someone else asks and the user opted out in /privacy."""

    async def compat(self, user_id: int, other_id: int) -> TasteMatch:
        """How alike two listeners are (Pearson over co-rated tracks when enough, else their taste
        profiles; `method` says which), songs both like, three both would like. NotShared when the other
        opted out; InvalidInput for oneself."""

    async def neighbours(
        self, user_id: int, *, guild_id: int | None = None, limit: int = 5
    ) -> list[tuple[int, float]]:
        """The listeners whose votes correlate most with the user's (user id, Pearson r), only those who
        share their taste, and (with guild_id) who voted in that server."""

    async def autocomplete(self, text: str, limit: int = 25) -> list[TrackInfo]:
        """Catalogue titles matching what the user is typing (fast: called on every keystroke), ranked
        as search() ranks them; a track id gives that track."""

    async def search(self, text: str, limit: int = 10) -> list[TrackInfo]:
        """Catalogue songs for a title or artist typed, by relevance (title, artist, popularity), one
        entry per song (remasters and re-releases are the same song). InvalidInput for blank text."""

    async def get_suggestion(self, suggestion_id: int) -> Suggestion | None: ...

    async def attach_message(
        self, suggestion_ids: Sequence[int], message_id: int, channel_id: int, guild_id: int | None
    ) -> None: ...

    async def suggestions_for_message(self, message_id: int) -> list[Suggestion]: ...

    # Group listening sessions (one active session per text channel).
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
    ) -> SessionInfo: ...

    async def join_session(self, channel_id: int, user_id: int) -> SessionInfo: ...

    async def leave_session(self, channel_id: int, user_id: int) -> SessionInfo: ...

    async def active_session(self, channel_id: int) -> SessionInfo | None: ...

    async def session_for_voice_channel(self, voice_channel_id: int) -> SessionInfo | None: ...

    async def session_next(self, channel_id: int, user_id: int, k: int = 5) -> list[Suggestion]: ...

    async def end_session(self, channel_id: int, user_id: int) -> SessionSummary: ...

    # Spotify: optional. Without credentials (or the operator's login) these raise SpotifyNotSetUp,
    # whose message says how to enable them; everything else keeps working.
    async def import_playlist(self, user_id: int, url: str) -> ImportedSeeds:
        """A Spotify playlist's (or album's) tracks that are in the catalogue, in order, with how many are
        not; PlaylistUnavailable when Spotify won't serve its tracks (Spotify-made or someone's private list).
        The same link works as a seed in recommend() and start_session() right after."""

    async def export_playlist(
        self,
        user_id: int,
        *,
        count: int | None = None,
        session_id: int | None = None,
        name: str | None = None,
        public: bool = True,
    ) -> PlaylistExport:
        """Create a playlist in the operator's Spotify account: the user's `count` most recent suggestions
        (default 20) in the order shown, or a session's suggestions (the user must have been in it)."""

    # The server's monthly mix and charts: from the votes members gave in that server, opted-out
    # listeners (/privacy) left out.
    async def monthly_mix(
        self, guild_id: int, *, month: str | None = None, name: str | None = None
    ) -> ServerMix:
        """The server's mix of a month that is over (YYYY-MM, default the last one), titled with `name`.
        Claimed once per server and month: `fresh` is True only for the caller that must post it (then
        mix_posted, or release_mix if posting failed); the others get the stored mix. No likes that
        month: no tracks, nothing stored, the summary says so."""

    async def mix_posted(self, guild_id: int, month: str, channel_id: int, message_id: int) -> None:
        """The claimed mix was posted as that message; nobody posts that month again."""

    async def release_mix(self, guild_id: int, month: str) -> None:
        """Posting the claimed mix failed: let the next attempt (or /mix now) claim it at once."""

    async def mix_guilds(self) -> list[GuildSettings]:
        """The servers that turned their monthly mix on (/settings)."""

    async def export_mix(self, user_id: int, guild_id: int, month: str | None = None) -> PlaylistExport:
        """The month's mix as a Spotify playlist: created once, the same link for every later export."""

    async def charts(self, guild_id: int, period: str = "week", limit: int = 10) -> ServerCharts:
        """The server's most liked songs and artists over the last week, month (30 days) or all time."""

    async def get_guild_settings(self, guild_id: int) -> GuildSettings: ...

    async def update_guild_settings(self, guild_id: int, **changes: Any) -> GuildSettings: ...

    async def status(self) -> dict[str, Any]:
        """Model versions, catalogue size, index recall, last training runs, database size."""
