"""Buttons under suggestions (persistent: they work after a restart) and the /forget-me confirmation.

Each suggestion button carries the suggestion id in its custom_id (`songrec:like:<id>`), so a fresh bot
process needs no state beyond the service to answer a click on a message it posted days ago. A message
of several songs has one row of buttons per song, numbered like the song's embed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

import discord

from bot import embeds, replies
from bot.dedup import first_delivery
from songrec.domain import Suggestion

log = logging.getLogger("songrec.bot")


class _SuggestionButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"songrec:(?!x)x"):
    """Base for the four buttons; subclasses set `action`, the label and the template."""

    action = ""
    button_label = ""
    numbered_label = ""  # with the song's number, on a message of several songs
    button_emoji: str | None = None
    button_style = discord.ButtonStyle.secondary

    def __init__(self, suggestion_id: int, *, number: int | None = None, row: int | None = None) -> None:
        self.suggestion_id = suggestion_id
        label = self.button_label if number is None else self.numbered_label.format(n=number)
        super().__init__(
            discord.ui.Button(
                label=label,
                emoji=self.button_emoji,
                style=self.button_style,
                custom_id=f"songrec:{self.action}:{suggestion_id}",
            ),
            row=row,
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> _SuggestionButton:
        return cls(int(match["id"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        if not await first_delivery(interaction.client.coordination, interaction):
            return  # delivered twice: the first delivery answers it
        try:
            await self.handle(interaction)
        except Exception as error:
            await replies.report_error(interaction, error)

    async def handle(self, interaction: discord.Interaction[Any]) -> None:
        raise NotImplementedError


class _FeedbackButton(_SuggestionButton, template=r"songrec:(?!x)x"):
    value = 0

    async def handle(self, interaction: discord.Interaction[Any]) -> None:
        await replies.defer(interaction, ephemeral=True)
        service = replies.service_of(interaction)
        suggestion = await service.get_suggestion(self.suggestion_id)
        if suggestion is None:
            await replies.reply(interaction, "That suggestion is no longer available.")
            return
        source = "session" if suggestion.session_id is not None else "button"
        rate = service.like if self.value > 0 else service.dislike
        result = await rate(
            interaction.user.id,
            suggestion_id=self.suggestion_id,
            source=source,
            guild_id=interaction.guild_id,
            channel_id=interaction.channel_id,
        )
        await replies.reply(interaction, embeds.feedback_text(result))


class LikeButton(_FeedbackButton, template=r"songrec:like:(?P<id>[0-9]{1,20})"):
    action = "like"
    button_label = "Like"
    numbered_label = "Like #{n}"
    button_emoji = embeds.LIKE_EMOJI
    button_style = discord.ButtonStyle.success
    value = 1


class DislikeButton(_FeedbackButton, template=r"songrec:dislike:(?P<id>[0-9]{1,20})"):
    action = "dislike"
    button_label = "Dislike"
    numbered_label = "Dislike #{n}"
    button_emoji = embeds.DISLIKE_EMOJI
    button_style = discord.ButtonStyle.danger
    value = -1


class MoreLikeThisButton(_SuggestionButton, template=r"songrec:more:(?P<id>[0-9]{1,20})"):
    action = "more"
    button_label = "More like this"
    numbered_label = "More like #{n}"
    button_emoji = "🔁"
    button_style = discord.ButtonStyle.primary
    count = 3

    async def handle(self, interaction: discord.Interaction[Any]) -> None:
        await replies.defer(interaction, ephemeral=False)
        service = replies.service_of(interaction)
        original = await service.get_suggestion(self.suggestion_id)
        suggestions = await service.more_like(interaction.user.id, self.suggestion_id, k=self.count)
        header = embeds.more_like_header(
            interaction.user, original.track if original else None, len(suggestions)
        )
        await replies.post_suggestions(interaction, suggestions, header)


class WhyButton(_SuggestionButton, template=r"songrec:why:(?P<id>[0-9]{1,20})"):
    action = "why"
    button_label = "Why?"
    numbered_label = "Why #{n}?"
    button_emoji = "💡"

    async def handle(self, interaction: discord.Interaction[Any]) -> None:
        await replies.defer(interaction, ephemeral=True)
        service = replies.service_of(interaction)
        text = await service.why(interaction.user.id, self.suggestion_id, interaction.channel_id)
        await replies.reply(interaction, embeds.why_text(text))


DYNAMIC_ITEMS: tuple[type[_SuggestionButton], ...] = (
    LikeButton,
    DislikeButton,
    MoreLikeThisButton,
    WhyButton,
)


def suggestions_view(
    suggestions: Sequence[Suggestion], *, numbers: Sequence[int] | None = None
) -> discord.ui.View:
    """One row of buttons per song (a message holds five rows), labelled with the song's number when
    the message shows several; timeout=None and dynamic custom ids make them survive restarts."""
    if len(suggestions) > replies.SONGS_PER_MESSAGE:
        raise ValueError(f"a message holds the buttons of {replies.SONGS_PER_MESSAGE} songs at most")
    view = discord.ui.View(timeout=None)
    for row, suggestion in enumerate(suggestions):
        number = numbers[row] if numbers is not None else None
        for cls in DYNAMIC_ITEMS:
            view.add_item(cls(suggestion.id, number=number, row=row))
    return view


class ForgetMeView(discord.ui.View):
    """Ephemeral yes/no before deleting everything songrec knows about the caller."""

    def __init__(self, user_id: int, *, timeout: float = 180.0) -> None:
        super().__init__(timeout=timeout)
        self.user_id = user_id
        self.deleted: int | None = None

    @classmethod
    async def ask(cls, interaction: discord.Interaction[Any]) -> None:
        """The confirmation prompt, privately: /forget-me and /privacy forget-me both open it."""
        await interaction.response.send_message(
            "This deletes all your likes, dislikes, history and sessions from songrec. It can't be undone. Sure?",
            view=cls(interaction.user.id),
            ephemeral=True,
            allowed_mentions=embeds.NO_MENTIONS,
        )

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        if interaction.user.id != self.user_id:
            await interaction.response.send_message(
                "This confirmation is not yours.", ephemeral=True, allowed_mentions=embeds.NO_MENTIONS
            )
            return False
        return True

    @discord.ui.button(label="Yes, delete all my data", style=discord.ButtonStyle.danger)
    async def confirm(self, interaction: discord.Interaction[Any], button: discord.ui.Button[Any]) -> None:
        # Deleting may take a while: acknowledge now, then edit this prompt in place.
        await interaction.response.defer()
        try:
            self.deleted = await replies.service_of(interaction).forget_user(self.user_id)
        except Exception as error:
            await replies.report_error(interaction, error)
            return
        self.stop()
        await interaction.edit_original_response(
            content=f"Done: I deleted {self.deleted} records and forgot everything about you.",
            view=None,
            allowed_mentions=embeds.NO_MENTIONS,
        )

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: discord.Interaction[Any], button: discord.ui.Button[Any]) -> None:
        self.stop()
        await interaction.response.edit_message(
            content="Cancelled: nothing was deleted.", view=None, allowed_mentions=embeds.NO_MENTIONS
        )

    async def on_error(
        self, interaction: discord.Interaction[Any], error: Exception, item: discord.ui.Item[Any], /
    ) -> None:
        await replies.report_error(interaction, error)
