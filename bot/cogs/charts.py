"""/charts [period]: the server's most liked songs and artists this week, month or all time.

Counted from the votes members gave in this server (never in others or in DMs); members who opted out
in /privacy are left out. Public: the charts are the server's, not anyone's own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot import embeds, replies
from songrec.domain import ServerCharts

if TYPE_CHECKING:
    from bot.app import SongrecBot

TITLES = {"week": "this week", "month": "the last 30 days", "all": "all time"}
SHOWN = 10


def _field(lines: list[str]) -> str:
    """As many whole lines as fit in one embed field."""
    kept: list[str] = []
    for line in lines:
        if sum(len(k) + 1 for k in kept) + len(line) > embeds.FIELD_VALUE_LIMIT - 2:
            kept.append(embeds.ELLIPSIS)
            break
        kept.append(line)
    return "\n".join(kept)


def charts_embed(charts: ServerCharts, server: str | None) -> discord.Embed:
    where = embeds.safe(server, 100) if server else "this server"
    embed = discord.Embed(
        title=f"Top of {where}: {TITLES.get(charts.period, charts.period)}",
        description=embeds.safe(charts.summary, 400),
        colour=embeds.COLOUR,
    )
    if charts.songs:
        lines = [
            f"{n}. {embeds.track_line(t, 140)} · ❤️ {likes}" for n, (t, likes) in enumerate(charts.songs, 1)
        ]
        embed.add_field(name="Songs", value=_field(lines), inline=False)
    if charts.artists:
        lines = [f"{n}. {embeds.safe(a, 100)} · ❤️ {likes}" for n, (a, likes) in enumerate(charts.artists, 1)]
        embed.add_field(name="Artists", value=_field(lines), inline=False)
    return embed


class ChartsCog(commands.Cog):
    def __init__(self, bot: SongrecBot) -> None:
        self.bot = bot

    @app_commands.command(name="charts", description="This server's most liked songs and artists.")
    @app_commands.describe(period="week (default), month (30 days) or all time")
    @app_commands.guild_only()
    async def charts(
        self,
        interaction: discord.Interaction[SongrecBot],
        period: Literal["week", "month", "all"] = "week",
    ) -> None:
        assert interaction.guild_id is not None  # guild_only
        await replies.defer(interaction, ephemeral=False)
        charts = await self.bot.service.charts(interaction.guild_id, period, SHOWN)
        server = interaction.guild.name if interaction.guild else None
        await replies.reply(interaction, embed=charts_embed(charts, server), ephemeral=False)


async def setup(bot: SongrecBot) -> None:
    await bot.add_cog(ChartsCog(bot))
