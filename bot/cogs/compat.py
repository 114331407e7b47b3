"""/compat member and /neighbours: taste match between members, and who in this server is closest.

Answers are ephemeral (they are about you); mentions render names without pinging anyone. Members who
opted out (/privacy) are never compared or listed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot import embeds, replies
from songrec.domain import TasteMatch

if TYPE_CHECKING:
    from bot.app import SongrecBot

METHODS = {
    "votes": "compared by your votes on the same songs",
    "profiles": "compared by the kind of songs you like (too few songs rated by both)",
    "none": "nothing to compare yet",
}


def compat_embed(match: TasteMatch, other: discord.abc.User) -> discord.Embed:
    embed = discord.Embed(
        title=f"Your taste and {embeds.plain(other.display_name, 80)}'s",
        description=embeds.safe(match.summary, 400),
        colour=embeds.COLOUR,
    )
    embed.add_field(name="How", value=METHODS.get(match.method, match.method), inline=False)
    if match.both_like:
        lines = "\n".join(embeds.track_line(t, 150) for t in match.both_like)
        embed.add_field(name="You both like", value=lines[: embeds.FIELD_VALUE_LIMIT], inline=False)
    if match.suggestions:
        lines = "\n".join(embeds.track_line(t, 150) for t in match.suggestions)
        embed.add_field(name="You'd both like", value=lines[: embeds.FIELD_VALUE_LIMIT], inline=False)
    return embed


class CompatCog(commands.Cog):
    def __init__(self, bot: SongrecBot) -> None:
        self.bot = bot

    @app_commands.command(
        name="compat", description="How alike your taste is to a member's, and songs for you both."
    )
    @app_commands.describe(member="Who to compare with (only members who allow it in /privacy)")
    async def compat(self, interaction: discord.Interaction[SongrecBot], member: discord.User) -> None:
        await replies.defer(interaction, ephemeral=True)
        if member.bot:
            await replies.reply(interaction, "Bots don't have a taste (yet).")
            return
        match = await self.bot.service.compat(interaction.user.id, member.id)
        await replies.reply(interaction, embed=compat_embed(match, member))

    @app_commands.command(
        name="neighbours", description="The members of this server whose taste is closest to yours."
    )
    @app_commands.guild_only()
    async def neighbours(self, interaction: discord.Interaction[SongrecBot]) -> None:
        await replies.defer(interaction, ephemeral=True)
        found = await self.bot.service.neighbours(interaction.user.id, guild_id=interaction.guild_id, limit=5)
        if not found:
            await replies.reply(
                interaction,
                "Nobody here is close to your taste yet: rate a few more songs (members who opted out "
                "in /privacy are never listed).",
            )
            return
        lines = [f"<@{uid}> · agreement {r:+.2f}" for uid, r in found]
        embed = discord.Embed(
            title="Closest to your taste here", description="\n".join(lines), colour=embeds.COLOUR
        )
        embed.set_footer(text="/compat member shows what you share")
        await replies.reply(interaction, embed=embed)


async def setup(bot: SongrecBot) -> None:
    await bot.add_cog(CompatCog(bot))
