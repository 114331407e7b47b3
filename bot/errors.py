"""Bot-side failures and the one mapping from any exception to a friendly, safe sentence."""

from __future__ import annotations

import logging
import math

from discord import app_commands

from songrec.domain import SongrecError

log = logging.getLogger("songrec.bot")

GENERIC_APOLOGY = "Sorry, something went wrong on my side. Please try again in a moment."


class WrongChannel(app_commands.CheckFailure):
    """The guild restricts songrec's commands to one channel."""

    def __init__(self, channel_id: int) -> None:
        self.channel_id = channel_id
        super().__init__(f"On this server I take commands in <#{channel_id}>; see you there!")


class NotDJ(app_commands.CheckFailure):
    """The server has a DJ role and the member has neither it nor Manage Server (bot/checks.py)."""

    def __init__(self, role: str, action: str) -> None:
        self.role = role  # already safe markdown: an escaped "@name" or a role mention
        super().__init__(f"Only members with the {role} role can {action} here.")


def user_message(error: BaseException) -> tuple[str, bool]:
    """(text for the user, whether the text is already safe markdown) for any exception.

    SongrecError texts quote user input and catalogue names, so they are escaped by the caller
    (`safe=False`); texts written here are trusted.
    """
    if isinstance(error, app_commands.CommandInvokeError | app_commands.TransformerError):
        original = getattr(error, "original", None) or error.__cause__
        if original is not None and original is not error:
            return user_message(original)
    if isinstance(error, SongrecError):
        hint = getattr(error, "operator_hint", "")
        if hint:  # what the operator must change goes to the log, never to the listener
            log.warning("operator action needed: %s", hint)
        return str(error) or GENERIC_APOLOGY, False
    if isinstance(error, WrongChannel | NotDJ):
        return str(error), True
    if isinstance(error, app_commands.CommandOnCooldown):
        wait = max(1, math.ceil(error.retry_after))
        return f"You're going a little fast: try again in {wait}s.", True
    if isinstance(error, app_commands.MissingPermissions):
        needed = ", ".join(
            p.replace("_", " ").replace("guild", "server").title() for p in error.missing_permissions
        )
        return f"You need the **{needed}** permission for that.", True
    if isinstance(error, app_commands.BotMissingPermissions):
        needed = ", ".join(p.replace("_", " ").title() for p in error.missing_permissions)
        return f"I'm missing the **{needed}** permission in this channel.", True
    if isinstance(error, app_commands.NoPrivateMessage):
        return "That command only works inside a server.", True
    if isinstance(error, app_commands.CheckFailure):
        return "You can't use that command here.", True
    return GENERIC_APOLOGY, True


def is_unexpected(error: BaseException) -> bool:
    """Whether the failure deserves a traceback in the log (not a user mistake or a check)."""
    if isinstance(error, app_commands.CommandInvokeError):
        return is_unexpected(error.original)
    return not isinstance(error, SongrecError | app_commands.CheckFailure)
