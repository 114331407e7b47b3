"""/mix now and /mix export: the server's monthly mix on demand (admins) and as a Spotify playlist (anyone).

Where the server has a DJ role (bot/checks.py), its members may post the mix too, and only they (and
admins) export it.

The mix itself goes out on the first of each month (bot/mix_schedule.py, started here when the bot runs
for real); `/mix now` posts the last month's mix at once if it has not gone out yet, and otherwise shows
the one that did: a month is posted once per server, whoever asks and however often.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot import replies
from bot.checks import dj_only
from bot.mix_posts import EXPORT_ACTION, MixExportButton, export_text, mix_embed, post_mix
from bot.mix_schedule import MixSchedule

if TYPE_CHECKING:
    from bot.app import SongrecBot

MONTH_OPTION = "A month that is over, as YYYY-MM (default: last month)"


@app_commands.guild_only()
class MixCog(commands.GroupCog, group_name="mix", group_description="The server's monthly mix"):
    def __init__(self, bot: SongrecBot) -> None:
        self.bot = bot
        self.schedule = MixSchedule(bot)
        super().__init__()

    async def cog_load(self) -> None:
        if self.bot.config is not None and self.bot.config.monthly_mix:
            self.schedule.start()

    async def cog_unload(self) -> None:
        self.schedule.stop()

    @app_commands.command(name="now", description="Post last month's mix now (Manage Server or the DJ role).")
    @app_commands.describe(month=MONTH_OPTION)
    @dj_only("post the server's mix", admins_without_role=True)
    async def now(self, interaction: discord.Interaction[SongrecBot], month: str | None = None) -> None:
        assert interaction.guild_id is not None  # guild_only
        await replies.defer(interaction, ephemeral=True)
        settings = await self.bot.service.get_guild_settings(interaction.guild_id)
        outcome = await post_mix(self.bot, settings, month)
        shown = outcome.mix if outcome.message is None and outcome.mix and outcome.mix.tracks else None
        await replies.reply(interaction, outcome.note, embed=mix_embed(shown) if shown else None)

    @app_commands.command(name="export", description="Save the server's monthly mix as a Spotify playlist.")
    @app_commands.describe(month=MONTH_OPTION)
    @dj_only(EXPORT_ACTION)
    async def export(self, interaction: discord.Interaction[SongrecBot], month: str | None = None) -> None:
        assert interaction.guild_id is not None  # guild_only
        await replies.defer(interaction, ephemeral=True)
        export = await self.bot.service.export_mix(interaction.user.id, interaction.guild_id, month)
        await replies.reply(interaction, export_text(export))


async def setup(bot: SongrecBot) -> None:
    bot.add_dynamic_items(MixExportButton)
    await bot.add_cog(MixCog(bot))
