"""/recommend and /why: asking for music and asking why it was picked."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot import embeds, replies
from bot.cooldowns import shared_cooldown
from songrec.domain import Filters, InvalidInput
from songrec.domain.vocabulary import MAX_SONG_TEXT
from songrec.spotify.links import is_spotify_id

if TYPE_CHECKING:
    from bot.app import SongrecBot

log = logging.getLogger("songrec.bot")

AUTOCOMPLETE_TIMEOUT_S = 2.0
#: Suggestions one /recommend may ask for (the service allows more; a channel reads a few at a time).
MAX_RECOMMEND_COUNT = 10
RECOMMEND_RATE = (4, 60.0)  # per user: 4 calls a minute


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
    return [app_commands.Choice(name=embeds.choice_label(t), value=t.track_id) for t in tracks[:25]]


class RecommendCog(commands.Cog):
    def __init__(self, bot: SongrecBot) -> None:
        self.bot = bot

    @app_commands.command(
        name="recommend", description="Suggest songs: like a song you name, or from your taste."
    )
    @app_commands.describe(
        song="A song you like: type to search, or paste a Spotify link (leave empty to use your taste)",
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
    ) -> None:
        if not 1 <= count <= MAX_RECOMMEND_COUNT:  # a client on an older synced schema can send more
            raise InvalidInput(f"Ask for between 1 and {MAX_RECOMMEND_COUNT} songs.")
        await replies.defer(interaction, ephemeral=False)
        filters = None
        if max_popularity is not None or explore is not None:
            filters = Filters(
                max_popularity=float(max_popularity) if max_popularity is not None else None,
                explore_rate=explore,
            )
        seeds = [song.strip()] if song and song.strip() else None
        suggestions = await self.bot.service.recommend(
            interaction.user.id,
            seeds,
            k=count,
            filters=filters,
            guild_id=interaction.guild_id,
            channel_id=interaction.channel_id,
        )
        seed_label = None
        if seeds:
            seed_label = await self._seed_label(seeds[0])
        header = embeds.recommend_header(interaction.user, seed_label, len(suggestions))
        await replies.post_suggestions(interaction, suggestions, header)

    async def _seed_label(self, seed: str) -> str:
        """Show the catalogue's name for a picked track id instead of the raw id."""
        if is_spotify_id(seed):
            try:
                found = await asyncio.wait_for(self.bot.service.autocomplete(seed, limit=1), 1.0)
            except Exception:
                found = []
            if found and found[0].track_id == seed:
                return f"{found[0].name} by {found[0].artist_line}"
            return "the song you picked"
        return seed

    @app_commands.command(name="why", description="Why was the last suggestion here picked for you?")
    async def why(self, interaction: discord.Interaction[SongrecBot]) -> None:
        await replies.defer(interaction, ephemeral=True)
        text = await self.bot.service.why(interaction.user.id, None, interaction.channel_id)
        await replies.reply(interaction, embeds.why_text(text))


async def setup(bot: SongrecBot) -> None:
    await bot.add_cog(RecommendCog(bot))
