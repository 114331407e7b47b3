"""How the bot answers an interaction: defer, reply, post suggestions, report errors.

Kept in one module so every path obeys the same rules: defer before slow work (Discord's 3-second
deadline), no mentions ever ping, failures reach the user ephemerally.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import suppress
from typing import TYPE_CHECKING, Any

import discord

from bot import embeds
from bot.errors import is_unexpected, user_message
from songrec.domain import Suggestion
from songrec.service.api import SongService

if TYPE_CHECKING:
    from bot.app import SongrecBot

log = logging.getLogger("songrec.bot")

_PUBLIC_DEFER = "songrec_public_defer"
_ORIGINAL_USED = "songrec_original_used"


def service_of(interaction: discord.Interaction[Any]) -> SongService:
    bot: SongrecBot = interaction.client
    return bot.service


async def defer(interaction: discord.Interaction[Any], *, ephemeral: bool) -> None:
    """Acknowledge now ("thinking…"), so the service may take longer than three seconds."""
    if interaction.response.is_done():
        return
    await interaction.response.defer(ephemeral=ephemeral, thinking=True)
    interaction.extras[_PUBLIC_DEFER] = not ephemeral


async def reply(
    interaction: discord.Interaction[Any],
    content: str | None = None,
    *,
    embed: discord.Embed | None = None,
    view: discord.ui.View | None = None,
    ephemeral: bool = True,
    file: discord.File | None = None,
) -> None:
    """Answer directly, or (after a defer) with a follow-up, which replaces the "thinking…" placeholder."""
    kwargs: dict[str, Any] = {"allowed_mentions": embeds.NO_MENTIONS, "ephemeral": ephemeral}
    if content is not None:
        kwargs["content"] = content
    if file is not None:
        kwargs["file"] = file
    if embed is not None:
        kwargs["embed"] = embed
    if view is not None:
        kwargs["view"] = view
    if not interaction.response.is_done():
        await interaction.response.send_message(**kwargs)
        return
    interaction.extras[_ORIGINAL_USED] = True
    await interaction.followup.send(**kwargs)


async def post_suggestions(
    interaction: discord.Interaction[Any],
    suggestions: Sequence[Suggestion],
    header: str,
    *,
    session: bool = False,
) -> list[discord.WebhookMessage]:
    """One message per suggestion (a reaction then names exactly one track), buttons and 👍/👎 on each.

    The interaction must already be deferred publicly; the header replaces its placeholder.
    """
    service = service_of(interaction)
    if not suggestions:
        await interaction.edit_original_response(
            content="I have nothing new to suggest right now. Try /recommend with a song you like.",
            allowed_mentions=embeds.NO_MENTIONS,
        )
        interaction.extras[_ORIGINAL_USED] = True
        return []
    await interaction.edit_original_response(content=header, allowed_mentions=embeds.NO_MENTIONS)
    interaction.extras[_ORIGINAL_USED] = True
    # Local import: views imports this module.
    from bot.views import suggestion_view

    posted: list[discord.WebhookMessage] = []
    for suggestion in suggestions:
        message = await interaction.followup.send(
            embed=embeds.suggestion_embed(suggestion, session=session or suggestion.session_id is not None),
            view=suggestion_view(suggestion.id),
            allowed_mentions=embeds.NO_MENTIONS,
            wait=True,
        )
        channel_id = message.channel.id if message.channel else interaction.channel_id
        await service.attach_message([suggestion.id], message.id, channel_id, interaction.guild_id)
        posted.append(message)
    for message in posted:
        await add_vote_reactions(message)
    return posted


async def add_vote_reactions(message: discord.Message) -> None:
    """Seed 👍 and 👎 so one tap rates the track; without the permission the buttons still work."""
    for emoji in (embeds.LIKE_EMOJI, embeds.DISLIKE_EMOJI):
        try:
            await message.add_reaction(emoji)
        except discord.HTTPException as error:
            log.warning("could not add %s to message %s: %s", emoji, message.id, error)
            return


async def report_error(interaction: discord.Interaction[Any], error: BaseException) -> None:
    """Tell the user what went wrong, ephemerally; log a traceback only for real bugs."""
    if interaction.type is discord.InteractionType.autocomplete:
        log.warning("autocomplete failed: %r", error)
        return
    text, trusted = user_message(error)
    if is_unexpected(error):
        command = interaction.command.qualified_name if interaction.command else interaction.data
        log.error("unexpected error in %s for user %s", command, interaction.user.id, exc_info=error)
    content = f"⚠️ {text}" if trusted else embeds.error_text(text)
    try:
        if not interaction.response.is_done():
            await interaction.response.send_message(
                content, ephemeral=True, allowed_mentions=embeds.NO_MENTIONS
            )
            return
        if interaction.extras.get(_PUBLIC_DEFER) and not interaction.extras.get(_ORIGINAL_USED):
            # The public "thinking…" placeholder would swallow an ephemeral follow-up and show the
            # error to everyone: remove it first.
            with suppress(discord.HTTPException):
                await interaction.delete_original_response()
        interaction.extras[_ORIGINAL_USED] = True
        await interaction.followup.send(content, ephemeral=True, allowed_mentions=embeds.NO_MENTIONS)
    except discord.HTTPException as http_error:
        log.warning("could not tell user %s about an error: %s", interaction.user.id, http_error)
