"""The DJ role: who may steer a server's shared music, checked in one place.

A server picks a DJ role in /settings. While it has one, only members with that role, or with Manage
Server, start, skip and end group sessions and post or export the monthly mix; personal commands
(/recommend, /like, /taste, ...) are never gated. Without a DJ role those commands stay as they were:
open to everyone, and `/mix now` to Manage Server only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import discord
from discord import app_commands

from bot import embeds
from bot.errors import NotDJ

if TYPE_CHECKING:
    from bot.app import SongrecBot

T = TypeVar("T")

#: The permission that always passes, as discord.py names it (and MissingPermissions reports it).
MANAGER_PERMISSION = "manage_guild"


async def ensure_dj(
    interaction: discord.Interaction[SongrecBot], action: str, *, admins_without_role: bool = False
) -> None:
    """Return when the member may `action` ("start a session"), else raise NotDJ naming the role.

    `admins_without_role`: with no DJ role set, only Manage Server passes (MissingPermissions otherwise);
    by default no DJ role means everyone passes. Outside a server nothing is gated.
    """
    if interaction.guild_id is None or interaction.permissions.manage_guild:
        return
    settings = await interaction.client.guild_settings(interaction.guild_id)
    role_id = settings.dj_role_id if settings is not None else None
    if role_id is None:
        if admins_without_role:
            raise app_commands.MissingPermissions([MANAGER_PERMISSION])
        return
    if not has_role(interaction, role_id):
        raise NotDJ(role_label(interaction.guild, role_id), action)


def has_role(interaction: discord.Interaction[Any], role_id: int) -> bool:
    """Whether the member holds the role (the interaction's member payload lists their role ids)."""
    user = interaction.user
    if not isinstance(user, discord.Member) or interaction.guild is None:
        return False  # the server is not in the cache: its roles are unknown, so the gate stays shut
    return user.get_role(role_id) is not None


def role_label(guild: discord.Guild | None, role_id: int) -> str:
    """ "@DJ" (escaped) when the server's roles are cached; else a role mention, which Discord shows by name."""
    role = guild.get_role(role_id) if guild is not None else None
    return f"@{embeds.safe(role.name, 100)}" if role is not None else f"<@&{role_id}>"


def dj_only(action: str, *, admins_without_role: bool = False) -> Callable[[T], T]:
    """A command check running `ensure_dj`; put it next to `async def`, so it runs before a cooldown."""

    async def predicate(interaction: discord.Interaction[SongrecBot]) -> bool:
        await ensure_dj(interaction, action, admins_without_role=admins_without_role)
        return True

    check: Callable[[T], T] = app_commands.check(predicate)  # type: ignore[arg-type]
    return check
