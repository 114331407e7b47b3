"""/settings: per-server options, for people with Manage Server only.

`default_permissions` hides the command from others in Discord's UI, but server admins can override
that, so the permission is also checked when the command runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot import embeds, replies

if TYPE_CHECKING:
    from bot.app import SongrecBot


class SettingsCog(commands.Cog):
    def __init__(self, bot: SongrecBot) -> None:
        self.bot = bot

    @app_commands.command(name="settings", description="Show or change songrec's settings for this server.")
    @app_commands.describe(
        command_channel="Only take songrec commands in this channel",
        any_channel="Lift the channel restriction: take commands everywhere",
        explore_rate="Default share of adventurous picks (0-1)",
        session_strategy="Default group-session strategy",
    )
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.checks.has_permissions(manage_guild=True)
    async def settings(
        self,
        interaction: discord.Interaction[SongrecBot],
        command_channel: discord.TextChannel | None = None,
        any_channel: bool = False,
        explore_rate: app_commands.Range[float, 0.0, 1.0] | None = None,
        session_strategy: Literal["average", "least_misery"] | None = None,
    ) -> None:
        assert interaction.guild_id is not None  # guild_only
        await replies.defer(interaction, ephemeral=True)
        changes: dict[str, Any] = {}
        if any_channel:
            changes["command_channel_id"] = None
        elif command_channel is not None:
            changes["command_channel_id"] = command_channel.id
        if explore_rate is not None:
            changes["explore_rate"] = float(explore_rate)
        if session_strategy is not None:
            changes["session_strategy"] = session_strategy
        service = self.bot.service
        if changes:
            settings = await service.update_guild_settings(interaction.guild_id, **changes)
            note = "Saved."
        else:
            settings = await service.get_guild_settings(interaction.guild_id)
            note = "Current settings (pass options to change them)."
        self.bot.remember_settings(settings)
        await replies.reply(interaction, note, embed=embeds.settings_embed(settings))


async def setup(bot: SongrecBot) -> None:
    await bot.add_cog(SettingsCog(bot))
