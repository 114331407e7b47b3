"""The ServiceDouble's server mix and charts (kept beside it, not in it, so the double stays readable).

Same rules as songrec/service/server_mix.py and charts.py, and the same words (their helpers are reused):
votes given in the guild, opted-out listeners left out, one mix per (guild, month) claimed before posting,
a mix claimed by one caller shown again to every other, the first Spotify export's link kept.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from songrec.domain import (
    CHART_PERIODS,
    DEFAULT_PRIVACY,
    FeedbackRecord,
    InvalidInput,
    MixTrack,
    PlaylistExport,
    ServerCharts,
    ServerMix,
    SpotifyNotSetUp,
)
from songrec.service.charts import MAX_CHART, PERIOD_HELP, PERIOD_SECONDS, Tally, chart_summary, tally
from songrec.service.server_mix import (
    MIX_LIKED,
    MIX_SUGGESTED,
    MONTH,
    MONTH_HELP,
    empty_summary,
    mix_summary,
    mix_title,
    month_name,
    month_of,
    month_span,
    previous_month,
)

if TYPE_CHECKING:
    from tests.support.service_double import ServiceDouble


@dataclass
class StoredMix:
    mix: ServerMix  # as claimed (fresh=False)
    claimed: bool = True
    posted: bool = False


class MixDouble:
    def __init__(self, double: ServiceDouble, clock: Callable[[], float] = time.time) -> None:
        self.double = double
        self.clock = clock
        self.mixes: dict[tuple[int, str], StoredMix] = {}
        self.posts: list[tuple[int, str, int, int]] = []  # mix_posted calls: guild, month, channel, message

    def _month(self, month: str | None) -> str:
        if month is None:
            return previous_month(self.clock())
        if not isinstance(month, str) or not MONTH.fullmatch(month.strip()):
            raise InvalidInput(MONTH_HELP)
        if month.strip() >= month_of(self.clock()):
            raise InvalidInput(f"{month_name(month)} isn't over yet: a month's mix is made once it ends.")
        return month.strip()

    def _tally(self, guild_id: int, since: float | None, until: float | None) -> Tally:
        votes = [
            FeedbackRecord(f.order, u, t, f.value, "command", f.guild_id, None, None, f.at, None, None)  # type: ignore[arg-type]
            for (u, t), f in sorted(self.double.feedback.items(), key=lambda kv: kv[1].order)
            if f.guild_id == guild_id and (since is None or f.at >= since) and (until is None or f.at < until)
        ]
        choices = self.double.privacy_choices
        return tally(votes, lambda u: choices.get(u, DEFAULT_PRIVACY) == DEFAULT_PRIVACY)

    def _top_artists(self, t: Tally, n: int) -> list[tuple[str, int]]:
        counts: dict[str, int] = {}
        for track_id, likes in t.likes_by_track.items():
            for artist in self.double.tracks[track_id].artists:
                counts[artist] = counts.get(artist, 0) + likes
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]

    async def monthly_mix(self, guild_id: int, month: str | None, name: str | None) -> ServerMix:
        _check_guild(guild_id)
        key = self._month(month)
        stored = self.mixes.get((guild_id, key))
        if stored is not None:
            if stored.posted or stored.claimed:
                return stored.mix
            stored.claimed = True
            return replace(stored.mix, fresh=True)
        start, end = month_span(key)
        counted = self._tally(guild_id, start, end)
        if not counted.likes:
            return ServerMix(guild_id, key, mix_title(name, key), empty_summary(key))
        artists = [a for a, _ in self._top_artists(counted, 3)]
        liked = list(counted.likes_by_track.items())[:MIX_LIKED]
        rest = [t for t in self.double.tracks.values() if t.track_id not in counted.net_by_track]
        listeners = list(counted.liked_by)
        rest.sort(key=lambda t: (-sum(self.double._user_score(u, t) for u in listeners), t.track_id))
        suggested = [(t.track_id, 0) for t in rest[:MIX_SUGGESTED]]
        songs: list[tuple[str, int]] = []
        for i, song in enumerate(liked):
            songs.append(song)
            if i % 2 == 1 and suggested:
                songs.append(suggested.pop(0))
        songs += suggested
        settings = await self.double.get_guild_settings(guild_id)
        mix = ServerMix(
            guild_id,
            key,
            mix_title(name, key),
            mix_summary(counted, artists),
            counted.listeners,
            counted.likes,
            tuple(artists),
            tuple(MixTrack(self.double.tracks[t], n) for t, n in songs),
            fresh=False,
            channel_id=settings.mix_channel_id,
        )
        self.mixes[(guild_id, key)] = StoredMix(mix)
        return replace(mix, fresh=True)

    def mix_posted(self, guild_id: int, month: str, channel_id: int, message_id: int) -> None:
        stored = self.mixes.get((guild_id, self._month(month)))
        if stored is None:
            raise InvalidInput(f"Guild {guild_id} has no mix for {month}.")
        stored.posted = True
        stored.mix = replace(stored.mix, channel_id=channel_id, message_id=message_id)
        self.posts.append((guild_id, month, channel_id, message_id))

    def release_mix(self, guild_id: int, month: str) -> None:
        stored = self.mixes.get((guild_id, self._month(month)))
        if stored is not None and not stored.posted:
            stored.claimed = False

    async def export_mix(self, guild_id: int, month: str | None) -> PlaylistExport:
        _check_guild(guild_id)
        key = self._month(month)
        stored = self.mixes.get((guild_id, key))
        if stored is None or not stored.mix.tracks:
            raise InvalidInput(f"There's no mix for {month_name(key)} here to export yet.")
        tracks = tuple(t.track for t in stored.mix.tracks)
        if stored.mix.playlist_url:
            return PlaylistExport(stored.mix.playlist_url, stored.mix.title, tracks)
        if not self.double.spotify_configured:
            raise SpotifyNotSetUp(
                "Spotify export isn't set up: whoever runs songrec needs to run `songrec spotify-login` once.",
                "`songrec spotify-login` needs SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET set",
            )
        made = PlaylistExport(
            f"https://open.spotify.com/playlist/M{len(self.double.exports):03d}x" + "0aB1cD2eF3gH4iJ5kL"[:17],
            stored.mix.title,
            tracks,
        )
        self.double.exports.append(made)
        stored.mix = replace(stored.mix, playlist_url=made.url)
        return made

    def charts(self, guild_id: int, period: Any, limit: Any) -> ServerCharts:
        _check_guild(guild_id)
        if period not in CHART_PERIODS:
            raise InvalidInput(PERIOD_HELP)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_CHART:
            raise InvalidInput(f"Charts list between 1 and {MAX_CHART} songs.")
        span = PERIOD_SECONDS[period]
        counted = self._tally(guild_id, None if span is None else self.clock() - span, None)
        artists = self._top_artists(counted, 5)
        songs = list(counted.likes_by_track.items())[:limit]
        return ServerCharts(
            guild_id,
            period,
            tuple((self.double.tracks[t], n) for t, n in songs),
            tuple(artists),
            counted.listeners,
            counted.likes,
            chart_summary(period, counted, artists),
        )


def _check_guild(guild_id: Any) -> None:
    if isinstance(guild_id, bool) or not isinstance(guild_id, int) or not 0 < guild_id < 2**63:
        raise InvalidInput(f"That isn't a valid server id ({str(guild_id)[:40]!r}).")
