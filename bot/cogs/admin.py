"""/admin status: what the bot is serving and how healthy it is, for the bot's owner and server managers.

Hidden from everyone else in Discord's UI (`default_permissions`), and checked again when it runs:
server admins can override the UI default, and a DM has no server permissions at all.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot import embeds, replies

if TYPE_CHECKING:
    from bot.app import SongrecBot

RUNS_SHOWN = 3


async def owner_or_manager(interaction: discord.Interaction[SongrecBot]) -> bool:
    """The bot's owner anywhere; otherwise Manage Server in this server."""
    if interaction.guild_id is not None and interaction.permissions.manage_guild:
        return True
    if await interaction.client.is_owner(interaction.user):
        return True
    raise app_commands.MissingPermissions(["manage_guild"])


async def owner_only(interaction: discord.Interaction[SongrecBot]) -> bool:
    """Training costs the whole machine's CPU for a while: the bot's owner only, not server managers."""
    if await interaction.client.is_owner(interaction.user):
        return True
    raise app_commands.CheckFailure("Only the bot's owner can retrain the models.")


def _size(n: int | None) -> str:
    if not n:
        return "?"
    return f"{n / 1024:.0f} KiB" if n < 1 << 20 else f"{n / (1 << 20):.1f} MiB"


def _when(ts: Any) -> str:
    if not isinstance(ts, int | float):
        return "?"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def status_embed(status: dict[str, Any], bot: commands.Bot) -> discord.Embed:
    """The service's status() plus the bot's own view (latency, servers, shards), escaped and bounded."""
    embed = discord.Embed(title="songrec status", colour=embeds.COLOUR)
    model = [
        f"version `{embeds.safe(status.get('model_version') or '?', 80)}`",
        f"catalogue {status.get('catalogue_size') or 0:,} tracks",
        f"index recall@10 {status.get('index_recall', '?')}",
    ]
    current = status.get("current_version")
    if current and current != status.get("model_version"):
        model.append(f"CURRENT points at `{embeds.safe(current, 80)}`")
    if status.get("ranker"):
        model.append(f"ranker {embeds.safe(status['ranker'], 60)}")
    embed.add_field(name="Model", value="\n".join(model), inline=False)
    note = status.get("serving_note")
    if note:
        embed.add_field(name="⚠️ Warning", value=embeds.safe(note, embeds.FIELD_VALUE_LIMIT), inline=False)
    runs = status.get("training_runs") or []
    lines = [
        f"#{r.get('id')} {embeds.safe(r.get('status', '?'), 20)}"
        f"{' (promoted)' if r.get('promoted') else ''} · {_when(r.get('started_at'))}"
        for r in runs[:RUNS_SHOWN]
    ]
    embed.add_field(name="Training runs", value="\n".join(lines) or "none recorded yet", inline=False)
    if status.get("planning"):
        embed.add_field(name="Planning", value=embeds.safe(status["planning"], 200), inline=False)
    embed.add_field(name="Database", value=_size(status.get("database_bytes")), inline=True)
    latency = bot.latency
    shards = f"{bot.shard_count} shards" if bot.shard_count else "unsharded"
    embed.add_field(
        name="Bot",
        value=f"{len(bot.guilds)} server{'' if len(bot.guilds) == 1 else 's'} · {shards} · "
        + (
            f"gateway {latency * 1000:.0f} ms"
            if latency == latency and latency != float("inf")
            else "gateway ?"
        ),
        inline=True,
    )
    coordination = getattr(bot, "coordination", None)  # cooldowns, duplicates, locks: Redis or this process
    if coordination is not None:
        embed.add_field(name="Shared state", value=embeds.safe(coordination.describe(), 200), inline=False)
    return embed


@app_commands.default_permissions(manage_guild=True)
class AdminCog(commands.GroupCog, group_name="admin", group_description="Bot health, for its operators"):
    def __init__(self, bot: SongrecBot) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(
        name="status", description="Model versions, catalogue, training runs, database size."
    )
    @app_commands.check(owner_or_manager)
    async def status(self, interaction: discord.Interaction[SongrecBot]) -> None:
        await replies.defer(interaction, ephemeral=True)
        status = await self.bot.service.status()
        await replies.reply(interaction, embed=status_embed(status, self.bot))

    @app_commands.command(name="retrain", description="Retrain the taste ranker now (bot owner only).")
    @app_commands.check(owner_only)
    async def retrain(self, interaction: discord.Interaction[SongrecBot]) -> None:
        await replies.defer(interaction, ephemeral=True)
        learning = self.bot.service.learning
        if learning is None:
            text = "Retraining isn't running in this bot process; run `songrec train ranker` on the server."
        elif learning.retrain_now(f"manual: /admin retrain by {interaction.user.id}"):
            text = "Retraining started in the background; `/admin status` shows the run when it finishes."
        else:
            text = "A retraining run is already going; `/admin status` shows it when it finishes."
        await replies.reply(interaction, content=text)


async def setup(bot: SongrecBot) -> None:
    await bot.add_cog(AdminCog(bot))
