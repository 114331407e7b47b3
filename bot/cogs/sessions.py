"""Group listening sessions: /session start|join|leave|next|end, and voice-channel membership.

Where the server has a DJ role, starting, skipping to the next songs and ending take it (bot/checks.py);
joining and leaving never do.

Without the privileged members intent the bot cannot list a guild's members, but it does receive
VOICE_STATE_UPDATE: people who join a session's voice channel join the session, leavers leave.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot import embeds, replies
from bot.checks import dj_only
from bot.cogs.spotify import export_text, import_text
from bot.cooldowns import shared_cooldown
from songrec.domain import NotInVoice, SongrecError

if TYPE_CHECKING:
    from bot.app import SongrecBot

log = logging.getLogger("songrec.bot")

NEXT_RATE = (4, 60.0)  # per user: 4 batches a minute


@app_commands.guild_only()
class SessionsCog(
    commands.GroupCog, group_name="session", group_description="Listen together: blended picks"
):
    def __init__(self, bot: SongrecBot) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="start", description="Start a group session in this channel.")
    @app_commands.describe(
        voice="Tie the session to your voice channel: people there join (and leave) automatically",
        strategy="average = most liked overall; least_misery = nobody hates it (default: server setting)",
        playlist="A Spotify playlist or album link: its songs seed the session",
    )
    @dj_only("start a session")
    async def start(
        self,
        interaction: discord.Interaction[SongrecBot],
        voice: bool = False,
        strategy: Literal["average", "least_misery"] | None = None,
        playlist: app_commands.Range[str, 1, 500] | None = None,
    ) -> None:
        voice_channel: discord.VoiceChannel | discord.StageChannel | None = None
        members: list[int] = [interaction.user.id]
        if voice:
            state = getattr(interaction.user, "voice", None)
            voice_channel = state.channel if state else None
            if voice_channel is None:
                raise NotInVoice()
            for user_id in voice_channel.voice_states:
                member = interaction.guild.get_member(user_id) if interaction.guild else None
                if user_id not in members and not (member and member.bot):
                    members.append(user_id)
        await replies.defer(interaction, ephemeral=False)
        seeds: list[str] = []
        note = ""
        if playlist and playlist.strip():
            # Read first: a playlist Spotify won't serve is explained before any session exists.
            imported = await self.bot.service.import_playlist(interaction.user.id, playlist.strip())
            seeds, note = [imported.url], "\n" + import_text(imported)
        info = await self.bot.service.start_session(
            interaction.guild_id,
            interaction.channel_id,
            interaction.user.id,
            voice_channel_id=voice_channel.id if voice_channel else None,
            strategy=strategy,
            members=members,
            seeds=seeds,
        )
        text = embeds.safe_content(embeds.session_started_text(info, voice_channel) + note)
        await replies.reply(interaction, text, ephemeral=False)

    @app_commands.command(name="join", description="Join this channel's group session.")
    async def join(self, interaction: discord.Interaction[SongrecBot]) -> None:
        await replies.defer(interaction, ephemeral=True)
        info = await self.bot.service.join_session(interaction.channel_id, interaction.user.id)
        await replies.reply(interaction, f"You're in: {len(info.members)} listening. Your taste now counts.")

    @app_commands.command(name="leave", description="Leave this channel's group session.")
    async def leave(self, interaction: discord.Interaction[SongrecBot]) -> None:
        await replies.defer(interaction, ephemeral=True)
        info = await self.bot.service.leave_session(interaction.channel_id, interaction.user.id)
        await replies.reply(interaction, f"You left the session; {len(info.members)} still listening.")

    @app_commands.command(name="next", description="Next songs for everyone in the session.")
    @app_commands.describe(count="How many (1-10)")
    @shared_cooldown("session-next", *NEXT_RATE)
    @dj_only("ask for the session's next songs")
    async def next_songs(
        self, interaction: discord.Interaction[SongrecBot], count: app_commands.Range[int, 1, 10] = 3
    ) -> None:
        await replies.defer(interaction, ephemeral=False)
        service = self.bot.service
        suggestions = await service.session_next(interaction.channel_id, interaction.user.id, k=count)
        info = await service.active_session(interaction.channel_id)
        header = (
            embeds.session_next_header(info, len(suggestions))
            if info
            else f"🎧 Next {len(suggestions)} for the group:"
        )
        await replies.post_suggestions(interaction, suggestions, header, session=True)

    @app_commands.command(name="end", description="End the session and see what the group liked.")
    @app_commands.describe(export="Also save the session's songs as a Spotify playlist")
    @dj_only("end a session")
    async def end(self, interaction: discord.Interaction[SongrecBot], export: bool = False) -> None:
        await replies.defer(interaction, ephemeral=False)
        service = self.bot.service
        summary = await service.end_session(interaction.channel_id, interaction.user.id)
        await replies.reply(interaction, embed=embeds.session_summary_embed(summary), ephemeral=False)
        if not export:
            return
        if not summary.suggested:
            await replies.reply(
                interaction, "Nothing was suggested in this session, so there's nothing to export."
            )
            return
        try:  # the session has ended either way: a failed export is the caller's note, not an error
            result = await service.export_playlist(interaction.user.id, session_id=summary.session.id)
        except SongrecError as error:
            await replies.reply(interaction, embeds.error_text(str(error)))
            return
        await replies.reply(interaction, export_text(result, "The session's songs"), ephemeral=False)

    @commands.Cog.listener()
    async def on_voice_state_update(
        self, member: discord.Member, before: discord.VoiceState, after: discord.VoiceState
    ) -> None:
        """Follow people in and out of a session's voice channel."""
        if member.bot or before.channel == after.channel:
            return
        service = self.bot.service
        try:
            if before.channel is not None:
                info = await service.session_for_voice_channel(before.channel.id)
                if info is not None and info.active and member.id in info.members:
                    await service.leave_session(info.channel_id, member.id)
            if after.channel is not None:
                info = await service.session_for_voice_channel(after.channel.id)
                if info is not None and info.active and member.id not in info.members:
                    await service.join_session(info.channel_id, member.id)
        except SongrecError as error:
            log.info("voice move of %s not applied to session: %s", member.id, error)
        except Exception:
            log.exception("voice state update for %s failed", member.id)


async def setup(bot: SongrecBot) -> None:
    await bot.add_cog(SessionsCog(bot))
