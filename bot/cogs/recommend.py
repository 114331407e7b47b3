"""/recommend and /why: asking for music and asking why it was picked.

An ambiguous song name answers (to the caller only) with a menu of the songs it could mean; picking one
runs the same recommendation for that track. The menu's custom_id carries the request's options, so it
works after a restart too.
"""

from __future__ import annotations

import asyncio
import logging
import re
import weakref
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot import embeds, replies
from bot.cooldowns import shared_cooldown
from bot.dedup import first_delivery
from songrec.domain import AmbiguousTrack, Filters, InvalidInput, TrackInfo
from songrec.domain.vocabulary import MAX_SONG_TEXT
from songrec.spotify.links import is_spotify_id

if TYPE_CHECKING:
    from bot.app import SongrecBot

log = logging.getLogger("songrec.bot")

AUTOCOMPLETE_TIMEOUT_S = 2.0
#: Suggestions one /recommend may ask for (the service allows more; a channel reads a few at a time).
MAX_RECOMMEND_COUNT = 10
RECOMMEND_RATE = (4, 60.0)  # per user: 4 calls a minute
#: A select menu lists at most 25 options.
MAX_PICK_OPTIONS = 25
#: Tracks shown as autocomplete choices (or menu options) remembered per bot, to name a picked one.
REMEMBERED_TRACKS = 4096
PICKED_FALLBACK = "the song you picked"


class OfferedTracks:
    """The tracks this bot recently offered as choices, by id: the value a user picks is a track id,
    and the header should name the song without another look-up."""

    def __init__(self, size: int = REMEMBERED_TRACKS) -> None:
        self.size = size
        self._tracks: OrderedDict[str, TrackInfo] = OrderedDict()

    def remember(self, tracks: Iterable[TrackInfo]) -> None:
        for track in tracks:
            self._tracks[track.track_id] = track
            self._tracks.move_to_end(track.track_id)
        while len(self._tracks) > self.size:
            self._tracks.popitem(last=False)

    def get(self, track_id: str) -> TrackInfo | None:
        return self._tracks.get(track_id)


_offered: weakref.WeakKeyDictionary[discord.Client, OfferedTracks] = weakref.WeakKeyDictionary()


def offered_tracks(client: discord.Client) -> OfferedTracks:
    if client not in _offered:
        _offered[client] = OfferedTracks()
    return _offered[client]


async def song_autocomplete(
    interaction: discord.Interaction[SongrecBot], current: str
) -> list[app_commands.Choice[str]]:
    """Catalogue titles as the user types; the choice's value is the track id the service understands."""
    text = current.strip()
    if not text:
        return []
    try:
        tracks = await asyncio.wait_for(
            interaction.client.service.autocomplete(text[:MAX_SONG_TEXT], limit=25), AUTOCOMPLETE_TIMEOUT_S
        )
    except Exception as error:  # autocomplete can't show errors; an empty list is the honest answer
        log.warning("autocomplete for %r failed: %r", text[:50], error)
        return []
    tracks = tracks[:25]
    offered_tracks(interaction.client).remember(tracks)
    return [app_commands.Choice(name=embeds.choice_label(t), value=t.track_id) for t in tracks]


async def seed_label(client: SongrecBot, seed: str) -> str:
    """How the header names the seed: the user's own words, or the song's name for a picked track id."""
    track = offered_tracks(client).get(seed)
    if track is None and is_spotify_id(seed):
        try:
            found = await asyncio.wait_for(client.service.autocomplete(seed, limit=1), AUTOCOMPLETE_TIMEOUT_S)
        except Exception as error:
            log.info("could not name seed %r: %r", seed, error)
            found = []
        if not found or found[0].track_id != seed:
            return PICKED_FALLBACK
        track = found[0]
    if track is None:
        return seed
    return f"{track.name} by {track.artist_line}" if track.artist_line else track.name


def make_filters(max_popularity: int | None, explore: float | None) -> Filters | None:
    if max_popularity is None and explore is None:
        return None
    return Filters(
        max_popularity=float(max_popularity) if max_popularity is not None else None,
        explore_rate=explore,
    )


async def recommend_and_post(
    interaction: discord.Interaction[SongrecBot],
    seeds: list[str] | None,
    count: int,
    max_popularity: int | None,
    explore: float | None,
    *,
    artist: str | None = None,
) -> None:
    """The recommendation itself, for the command and for a pick from the ambiguity menu."""
    bot = interaction.client
    try:
        suggestions = await bot.service.recommend(
            interaction.user.id,
            seeds,
            k=count,
            filters=make_filters(max_popularity, explore),
            guild_id=interaction.guild_id,
            channel_id=interaction.channel_id,
            artist=artist,
        )
    except AmbiguousTrack as error:
        candidates = distinct_candidates(error.candidates)
        if len(candidates) < 2:
            raise
        offered_tracks(bot).remember(candidates)
        await replies.reply_privately(
            interaction,
            embeds.safe_content(
                f"Several songs match “{embeds.safe(error.query, 200)}”: pick the one you mean."
            ),
            view=pick_song_view(candidates, count, max_popularity, explore),
        )
        return
    label = await seed_label(bot, seeds[0]) if seeds else None
    if artist and not seeds:
        label = artist  # songs like this artist's
    elif artist and seeds and label == seeds[0]:
        label = f"{label} by {artist}"  # typed words, narrowed to the artist
    cold = label is None and embeds.is_cold_start(suggestions)
    header = embeds.recommend_header(interaction.user, label, len(suggestions), cold_start=cold)
    await replies.post_suggestions(interaction, suggestions, header)


def distinct_candidates(tracks: Sequence[TrackInfo]) -> list[TrackInfo]:
    """The candidates a menu can list: each track once, at most MAX_PICK_OPTIONS."""
    seen: dict[str, TrackInfo] = {}
    for track in tracks:
        seen.setdefault(track.track_id, track)
    return list(seen.values())[:MAX_PICK_OPTIONS]


class PickSongSelect(
    discord.ui.DynamicItem[discord.ui.Select[Any]],
    template=r"songrec:pick:(?P<k>[0-9]{1,2}):(?P<pop>[0-9]{0,3}):(?P<explore>(?:[01](?:\.[0-9]{1,3})?)?)",
):
    """The songs an ambiguous name could mean; choosing one recommends like that track."""

    def __init__(
        self,
        count: int,
        max_popularity: int | None,
        explore: float | None,
        options: Sequence[discord.SelectOption] = (),
    ) -> None:
        self.count = count
        self.max_popularity = max_popularity
        self.explore = explore
        pop = "" if max_popularity is None else str(max_popularity)
        rate = "" if explore is None else f"{explore:.3f}"
        super().__init__(
            discord.ui.Select(
                custom_id=f"songrec:pick:{count}:{pop}:{rate}",
                placeholder="Pick the song you mean",
                options=list(options) or [discord.SelectOption(label="?", value="?")],
                min_values=1,
                max_values=1,
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> PickSongSelect:
        options = item.options if isinstance(item, discord.ui.Select) else []
        return cls(
            int(match["k"]),
            int(match["pop"]) if match["pop"] else None,
            float(match["explore"]) if match["explore"] else None,
            options,
        )

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        if not await first_delivery(interaction.client.coordination, interaction):
            return
        try:
            await self._pick(interaction)
        except Exception as error:
            await replies.report_error(interaction, error)

    async def _pick(self, interaction: discord.Interaction[SongrecBot]) -> None:
        track_id = self.item.values[0] if self.item.values else None
        if not track_id or not 1 <= self.count <= MAX_RECOMMEND_COUNT:
            raise InvalidInput("That menu is out of date: run /recommend again.")
        chosen = next((o.label for o in self.item.options if o.value == track_id), "that song")
        # Answer the menu at once (the 3-second deadline): it becomes a note of what was picked, and the
        # suggestions follow as a public message.
        await interaction.response.edit_message(
            content=f"🎵 You picked {embeds.safe(chosen, 200)}.",
            view=None,
            allowed_mentions=embeds.NO_MENTIONS,
        )
        await recommend_and_post(interaction, [track_id], self.count, self.max_popularity, self.explore)


def candidate_options(candidates: Sequence[TrackInfo]) -> list[discord.SelectOption]:
    return [
        discord.SelectOption(label=embeds.choice_label(t), value=t.track_id)
        for t in candidates[:MAX_PICK_OPTIONS]
    ]


def pick_song_view(
    candidates: Sequence[TrackInfo], count: int, max_popularity: int | None, explore: float | None
) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(PickSongSelect(count, max_popularity, explore, candidate_options(candidates)))
    return view


class RecommendCog(commands.Cog):
    def __init__(self, bot: SongrecBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(PickSongSelect)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(PickSongSelect)

    @app_commands.command(
        name="recommend", description="Suggest songs: like a song you name, or from your taste."
    )
    @app_commands.describe(
        song="A song you like: type to search, or paste a Spotify link (leave empty to use your taste)",
        artist="The song's artist; alone: songs like this artist's",
        count=f"How many suggestions (1-{MAX_RECOMMEND_COUNT})",
        max_popularity="Only tracks at most this popular (0-100): find hidden gems",
        explore="How adventurous (0 = safe bets, 1 = surprise me)",
    )
    @app_commands.autocomplete(song=song_autocomplete)
    @shared_cooldown("recommend", *RECOMMEND_RATE)
    async def recommend(
        self,
        interaction: discord.Interaction[SongrecBot],
        song: app_commands.Range[str, 1, MAX_SONG_TEXT] | None = None,
        count: app_commands.Range[int, 1, MAX_RECOMMEND_COUNT] = 5,
        max_popularity: app_commands.Range[int, 0, 100] | None = None,
        explore: app_commands.Range[float, 0.0, 1.0] | None = None,
        artist: app_commands.Range[str, 1, MAX_SONG_TEXT] | None = None,
    ) -> None:
        if not 1 <= count <= MAX_RECOMMEND_COUNT:  # a client on an older synced schema can send more
            raise InvalidInput(f"Ask for between 1 and {MAX_RECOMMEND_COUNT} songs.")
        await replies.defer(interaction, ephemeral=False)
        seeds = [song.strip()] if song and song.strip() else None
        named = artist.strip() if artist and artist.strip() else None
        await recommend_and_post(interaction, seeds, count, max_popularity, explore, artist=named)

    @app_commands.command(name="why", description="Why was the last suggestion here picked for you?")
    @app_commands.describe(details="Also show the score behind it, part by part")
    async def why(self, interaction: discord.Interaction[SongrecBot], details: bool = False) -> None:
        await replies.defer(interaction, ephemeral=True)
        text = await self.bot.service.why(
            interaction.user.id, None, interaction.channel_id, details=bool(details)
        )
        await replies.reply(interaction, embeds.why_text(text))


async def setup(bot: SongrecBot) -> None:
    await bot.add_cog(RecommendCog(bot))
