"""`songrec playlist` (a playlist that flows from a seed), and `songrec import-playlist` and
`songrec export-playlist`: Spotify playlists in and out, from a terminal.

Import and export open the real service on the same database as the bot and `songrec chat` (`--user` names the same
listener as `songrec chat --user`), with Spotify configured from the environment when it is: without
SPOTIFY_CLIENT_ID/SECRET they print how to enable it instead of failing obscurely.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import IO, TYPE_CHECKING, Any

from songrec.domain import Filters, InvalidInput, TrackInfo
from songrec.service.api import SongService

if TYPE_CHECKING:
    from songrec.content.engine import Engine
    from songrec.service import Service

#: Seeds listed in full up to this many; longer playlists are summarised.
SHOWN_SEEDS = 25
#: The longest `songrec playlist`.
MAX_PLAYLIST = 200


def _line(rank: int, track: TrackInfo) -> str:
    year = f" ({track.year_label})" if track.year_label else ""  # "1960s" where only the decade is known
    return f"{rank:>3}. {track.name} — {track.artist_line}{year}  {track.listen_at}"


@contextlib.asynccontextmanager
async def open_service(engine: Any = None) -> AsyncIterator[Service]:
    """The real service on the configured database and artifacts (or an engine already loaded), with
    Spotify when it is configured."""
    from songrec import settings as paths
    from songrec.service import Service as RealService
    from songrec.spotify import SpotifyClient, SpotifyConfig

    cfg = SpotifyConfig.from_env()
    spotify = SpotifyClient(cfg) if cfg.configured else None
    try:
        service = await RealService.open(
            db_path=paths.database_location(), artifacts=paths.artifacts_dir(), spotify=spotify, engine=engine
        )
        try:
            yield service
        finally:
            await service.close()
    finally:
        if spotify is not None:
            spotify.close()


def _ids(user: str | None) -> tuple[int, int]:
    """(user id, channel id) exactly as `songrec chat --user` derives them, so history is shared."""
    from songrec.cli.chat import CHANNEL_SALT, stable_id, user_id_for

    uid = user_id_for(user)
    return uid, stable_id(f"{CHANNEL_SALT}:{uid}")


async def import_playlist(service: SongService, url: str, user: str | None, k: int, out: IO[str]) -> int:
    """Print a playlist's catalogue tracks (the seeds), then k suggestions from them."""
    uid, channel = _ids(user)
    imported = await service.import_playlist(uid, url)
    out.write(f"{imported.note}\n")
    for rank, track in enumerate(imported.tracks[:SHOWN_SEEDS], 1):
        out.write(_line(rank, track) + "\n")
    if len(imported.tracks) > SHOWN_SEEDS:
        out.write(f"     …and {len(imported.tracks) - SHOWN_SEEDS} more\n")
    suggestions = await service.recommend(uid, [imported.url], k=k, channel_id=channel)
    if not suggestions:
        out.write("\nNothing new to suggest from these right now.\n")
        return 0
    out.write(f"\nSuggestions from {'them' if len(imported.tracks) > 1 else 'it'}:\n")
    for suggestion in suggestions:
        out.write(_line(suggestion.rank, suggestion.track) + "\n")
        out.write(f"     {suggestion.reason}\n")
    who = f" --user {user}" if user else ""
    out.write(f"\nSave them to Spotify with `songrec export-playlist{who}`.\n")
    return 0


async def export_playlist(
    service: SongService,
    user: str | None,
    count: int | None,
    name: str | None,
    public: bool,
    out: IO[str],
) -> int:
    """Create a Spotify playlist of the user's recent suggestions and print its link."""
    uid, _ = _ids(user)
    export = await service.export_playlist(uid, count=count, name=name, public=public)
    out.write(f"Created “{export.name}” with {len(export.tracks)} songs: {export.url}\n")
    for rank, track in enumerate(export.tracks, 1):
        out.write(_line(rank, track) + "\n")
    if export.skipped:
        out.write(f"({export.skipped} suggestions had no Spotify id and were left out.)\n")
    return 0


def playlist_lines(
    engine: Engine,
    song: str | None,
    artist: str | None,
    length: int,
    filters: Filters,
    song_rows: Callable[[Engine, str, str | None], list[int]],
) -> list[str]:
    """What `songrec playlist` prints: the seed as `songrec recommend` reads it (a song, "title - artist",
    a link, or an artist alone), then a playlist that flows from it (songrec.content.flow).
    A song opens its playlist; an artist's playlist is songs like theirs, none of theirs."""
    from songrec.cli.songs import resolve_seed, track_line
    from songrec.content.flow import flowing_playlist

    if not 1 <= length <= MAX_PLAYLIST:
        raise InvalidInput(f"--length must be between 1 and {MAX_PLAYLIST}.")
    seed = resolve_seed(engine, song, artist, song_rows)
    start = engine.row_of(seed.song.track_id) if seed.song is not None else None
    rows = flowing_playlist(
        engine, seed.anchors, length, filters, start=start, exclude=seed.exclude - {start}
    )
    if seed.song is not None:
        lines = [f"Playlist from {track_line(None, seed.song)}"]
    else:
        lines = [f"Playlist of songs like {seed.artist} (none of theirs):"]
    if not rows:
        lines.append("  nothing passes those filters; loosen --max-popularity.")
    lines += [track_line(i, engine.info(row)) for i, row in enumerate(rows, 1)]
    return lines


def resolve_song(engine: Engine, text: str) -> list[int]:
    """Catalogue rows a Spotify link stands for (for `songrec recommend`, which has no listener)."""

    async def main() -> list[int]:
        async with open_service(engine) as service:
            tracks = await service.resolve_seeds(text)
        rows = [engine.row_of(t.track_id) for t in tracks]
        return [r for r in rows if r is not None]

    return asyncio.run(main())


def run(command: str, out: IO[str], **options: Any) -> int:
    """Entry point for the CLI: SongrecErrors propagate to songrec.cli, which prints them and sets the code."""

    async def main() -> int:
        async with open_service() as service:
            if command == "import":
                return await import_playlist(service, out=out, **options)
            return await export_playlist(service, out=out, **options)

    return asyncio.run(main())
