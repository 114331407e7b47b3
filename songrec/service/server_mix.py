"""The server's monthly mix: the songs a server's members liked most in a month, blended with suggestions
for that month's listeners (the group-session blend, as /compat uses), one mix per server per month.

Idempotent across restarts and processes: the mix is claimed in the store (a unique (guild, month) row,
one write transaction) before anyone posts it. Only the caller whose claim won gets ``fresh=True`` and
posts; everyone else gets the stored mix back to show again. Its songs are fixed at the claim, so a mix
shown again is the mix that was posted. Months are calendar months in UTC; a month is mixed once over.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime

from songrec.content.engine import Engine
from songrec.domain import (
    GuildSettings,
    InvalidInput,
    MixTrack,
    PlaylistExport,
    ServerMix,
    ServerMixRecord,
)
from songrec.service import checks
from songrec.service.charts import ChartBook, Tally, listing, plural
from songrec.service.config import ServiceConfig
from songrec.service.errors import db_errors
from songrec.service.runtime import CpuPool, Serving
from songrec.service.scoring import CandidateScorer
from songrec.service.sessions import MemberTaste, plan_session
from songrec.service.spotify_ops import SpotifyOps
from songrec.service.tracks import rows_of, track_info
from songrec.store import StoreBackend

#: Songs taken from the month's likes, and group suggestions blended in (one after every two likes).
MIX_LIKED = 20
MIX_SUGGESTED = 10
#: The most active listeners whose taste the suggestions blend (plan_session scores every member).
MIX_MEMBERS = 50
#: A claim whose post has not happened after this long is taken over (its poster died).
CLAIM_STALE_S = 900.0
MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
MONTH_HELP = "Name a month as YYYY-MM, e.g. 2026-11."


def month_of(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m")


def previous_month(ts: float) -> str:
    """The last month that is over at ``ts``: the one the first-of-the-month mix is about."""
    now = datetime.fromtimestamp(ts, UTC)
    year, month = (now.year, now.month - 1) if now.month > 1 else (now.year - 1, 12)
    return f"{year:04d}-{month:02d}"


def month_span(month: str) -> tuple[float, float]:
    """[start, end) of the month in unix seconds (UTC)."""
    match = MONTH.fullmatch(month)
    assert match is not None
    year, number = int(match[1]), int(match[2])
    start = datetime(year, number, 1, tzinfo=UTC)
    end = datetime(year + (number == 12), number % 12 + 1, 1, tzinfo=UTC)
    return start.timestamp(), end.timestamp()


def month_name(month: str) -> str:
    return datetime.strptime(month, "%Y-%m").strftime("%B %Y")


def mix_title(server: str | None, month: str) -> str:
    name = " ".join((server or "").split())[:100] or "this server"
    return f"The sounds of {name} - {month_name(month)}"


def mix_summary(t: Tally, artists: list[str]) -> str:
    text = f"{plural(t.listeners, 'listener')}, {plural(t.likes, 'like')}"
    if artists:
        text += f"; the month's top artist{'s' if len(artists) > 1 else ''} {listing(artists)}"
    return text + "."


def empty_summary(month: str) -> str:
    return (
        f"Nobody here liked a song in {month_name(month)}, so there's no mix for it: the mix is made "
        "from the 👍 members give in this server."
    )


def blend(
    engine: Engine, t: Tally, cfg: ServiceConfig, ranker: CandidateScorer | None
) -> list[tuple[str, int]]:
    """The month's most liked songs, with a group suggestion for its most active listeners after every two."""
    liked = list(t.likes_by_track.items())[:MIX_LIKED]
    active = sorted(t.liked_by, key=lambda u: (-len(t.liked_by[u]) - len(t.disliked_by.get(u, ())), u))[
        :MIX_MEMBERS
    ]
    members = [
        MemberTaste(u, rows_of(engine, t.liked_by[u]), rows_of(engine, t.disliked_by.get(u, [])))
        for u in active
    ]
    members = [m for m in members if m.liked]
    rated = frozenset(rows_of(engine, list(t.net_by_track)))
    picks = plan_session(engine, members, "average", MIX_SUGGESTED, rated, (), cfg, ranker) if members else []
    suggested = [(engine.track_id(p.row), 0) for p in picks]
    out: list[tuple[str, int]] = []
    for i, song in enumerate(liked):
        out.append(song)
        if i % 2 == 1 and suggested:
            out.append(suggested.pop(0))
    return out + suggested


class ServerMixes:
    """Makes, claims and hands out each server's monthly mix; exports it to Spotify once."""

    def __init__(
        self,
        store: StoreBackend,
        serving: Serving,
        cpu: CpuPool,
        charts: ChartBook,
        spotify: SpotifyOps,
        config: ServiceConfig,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._serving = serving
        self._cpu = cpu
        self._charts = charts
        self._spotify = spotify
        self._config = config
        self._clock = clock
        self._export_locks: dict[tuple[int, str], asyncio.Lock] = {}

    def _month(self, month: str | None) -> str:
        if month is None:
            return previous_month(self._clock())
        if not isinstance(month, str) or not MONTH.fullmatch(month.strip()):
            raise InvalidInput(MONTH_HELP)
        month = month.strip()
        if month >= month_of(self._clock()):
            raise InvalidInput(f"{month_name(month)} isn't over yet: a month's mix is made once it ends.")
        return month

    async def mix_guilds(self) -> list[GuildSettings]:
        with db_errors():
            return await self._store.mix_guilds()

    async def monthly_mix(
        self, guild_id: int, *, month: str | None = None, name: str | None = None
    ) -> ServerMix:
        gid, key = checks.guild(guild_id), self._month(month)
        if name is not None and not isinstance(name, str):
            raise InvalidInput("The server name must be text.")
        with db_errors():
            stored = await self._store.get_server_mix(gid, key)
            settings = await self._store.get_guild_settings(gid)
        if stored is not None and stored.posted_at is not None:
            return self._answer(stored, fresh=False)
        if stored is not None:  # claimed but not posted: the stored songs, whoever posts them
            title, summary, listeners, likes = stored.title, stored.summary, stored.listeners, stored.likes
            artists, songs = list(stored.top_artists), list(stored.tracks)
        else:
            start, end = month_span(key)
            counted = await self._charts.tally(gid, start, end)
            if not counted.likes:
                return ServerMix(gid, key, mix_title(name, key), empty_summary(key))
            engine = self._serving.engine
            artists = [a for a, _ in counted.top_artists(engine, 3)]
            songs = await self._cpu.run(blend, engine, counted, self._config, self._serving.ranker)
            title, summary = mix_title(name, key), mix_summary(counted, artists)
            listeners, likes = counted.listeners, counted.likes
        with db_errors():
            record, claimed = await self._store.claim_server_mix(
                gid,
                key,
                title=title,
                summary=summary,
                listeners=listeners,
                likes=likes,
                top_artists=artists,
                tracks=songs,
                channel_id=settings.mix_channel_id,
                stale_after_s=CLAIM_STALE_S,
            )
        return self._answer(record, fresh=claimed)

    async def mix_posted(self, guild_id: int, month: str, channel_id: int, message_id: int) -> None:
        gid, key = checks.guild(guild_id), self._month(month)
        with db_errors():
            await self._store.finish_server_mix(gid, key, channel_id, message_id)

    async def release_mix(self, guild_id: int, month: str) -> None:
        gid, key = checks.guild(guild_id), self._month(month)
        with db_errors():
            await self._store.release_server_mix(gid, key)

    async def export_mix(self, user_id: int, guild_id: int, month: str | None = None) -> PlaylistExport:
        """The mix as a Spotify playlist: made by the first export, the same link for every later one."""
        checks.user(user_id)
        gid, key = checks.guild(guild_id), self._month(month)
        lock = self._export_locks.setdefault((gid, key), asyncio.Lock())
        async with lock:
            with db_errors():
                stored = await self._store.get_server_mix(gid, key)
            if stored is None or not stored.tracks:
                raise InvalidInput(f"There's no mix for {month_name(key)} here to export yet.")
            engine = self._serving.engine
            if stored.playlist_url:
                tracks = tuple(track_info(engine, t) for t, _ in stored.tracks)
                return PlaylistExport(stored.playlist_url, stored.title, tracks)
            made = await self._spotify.create_playlist(
                stored.title, [t for t, _ in stored.tracks], description=f"songrec: {stored.summary}"
            )
            with db_errors():
                await self._store.set_server_mix_playlist(gid, key, made.url)
            return made

    def _answer(self, record: ServerMixRecord, *, fresh: bool) -> ServerMix:
        engine = self._serving.engine
        return ServerMix(
            guild_id=record.guild_id,
            month=record.month,
            title=record.title,
            summary=record.summary,
            listeners=record.listeners,
            likes=record.likes,
            top_artists=record.top_artists,
            tracks=tuple(MixTrack(track_info(engine, t), n) for t, n in record.tracks),
            fresh=fresh,
            channel_id=record.channel_id,
            message_id=record.message_id,
            playlist_url=record.playlist_url,
        )
