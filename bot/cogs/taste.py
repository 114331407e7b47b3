"""/taste [member]: a taste card (PNG) of your likes, or a member's who allows it (/privacy).

Only the one who asked sees it unless they choose `share`; the picture is drawn by the service off the
event loop, so the bot only defers, asks, and attaches the bytes.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot import embeds, replies

if TYPE_CHECKING:
    from bot.app import SongrecBot


class TasteCog(commands.Cog):
    def __init__(self, bot: SongrecBot) -> None:
        self.bot = bot

    @app_commands.command(name="taste", description="Your taste card: your likes on the map of songs.")
    @app_commands.describe(
        member="Whose taste (default: yours); only members who allow it in /privacy",
        share="Post it for the channel to see (default: only you see it)",
    )
    async def taste(
        self,
        interaction: discord.Interaction[SongrecBot],
        member: discord.User | None = None,
        share: bool = False,
    ) -> None:
        await replies.defer(interaction, ephemeral=not share)
        who = member or interaction.user
        if who.bot:
            await replies.reply(interaction, "Bots don't have a taste (yet).", ephemeral=not share)
            return
        card = await self.bot.service.taste_card(who.id, viewer_id=interaction.user.id, name=who.display_name)
        summary = embeds.safe_content(card.summary)
        if card.png is None:
            await replies.reply(interaction, summary, ephemeral=not share)
            return
        file = discord.File(io.BytesIO(card.png), filename="taste.png", description=card.summary[:1000])
        await replies.reply(interaction, summary, file=file, ephemeral=not share)


async def setup(bot: SongrecBot) -> None:
    await bot.add_cog(TasteCog(bot))
