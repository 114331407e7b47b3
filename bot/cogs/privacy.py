"""/privacy: what songrec stores about you and what it is used for, opting out and back in, your data
as a file, and forget-me. Every answer is ephemeral: it is about you only."""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot import embeds, replies
from bot.views import ForgetMeView
from songrec.domain import PrivacyReport

if TYPE_CHECKING:
    from bot.app import SongrecBot

CHOICE_NAMES = {
    "shared": "shared: your votes steer your suggestions and help others'",
    "private": "private: your votes steer only your own suggestions",
    "off": "off: songrec learns nothing from your votes",
}
#: /privacy opt-out's scope -> the stored choice.
SCOPES = {"others": "private", "everything": "off"}


def privacy_embed(report: PrivacyReport) -> discord.Embed:
    embed = discord.Embed(title="Your data in songrec", colour=embeds.COLOUR)
    s = report.stored
    embed.add_field(
        name="Stored",
        value=f"{s.get('likes', 0)} likes · {s.get('dislikes', 0)} dislikes · "
        f"{s.get('suggestions', 0)} suggestions shown · {s.get('sessions', 0)} group sessions",
        inline=False,
    )
    embed.add_field(name="Your choice", value=CHOICE_NAMES.get(report.choice, report.choice), inline=False)
    embed.add_field(name="Used for", value="\n".join(f"• {u}" for u in report.uses), inline=False)
    embed.set_footer(text="/privacy opt-out · /privacy opt-in · /privacy export · /privacy forget-me")
    return embed


class PrivacyCog(
    commands.GroupCog, group_name="privacy", group_description="Your data and what it is used for"
):
    def __init__(self, bot: SongrecBot) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="show", description="What songrec stores about you and what it is used for.")
    async def show(self, interaction: discord.Interaction[SongrecBot]) -> None:
        await replies.defer(interaction, ephemeral=True)
        report = await self.bot.service.privacy(interaction.user.id)
        await replies.reply(interaction, embed=privacy_embed(report))

    @app_commands.command(
        name="opt-out", description="Stop your votes helping others, or being learned from at all."
    )
    @app_commands.describe(
        scope="others: keep steering your own suggestions; everything: learn nothing from your votes"
    )
    async def opt_out(
        self,
        interaction: discord.Interaction[SongrecBot],
        scope: Literal["others", "everything"] = "others",
    ) -> None:
        await replies.defer(interaction, ephemeral=True)
        report = await self.bot.service.set_privacy(interaction.user.id, SCOPES[scope])
        await replies.reply(interaction, "Done: you opted out.", embed=privacy_embed(report))

    @app_commands.command(
        name="opt-in", description="Let your votes steer your suggestions and help others again."
    )
    async def opt_in(self, interaction: discord.Interaction[SongrecBot]) -> None:
        await replies.defer(interaction, ephemeral=True)
        report = await self.bot.service.set_privacy(interaction.user.id, "shared")
        await replies.reply(interaction, "Welcome back: you opted in.", embed=privacy_embed(report))

    @app_commands.command(name="export", description="Everything songrec stores about you, as a JSON file.")
    async def export(self, interaction: discord.Interaction[SongrecBot]) -> None:
        await replies.defer(interaction, ephemeral=True)
        data = await self.bot.service.export_user(interaction.user.id)
        payload = json.dumps(data, indent=2, sort_keys=True, default=str).encode()
        file = discord.File(io.BytesIO(payload), filename=f"songrec-{interaction.user.id}.json")
        await replies.reply(interaction, "Here is everything songrec stores about you.", file=file)

    @app_commands.command(name="forget-me", description="Delete everything songrec knows about you.")
    async def forget_me(self, interaction: discord.Interaction[SongrecBot]) -> None:
        await ForgetMeView.ask(interaction)


async def setup(bot: SongrecBot) -> None:
    await bot.add_cog(PrivacyCog(bot))
