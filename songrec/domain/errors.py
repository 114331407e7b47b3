"""Every exception songrec raises on purpose, in one tree (the model is httpx's ``_exceptions.py``).

::

    SongrecBaseError                    anything songrec raises on purpose
    ├── SongrecError                    a failure the user can act on: str() is a sentence safe to show
    │   ├── InvalidInput (ValueError)   bad arguments: empty or huge text, counts out of range, bad votes
    │   │   ├── MalformedSpotifyLink    clearly meant as a Spotify link, but broken
    │   │   └── SpotifyNotSetUp         (also a SpotifyProblem) credentials or login missing or expired
    │   ├── TrackNotFound               no such song in the catalogue; `closest` holds near misses
    │   │   └── NotInCatalogueYet       a Spotify track the catalogue lacks
    │   ├── AmbiguousTrack              several songs match; `candidates` lists them
    │   ├── NothingToRate               /like with no song and nothing suggested here yet
    │   ├── NotInSession                no group session in this channel, or not a member
    │   ├── NotInVoice                  a voice-linked session asked for outside a voice channel
    │   ├── NotShared                   a listener opted out of being shown to or compared with others
    │   ├── ServiceUnavailable          database busy, models not loaded: try again shortly
    │   │   └── MetricsUnavailable      metrics asked for but cannot be served
    │   ├── BotConfigError              the bot cannot start as configured
    │   ├── SettingsError (ValueError)  an environment variable holds a value songrec cannot use
    │   └── SpotifyProblem              Spotify refused, rate limited or unreachable
    │       ├── SpotifyNotSetUp
    │       └── PlaylistUnavailable     Spotify will not serve that playlist's tracks
    ├── StoreError                      the database layer; the service turns each into a SongrecError
    │   ├── NotFound (LookupError)      the row an operation needs does not exist
    │   ├── SessionAlreadyActive        a channel already has a running session
    │   ├── StoreBusy                   another process held the write lock past the deadline
    │   ├── StoreClosed                 used after close()
    │   └── MigrationError              migration files or history inconsistent
    │       ├── DatabaseTooNew          migrated by a newer songrec: refused
    │       └── DatabaseTooOld          a read-only open found pending migrations
    ├── ArtifactError                   a missing, incomplete or corrupt model artifact
    ├── CatalogError                    a catalogue file cannot be used
    │   ├── CatalogNotFound             no catalogue found or fetched
    │   └── CatalogDownloadError        a download whose content cannot be trusted
    └── SpotifyError                    the Spotify client; SpotifyOps turns each into a SpotifyProblem
        ├── SpotifyNotConfigured        credentials missing from the environment
        ├── SpotifyAuthError            credentials or the stored login rejected
        │   └── SpotifyForbidden        403: this app or user may not do that
        ├── SpotifyNotFound             no such object, or nothing matched
        ├── SpotifyPlaylistHidden       Spotify refuses a playlist's tracks to this app
        ├── SpotifyFeatureUnavailable   a deprecated endpoint Spotify no longer serves
        ├── SpotifyRateLimited          asked to back off longer than we wait
        └── SpotifyUnavailable          unreachable, or kept failing after retries

Operator-side errors (store, artifacts, catalogue, Spotify client) carry messages for whoever runs
songrec; the service and the front ends translate them before a user sees anything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from songrec.domain.records import TrackInfo

__all__ = [
    "AmbiguousTrack",
    "ArtifactError",
    "BotConfigError",
    "CatalogDownloadError",
    "CatalogError",
    "CatalogNotFound",
    "DatabaseTooNew",
    "DatabaseTooOld",
    "InvalidInput",
    "MalformedSpotifyLink",
    "MetricsUnavailable",
    "MigrationError",
    "NotFound",
    "NotInCatalogueYet",
    "NotInSession",
    "NotInVoice",
    "NotShared",
    "NothingToRate",
    "PlaylistUnavailable",
    "ServiceUnavailable",
    "SessionAlreadyActive",
    "SettingsError",
    "SongrecBaseError",
    "SongrecError",
    "SpotifyAuthError",
    "SpotifyError",
    "SpotifyFeatureUnavailable",
    "SpotifyForbidden",
    "SpotifyNotConfigured",
    "SpotifyNotFound",
    "SpotifyNotSetUp",
    "SpotifyPlaylistHidden",
    "SpotifyProblem",
    "SpotifyRateLimited",
    "SpotifyUnavailable",
    "StoreBusy",
    "StoreClosed",
    "StoreError",
    "TrackNotFound",
]

SPOTIFY_LINK_EXAMPLE = "https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC"


class SongrecBaseError(Exception):
    """Root of the tree: catch this to catch anything songrec raises on purpose."""


# ------------------------------------------------------------------------------------ user-facing


class SongrecError(SongrecBaseError):
    """A failure the user can act on; `str(error)` is safe to show them."""


class InvalidInput(SongrecError, ValueError):
    """Bad arguments: empty or oversized text, counts out of range, malformed links, votes the store refuses."""


class MalformedSpotifyLink(InvalidInput):
    """The text is clearly meant as a Spotify link but cannot be used; the message says what to do."""

    def __init__(self, text: str, reason: str) -> None:
        self.text = text
        self.reason = reason
        super().__init__(
            f"That Spotify link looks malformed ({reason}). In Spotify use Share → Copy link and paste the "
            f"whole link, e.g. {SPOTIFY_LINK_EXAMPLE}"
        )


class TrackNotFound(SongrecError):
    """No catalogue song matches; `closest` holds near misses, `spotify_id` a Spotify link's track id."""

    def __init__(
        self, query: str, closest: list[TrackInfo] | None = None, *, spotify_id: str | None = None
    ) -> None:
        self.query = query
        self.closest = closest or []
        self.spotify_id = spotify_id
        hint = ""
        if self.closest:
            hint = " Closest matches: " + "; ".join(f"{t.name} by {t.artist_line}" for t in self.closest[:5])
        super().__init__(f"I couldn't find that song in the catalogue.{hint}")


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
        self.spotify_id = None
        self.title = title
        self.artist = artist
        SongrecError.__init__(self, message)


class AmbiguousTrack(SongrecError):
    def __init__(self, query: str, candidates: list[TrackInfo]) -> None:
        self.query = query
        self.candidates = candidates
        listed = "; ".join(
            f"{t.name} by {t.artist_line}" + (f" ({t.year_label})" if t.year_label else "")
            for t in candidates[:10]
        )
        super().__init__(f"Several songs match; add the artist to pick one: {listed}")


class NothingToRate(SongrecError):
    """/like or /dislike with no song and no recent suggestion in that channel."""


class NotInSession(SongrecError):
    """No group session runs in this channel, or the user is not one of its members."""


class NotInVoice(SongrecError):
    def __init__(self) -> None:
        super().__init__("Join a voice channel first, or start the session without `voice`.")


class NotShared(SongrecError):
    """Someone else's taste card, or a match with them, asked for after they opted out (/privacy)."""


class ServiceUnavailable(SongrecError):
    """The database is busy or the models are not loaded; try again shortly."""


class MetricsUnavailable(ServiceUnavailable):
    """Metrics were asked for (SONGREC_METRICS_PORT) but cannot be served; the message says why."""


class BotConfigError(SongrecError):
    """The bot cannot start as configured (e.g. DISCORD_TOKEN missing); the message says how to fix it."""


class SettingsError(SongrecError, ValueError):
    """An environment variable songrec reads holds a value it cannot use; the message names the variable."""


class SpotifyProblem(SongrecError):
    """Spotify could not do what was asked (refused, rate limited, unreachable); the message says why.

    `str()` is for anyone using songrec and never names the operator's settings; `operator_hint` says
    what whoever runs it must change (the CLI prints it, the bot logs it)."""

    def __init__(self, message: str = "", operator_hint: str = "") -> None:
        super().__init__(message)
        self.operator_hint = operator_hint


class SpotifyNotSetUp(SpotifyProblem, InvalidInput):
    """Spotify credentials or the operator's login are missing or expired: the message says how to fix it.

    Also an InvalidInput: as the server is set up, the request can't be served (use track links instead).
    """


class PlaylistUnavailable(SpotifyProblem):
    """Spotify will not serve that playlist's tracks to songrec (Spotify-made, private, or gone)."""


# ------------------------------------------------------------------------------------ the store


class StoreError(SongrecBaseError):
    """Base class for every error raised by songrec.store."""


class NotFound(StoreError, LookupError):
    """The row an operation needs (session, suggestion, training run) does not exist."""


class SessionAlreadyActive(StoreError):
    """A channel already has a running listening session."""

    def __init__(self, channel_id: int, session_id: int) -> None:
        super().__init__(
            f"channel {channel_id} already has a running session (#{session_id}); end it before starting another"
        )
        self.channel_id = channel_id
        self.session_id = session_id


class StoreBusy(StoreError):
    """Another process kept the database write-locked for longer than we are willing to wait."""


class StoreClosed(StoreError):
    """The store was used after close()."""


class MigrationError(StoreError):
    """The migrations folder or the database's migration history is inconsistent."""


class DatabaseTooNew(MigrationError):
    """The database was migrated by a newer songrec than this one; refusing to touch it."""

    def __init__(self, path: str, db_version: int, code_version: int) -> None:
        super().__init__(
            f"database {path} is at schema version {db_version}, but this songrec only knows versions up to "
            f"{code_version}; upgrade songrec, or point SONGREC_DB (or SONGREC_DATABASE_URL) at another database"
        )
        self.path = path
        self.db_version = db_version
        self.code_version = code_version


class DatabaseTooOld(MigrationError):
    """A read-only open found a database that still needs migrations."""

    def __init__(self, path: str, db_version: int, code_version: int) -> None:
        super().__init__(
            f"database {path} is at schema version {db_version} but songrec expects {code_version}; open it "
            "once read-write (start the bot, or Store.open without readonly) to apply the migrations"
        )
        self.path = path
        self.db_version = db_version
        self.code_version = code_version


# ------------------------------------------------------------------------------------ content


class ArtifactError(SongrecBaseError):
    """A missing, incomplete or corrupt artifact; the message says which and why."""


class CatalogError(SongrecBaseError):
    """A catalogue file could not be used (bad rows in strict mode, unknown schema, bad download)."""


class CatalogNotFound(CatalogError):
    """No catalogue could be found or fetched; the message lists the ways to provide one."""


class CatalogDownloadError(CatalogError):
    """A download finished but its content cannot be trusted (hash mismatch, unreadable file)."""


# ------------------------------------------------------------------------------------ Spotify client


class SpotifyError(SongrecBaseError):
    """The Spotify client's base class: the message is meant for the person who asked."""


class SpotifyNotConfigured(SpotifyError):
    """Spotify credentials are missing from the environment."""


class SpotifyAuthError(SpotifyError):
    """Credentials or the stored user authorization were rejected."""


class SpotifyForbidden(SpotifyAuthError):
    """Spotify answered 403: this app or user may not do that."""


class SpotifyNotFound(SpotifyError):
    """Spotify has no such object (or nothing matched a search)."""


class SpotifyPlaylistHidden(SpotifyError):
    """Spotify refuses to serve a playlist's tracks to this app (the service says PlaylistUnavailable)."""


class SpotifyFeatureUnavailable(SpotifyError):
    """A deprecated endpoint (audio features, recommendations...) that Spotify no longer serves us."""


class SpotifyRateLimited(SpotifyError):
    """Spotify asked us to back off for longer than we are willing to wait."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SpotifyUnavailable(SpotifyError):
    """Spotify could not be reached or kept failing after our retries."""
