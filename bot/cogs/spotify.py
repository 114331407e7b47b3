"""/export: the caller's recent suggestions as a playlist in the operator's Spotify account.

Spotify is optional: without credentials or the operator's `songrec spotify-login`, the service raises
SpotifyNotSetUp and the user hears (ephemerally) how the operator enables it. The texts here are also
used by /session start playlist: and /session end export:.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot import embeds, replies
from bot.cooldowns import shared_cooldown
from songrec.domain import ImportedSeeds, PlaylistExport

if TYPE_CHECKING:
    from bot.app import SongrecBot

EXPORT_RATE = (2, 60.0)  # per user: creating playlists is slow for Spotify and fills the operator's account
MAX_EXPORT = 100


def export_text(export: PlaylistExport, who: str) -> str:
    """`🎶 <who>: “name” (12 songs) is on Spotify: <link>`, escaped and bounded."""
    count = len(export.tracks)
    noun = "song" if count == 1 else "songs"
    return embeds.safe_content(
        f"🎶 {who}: “{embeds.safe(export.name, 100)}” ({count} {noun}) is on Spotify: {export.url}"
    )


def import_text(imported: ImportedSeeds) -> str:
    return "📥 " + embeds.safe(imported.note, 1500)


class SpotifyCog(commands.Cog):
    def __init__(self, bot: SongrecBot) -> None:
        self.bot = bot

    @app_commands.command(name="export", description="Save your recent suggestions as a Spotify playlist.")
    @app_commands.describe(
        count=f"How many of your latest suggestions (1-{MAX_EXPORT}, default 20)",
        title="Playlist name (default: songrec picks for <you>)",
    )
    @shared_cooldown("export", *EXPORT_RATE)
    async def export(
        self,
        interaction: discord.Interaction[SongrecBot],
        count: app_commands.Range[int, 1, MAX_EXPORT] | None = None,
        title: app_commands.Range[str, 1, 100] | None = None,
    ) -> None:
        await replies.defer(interaction, ephemeral=False)
        name = (title or "").strip() or f"songrec picks for {interaction.user.display_name}"
        export = await self.bot.service.export_playlist(interaction.user.id, count=count, name=name)
        await replies.reply(interaction, export_text(export, interaction.user.mention), ephemeral=False)


async def setup(bot: SongrecBot) -> None:
    await bot.add_cog(SpotifyCog(bot))
