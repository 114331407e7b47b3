"""Command latency and error metrics for the bot, fed from the command tree's hooks (see bot.app)."""

from __future__ import annotations

import time
from typing import Any

import discord

from bot.errors import is_unexpected
from songrec.ops.metrics import metrics

STARTED = "songrec_started_at"


def command_started(interaction: discord.Interaction[Any]) -> None:
    """Called first thing for every application command (from the tree's interaction_check)."""
    interaction.extras.setdefault(STARTED, time.perf_counter())


def command_name(interaction: discord.Interaction[Any]) -> str:
    command = interaction.command
    if command is not None:
        return command.qualified_name
    return str((interaction.data or {}).get("name") or "unknown")


def command_finished(interaction: discord.Interaction[Any], error: BaseException | None = None) -> None:
    """Record the latency (and, for a failure, the error) of a command that has answered."""
    started = interaction.extras.get(STARTED)
    if started is None or interaction.type is not discord.InteractionType.application_command:
        return
    name = command_name(interaction)
    recorder = metrics()
    recorder.command(name, time.perf_counter() - started, "ok" if error is None else "error")
    if error is not None:
        original = getattr(error, "original", None) or error
        kind = type(original).__name__ if is_unexpected(error) else f"user:{type(original).__name__}"
        recorder.error(name, kind)
