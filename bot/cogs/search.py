"""/search: look for songs in the catalogue by title or artist, before asking for suggestions.

The service ranks by relevance (title, artist, popularity) and lists each song once; the answer is for
the one who asked (a look-up, not something to post to the channel) unless they choose `share`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot import embeds, replies
from bot.cooldowns import shared_cooldown
from songrec.domain.vocabulary import MAX_SONG_TEXT

if TYPE_CHECKING:
    from bot.app import SongrecBot

#: Songs one /search lists (an embed's description holds about this many lines comfortably).
MAX_SEARCH_RESULTS = 10
SEARCH_RATE = (10, 60.0)  # per user: 10 searches a minute


class SearchCog(commands.Cog):
    def __init__(self, bot: SongrecBot) -> None:
        self.bot = bot

    @app_commands.command(name="search", description="Look for songs in the catalogue by title or artist.")
    @app_commands.describe(
        query="Part of a title, an artist's name, or both",
        count=f"How many songs to list (1-{MAX_SEARCH_RESULTS})",
        share="Post the list for the channel to see (default: only you see it)",
    )
    @shared_cooldown("search", *SEARCH_RATE)
    async def search(
        self,
        interaction: discord.Interaction[SongrecBot],
        query: app_commands.Range[str, 1, MAX_SONG_TEXT],
        count: app_commands.Range[int, 1, MAX_SEARCH_RESULTS] = MAX_SEARCH_RESULTS,
        share: bool = False,
    ) -> None:
        await replies.defer(interaction, ephemeral=not share)
        count = max(1, min(int(count), MAX_SEARCH_RESULTS))  # an older synced schema may send more
        tracks = await self.bot.service.search(query, limit=count)
        await replies.reply(interaction, embed=embeds.search_embed(query, tracks), ephemeral=not share)


async def setup(bot: SongrecBot) -> None:
    await bot.add_cog(SearchCog(bot))
