"""Per-user cooldowns on slash commands, counted in the deployment's shared state.

`shared_cooldown("recommend", 4, 60.0)` replaces discord.py's `app_commands.checks.cooldown`, which
counts in this process's memory: with several bot processes (shards) a user active in servers on
different processes got each process's allowance. The count lives in the bot's Coordination (Redis
when SONGREC_REDIS_URL is set, else this process), and a refusal is discord.py's own
CommandOnCooldown, so the reply ("try again in Ns") is unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import discord
from discord import app_commands

if TYPE_CHECKING:
    from bot.app import SongrecBot

T = TypeVar("T")


def cooldown_key(command: str, user_id: int) -> str:
    return f"cooldown:{command}:{user_id}"


def shared_cooldown(command: str, rate: int, per_s: float) -> Callable[[T], T]:
    """At most `rate` uses of `command` per user per `per_s` seconds, across every bot process."""

    async def predicate(interaction: discord.Interaction[SongrecBot]) -> bool:
        coordination = interaction.client.coordination
        retry_after = await coordination.hit(cooldown_key(command, interaction.user.id), rate, per_s)
        if retry_after is not None:
            raise app_commands.CommandOnCooldown(app_commands.Cooldown(rate, per_s), retry_after)
        return True

    check: Callable[[T], T] = app_commands.check(predicate)  # type: ignore[arg-type]
    return check


__all__ = ["cooldown_key", "shared_cooldown"]
