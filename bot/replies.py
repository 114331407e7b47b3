"""How the bot answers an interaction: defer, reply, post suggestions, report errors.

Kept in one module so every path obeys the same rules: defer before slow work (Discord's 3-second
deadline), no mentions ever ping, failures reach the user ephemerally, and an answer costs few REST
calls (a channel allows about one reaction per 0.25 s and five messages per 5 s).
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
NOTHING_NEW = "I have nothing new to suggest right now. Try /recommend with a song you like."

#: A message holds 5 rows of components: one row of buttons per suggestion.
SONGS_PER_MESSAGE = 5
#: Discord's limit on the characters of all the embeds of one message together.
EMBEDS_TOTAL_LIMIT = 6000

Message = discord.InteractionMessage | discord.WebhookMessage


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


async def reply_privately(
    interaction: discord.Interaction[Any], content: str, *, view: discord.ui.View | None = None
) -> None:
    """An ephemeral answer, even after a public defer (whose placeholder is removed, not made public)."""
    kwargs: dict[str, Any] = {"ephemeral": True, "allowed_mentions": embeds.NO_MENTIONS}
    if view is not None:
        kwargs["view"] = view
    if not interaction.response.is_done():
        await interaction.response.send_message(content, **kwargs)
        return
    if interaction.extras.get(_PUBLIC_DEFER) and not interaction.extras.get(_ORIGINAL_USED):
        # The public "thinking…" placeholder would swallow an ephemeral follow-up and show it to
        # everyone: remove it first.
        with suppress(discord.HTTPException):
            await interaction.delete_original_response()
    interaction.extras[_ORIGINAL_USED] = True
    await interaction.followup.send(content, **kwargs)


async def post_suggestions(
    interaction: discord.Interaction[Any],
    suggestions: Sequence[Suggestion],
    header: str,
    *,
    session: bool = False,
) -> list[Message]:
    """Post suggestions with their buttons, in as few messages as Discord's limits allow.

    A /recommend answer is one message: the header, one embed per song and a row of buttons per song
    (up to five songs a message). A group session posts one message per song instead, so everyone's
    👍/👎 reaction names exactly one track; 👍/👎 are seeded wherever a message holds one song.
    After a public defer the first message replaces the "thinking…" placeholder.
    """
    if not interaction.response.is_done():
        await defer(interaction, ephemeral=False)
    if not suggestions:
        await _send(interaction, content=NOTHING_NEW)
        return []
    session = session or any(s.session_id is not None for s in suggestions)
    if session:
        await _send(interaction, content=header)
        groups = [[s] for s in suggestions]
    else:
        groups = _groups(suggestions)
    # Local import: views imports this module.
    from bot.views import suggestions_view

    numbered = len(suggestions) > 1 and not session
    first = 1
    shown: list[Message] = []
    for group in groups:
        numbers = list(range(first, first + len(group))) if numbered else None
        first += len(group)
        message = await _send(
            interaction,
            content=None if session or shown else header,
            cards=_cards(group, numbers, session=session),
            view=suggestions_view(group, numbers=numbers),
        )
        channel_id = message.channel.id if message.channel else interaction.channel_id
        await service_of(interaction).attach_message(
            [s.id for s in group], message.id, channel_id, interaction.guild_id
        )
        shown.append(message)
    for message, group in zip(shown, groups, strict=True):
        if len(group) == 1:  # one message, one song: a reaction names it
            await add_vote_reactions(message)
    return shown


def _cards(
    group: Sequence[Suggestion], numbers: Sequence[int] | None, *, session: bool
) -> list[discord.Embed]:
    if numbers is None:
        return [embeds.suggestion_embed(s, session=session) for s in group]
    return [
        embeds.numbered_suggestion_embed(s, n, last=i == len(group) - 1)
        for i, (s, n) in enumerate(zip(group, numbers, strict=True))
    ]


def _groups(suggestions: Sequence[Suggestion]) -> list[list[Suggestion]]:
    """Consecutive runs of at most SONGS_PER_MESSAGE songs whose embeds fit one message together."""
    groups: list[list[Suggestion]] = []
    used = 0
    for number, suggestion in enumerate(suggestions, 1):
        size = len(embeds.numbered_suggestion_embed(suggestion, number, last=True))
        if not groups or len(groups[-1]) >= SONGS_PER_MESSAGE or used + size > EMBEDS_TOTAL_LIMIT:
            groups.append([])
            used = 0
        groups[-1].append(suggestion)
        used += size
    return groups


async def _send(
    interaction: discord.Interaction[Any],
    *,
    content: str | None = None,
    cards: list[discord.Embed] | None = None,
    view: discord.ui.View | None = None,
) -> Message:
    """Fill the public placeholder when it is still there, else post a public follow-up."""
    kwargs: dict[str, Any] = {"allowed_mentions": embeds.NO_MENTIONS}
    if content is not None:
        kwargs["content"] = content
    if cards:
        kwargs["embeds"] = cards
    if view is not None:
        kwargs["view"] = view
    if interaction.extras.get(_PUBLIC_DEFER) and not interaction.extras.get(_ORIGINAL_USED):
        interaction.extras[_ORIGINAL_USED] = True
        return await interaction.edit_original_response(**kwargs)
    interaction.extras[_ORIGINAL_USED] = True
    return await interaction.followup.send(wait=True, **kwargs)


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
        await reply_privately(interaction, content)
    except discord.HTTPException as http_error:
        log.warning("could not tell user %s about an error: %s", interaction.user.id, http_error)
