"""What users say back: /like, /dislike, 👍/👎 reactions, /history and /forget-me."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot import embeds, replies
from bot.cogs.recommend import (
    MAX_SONG_TEXT,
    candidate_options,
    distinct_candidates,
    offered_tracks,
    song_autocomplete,
)
from bot.dedup import first_delivery, first_reaction
from bot.views import ForgetMeView
from songrec.domain import AmbiguousTrack, SongrecError

if TYPE_CHECKING:
    from bot.app import SongrecBot

log = logging.getLogger("songrec.bot")

# Skin tones and the emoji variation selector: 👍🏽 is still a thumbs up.
_MODIFIERS = {chr(c) for c in range(0x1F3FB, 0x1F400)} | {"\ufe0f"}


def vote_value(emoji: discord.PartialEmoji) -> int:
    """+1 for 👍, -1 for 👎 (any skin tone), 0 for anything else (custom emojis included)."""
    if emoji.id is not None or not emoji.name:
        return 0
    base = "".join(ch for ch in emoji.name if ch not in _MODIFIERS)
    if base == embeds.LIKE_EMOJI:
        return 1
    if base == embeds.DISLIKE_EMOJI:
        return -1
    return 0


class PickVoteSelect(
    discord.ui.DynamicItem[discord.ui.Select[Any]], template=r"songrec:vote:(?P<value>like|dislike)"
):
    """The songs an ambiguous /like or /dislike could mean; choosing one rates that track."""

    def __init__(self, value: int, options: Sequence[discord.SelectOption] = ()) -> None:
        self.value = value
        super().__init__(
            discord.ui.Select(
                custom_id=f"songrec:vote:{'like' if value > 0 else 'dislike'}",
                placeholder="Pick the song you mean",
                options=list(options) or [discord.SelectOption(label="?", value="?")],
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> PickVoteSelect:
        options = item.options if isinstance(item, discord.ui.Select) else []
        return cls(1 if match["value"] == "like" else -1, options)

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        if not await first_delivery(interaction.client.coordination, interaction):
            return
        try:
            await interaction.response.defer()  # the menu's message is edited in place below
            track_id = self.item.values[0]
            service = replies.service_of(interaction)
            rate = service.like if self.value > 0 else service.dislike
            result = await rate(
                interaction.user.id,
                track_id,
                source="command",
                guild_id=interaction.guild_id,
                channel_id=interaction.channel_id,
            )
            await interaction.edit_original_response(
                content=embeds.feedback_text(result), view=None, allowed_mentions=embeds.NO_MENTIONS
            )
        except Exception as error:
            await replies.report_error(interaction, error)


class FeedbackCog(commands.Cog):
    def __init__(self, bot: SongrecBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(PickVoteSelect)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(PickVoteSelect)

    @app_commands.command(
        name="like", description="Like a song (or, without one, the last suggestion I showed you here)."
    )
    @app_commands.describe(
        song="The song: type to search or paste a Spotify link (empty = my last suggestion)"
    )
    @app_commands.autocomplete(song=song_autocomplete)
    async def like(
        self,
        interaction: discord.Interaction[SongrecBot],
        song: app_commands.Range[str, 1, MAX_SONG_TEXT] | None = None,
    ) -> None:
        await self._rate(interaction, song, 1)

    @app_commands.command(
        name="dislike", description="Dislike a song (or, without one, the last suggestion I showed you here)."
    )
    @app_commands.describe(
        song="The song: type to search or paste a Spotify link (empty = my last suggestion)"
    )
    @app_commands.autocomplete(song=song_autocomplete)
    async def dislike(
        self,
        interaction: discord.Interaction[SongrecBot],
        song: app_commands.Range[str, 1, MAX_SONG_TEXT] | None = None,
    ) -> None:
        await self._rate(interaction, song, -1)

    async def _rate(self, interaction: discord.Interaction[SongrecBot], song: str | None, value: int) -> None:
        await replies.defer(interaction, ephemeral=True)
        service = self.bot.service
        rate = service.like if value > 0 else service.dislike
        track = song.strip() if song and song.strip() else None
        try:
            result = await rate(
                interaction.user.id,
                track,
                source="command",
                guild_id=interaction.guild_id,
                channel_id=interaction.channel_id,
            )
        except AmbiguousTrack as error:
            candidates = distinct_candidates(error.candidates)
            if len(candidates) < 2:
                raise
            offered_tracks(self.bot).remember(candidates)
            view = discord.ui.View(timeout=None)
            view.add_item(PickVoteSelect(value, candidate_options(candidates)))
            verb = "like" if value > 0 else "dislike"
            query = embeds.safe(error.query, 200)
            await replies.reply(
                interaction, f"Several songs match “{query}”: which one do you {verb}?", view=view
            )
            return
        await replies.reply(interaction, embeds.feedback_text(result))

    @commands.Cog.listener()
    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        await self._on_reaction(payload, added=True)

    @commands.Cog.listener()
    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        await self._on_reaction(payload, added=False)

    async def _on_reaction(self, payload: discord.RawReactionActionEvent, *, added: bool) -> None:
        """A 👍/👎 on a suggestion message is that user's rating; removing it takes the rating back.

        Raw events, because the message is usually not in the cache (e.g. after a restart). A change
        delivered twice (to two processes, or again after a resume) is handled once: first_reaction.
        """
        value = vote_value(payload.emoji)
        if value == 0 or self.bot.user is None or payload.user_id == self.bot.user.id:
            return
        if payload.member is not None and payload.member.bot:
            return
        author = payload.message_author_id  # only on adds: skip messages that can't be ours cheaply
        if author is not None and author != self.bot.user.id:
            return
        if not await first_reaction(self.bot.coordination, payload, added=added):
            return
        service = self.bot.service
        try:
            suggestions = await service.suggestions_for_message(payload.message_id)
            if len(suggestions) > 1:  # a message of several songs: its buttons say which one
                log.info("reaction by %s on %s names no one song", payload.user_id, payload.message_id)
                return
            for suggestion in suggestions:
                if added:
                    source = "session" if suggestion.session_id is not None else "reaction"
                    rate = service.like if value > 0 else service.dislike
                    await rate(
                        payload.user_id,
                        suggestion_id=suggestion.id,
                        source=source,
                        guild_id=payload.guild_id,
                        channel_id=payload.channel_id,
                    )
                else:
                    await service.undo(payload.user_id, suggestion_id=suggestion.id, value=value)
        except SongrecError as error:
            log.info("reaction by %s on %s not recorded: %s", payload.user_id, payload.message_id, error)
        except Exception:
            log.exception("reaction by %s on message %s failed", payload.user_id, payload.message_id)

    @app_commands.command(name="history", description="Your recent 👍 and 👎 (only you see this).")
    @app_commands.describe(count="How many to show (1-50)")
    async def history(
        self, interaction: discord.Interaction[SongrecBot], count: app_commands.Range[int, 1, 50] = 20
    ) -> None:
        await replies.defer(interaction, ephemeral=True)
        items = await self.bot.service.history(interaction.user.id, limit=count)
        await replies.reply(interaction, embed=embeds.history_embed(interaction.user, items))

    @app_commands.command(name="forget-me", description="Delete everything songrec knows about you.")
    async def forget_me(self, interaction: discord.Interaction[SongrecBot]) -> None:
        await ForgetMeView.ask(interaction)


async def setup(bot: SongrecBot) -> None:
    await bot.add_cog(FeedbackCog(bot))
