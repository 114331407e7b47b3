"""/settings: per-server options, for people with Manage Server only; /explore: a listener's own share.

`default_permissions` hides the command from others in Discord's UI, but server admins can override
that, so the permission is also checked when the command runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot import embeds, replies
from songrec.domain import MAX_USER_EXPLORE_RATE

if TYPE_CHECKING:
    from bot.app import SongrecBot


#: The most a listener may choose for themselves, in the percent /explore takes.
MAX_SHARE_PERCENT = round(MAX_USER_EXPLORE_RATE * 100)


class SettingsCog(commands.Cog):
    def __init__(self, bot: SongrecBot) -> None:
        self.bot = bot

    @app_commands.command(name="settings", description="Show or change songrec's settings for this server.")
    @app_commands.describe(
        command_channel="Only take songrec commands in this channel",
        any_channel="Lift the channel restriction: take commands everywhere",
        explore_rate="Default share of adventurous picks (0-1)",
        session_strategy="Default group-session strategy",
        mix="Post the server's monthly mix on the first of each month",
        mix_channel="Where the monthly mix is posted",
        dj_role="Only this role (and Manage Server) starts, skips and ends sessions and posts the mix",
        no_dj_role="Lift the DJ role: anyone runs sessions and exports the mix again",
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
        mix: bool | None = None,
        mix_channel: discord.TextChannel | None = None,
        dj_role: discord.Role | None = None,
        no_dj_role: bool = False,
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
        if mix is not None:
            changes["mix_enabled"] = mix
        if mix_channel is not None:
            changes["mix_channel_id"] = mix_channel.id
        if no_dj_role:
            changes["dj_role_id"] = None
        elif dj_role is not None:  # @everyone as the DJ role is no DJ role: everyone holds it
            changes["dj_role_id"] = None if dj_role.is_default() else dj_role.id
        service = self.bot.service
        if changes:
            settings = await service.update_guild_settings(interaction.guild_id, **changes)
            note = "Saved."
        else:
            settings = await service.get_guild_settings(interaction.guild_id)
            note = "Current settings (pass options to change them)."
        self.bot.remember_settings(settings)
        if settings.mix_enabled and settings.mix_channel_id is None:
            note += " The monthly mix is on but has no channel yet: choose one with `mix_channel`."
        await replies.reply(interaction, note, embed=embeds.settings_embed(settings))

    @app_commands.command(name="explore", description="Show or set how adventurous your own suggestions are.")
    @app_commands.describe(
        share="Your share of adventurous picks, in percent (0-50); overrides the server's for you",
        reset="Go back to the server's share",
    )
    async def explore(
        self,
        interaction: discord.Interaction[SongrecBot],
        share: app_commands.Range[int, 0, MAX_SHARE_PERCENT] | None = None,
        reset: bool = False,
    ) -> None:
        """Anyone's own setting (no Manage Server needed): it changes their answers only."""
        await replies.defer(interaction, ephemeral=True)
        service, uid, gid = self.bot.service, interaction.user.id, interaction.guild_id
        if reset:
            current = await service.set_explore_share(uid, None, guild_id=gid)
        elif share is not None:
            current = await service.set_explore_share(uid, share / 100, guild_id=gid)
        else:
            current = await service.explore_share(uid, guild_id=gid)
        changed = reset or share is not None
        await replies.reply(interaction, f"{'Saved: ' if changed else ''}{current.summary}")


async def setup(bot: SongrecBot) -> None:
    await bot.add_cog(SettingsCog(bot))
