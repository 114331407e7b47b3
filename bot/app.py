"""The Discord bot: configuration, the Bot subclass, logging, and the `run_bot` / `sync_commands` entries.

The bot is a thin layer over a `SongService`, passed in already running by the caller (`songrec serve`,
songrec.cli.serve, opens the real service and starts the learning loop beside it; tests pass a double),
so nothing here touches models, SQL or training. Slash commands are synced only when asked
(`songrec sync [--guild ID]`): syncing on every start gets rate limited and is slow to propagate.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import discord
from discord import app_commands
from discord.ext import commands

from bot import embeds, observability
from bot.dedup import first_delivery
from bot.errors import WrongChannel
from bot.replies import report_error
from bot.sharding import ShardConfig
from bot.sharding import from_settings as shard_settings
from bot.views import DYNAMIC_ITEMS
from songrec.coordination import Coordination, LocalCoordination
from songrec.domain import BotConfigError, GuildSettings, ServiceUnavailable, SettingsError
from songrec.service.api import SongService
from songrec.settings import Settings, get_settings

log = logging.getLogger("songrec.bot")

EXTENSIONS: tuple[str, ...] = (
    "bot.cogs.recommend",
    "bot.cogs.search",
    "bot.cogs.feedback",
    "bot.cogs.sessions",
    "bot.cogs.settings",
    "bot.cogs.spotify",
    "bot.cogs.admin",
    "bot.cogs.privacy",
    "bot.cogs.taste",
    "bot.cogs.compat",
    "bot.cogs.mix",
    "bot.cogs.charts",
)
# Commands that work in every channel even when a guild restricts songrec to one: admins must be able
# to fix the setting, and anyone must be able to delete their data.
UNRESTRICTED_COMMANDS = frozenset({"settings", "forget-me", "admin", "privacy"})
SETTINGS_TTL_S = 60.0
SETTINGS_TIMEOUT_S = 1.5

_TOKEN_HELP = (
    "DISCORD_TOKEN is not set. Create an application at https://discord.com/developers/applications, "
    "add a bot to it, copy the bot's token and run `export DISCORD_TOKEN=<token>` (optionally "
    "`export DEV_GUILD_ID=<server id>` for instant command updates in a test server), then "
    "`songrec sync --guild <server id>` once and start the bot again. No Discord at hand? "
    "`songrec chat` offers the same commands in this terminal."
)


@dataclass(frozen=True, slots=True)
class BotConfig:
    token: str
    dev_guild_id: int | None = None
    shards: ShardConfig | None = None  # None: a plain bot; else AutoShardedBot (SONGREC_SHARDS)
    #: Post the servers' monthly mixes on the first of each month (bot/mix_schedule.py); load_config
    #: turns it on for a real bot, tests leave it off and run the job themselves.
    monthly_mix: bool = False


def load_config(env: Mapping[str, str] | None = None) -> BotConfig:
    """DISCORD_TOKEN, DEV_GUILD_ID and the shards, from the settings; a clear BotConfigError when they (or
    any other songrec variable: the bot checks them all before it starts) are missing or malformed."""
    try:
        settings = get_settings() if env is None else Settings.from_env(env)
    except SettingsError as exc:
        raise BotConfigError(str(exc)) from exc
    if not settings.discord_token:
        raise BotConfigError(_TOKEN_HELP)
    return BotConfig(
        settings.discord_token, settings.dev_guild_id, shards=shard_settings(settings), monthly_mix=True
    )


def setup_logging(level: int | str | None = None) -> None:
    """songrec's redacting one-line logging for every logger, discord.py's included (level: SONGREC_LOG_LEVEL,
    default INFO). discord.http stays at WARNING, to keep request noise out, unless DEBUG was asked for."""
    from songrec.ops.logs import setup_logging as configure

    configure(level)
    quiet = logging.getLogger().getEffectiveLevel() > logging.DEBUG
    logging.getLogger("discord.http").setLevel(logging.WARNING if quiet else logging.NOTSET)


def build_intents() -> discord.Intents:
    """Default intents plus voice states; no privileged intents (members, presences, message content)."""
    intents = discord.Intents.default()
    intents.voice_states = True
    intents.members = False
    intents.presences = False
    intents.message_content = False
    return intents


class SongrecTree(app_commands.CommandTree["SongrecBot"]):
    """Applies the guild's command-channel restriction and routes every failure to a friendly reply."""

    async def interaction_check(self, interaction: discord.Interaction[SongrecBot], /) -> bool:
        if not await first_delivery(self.client.coordination, interaction):
            return False  # another process (or an earlier delivery) answers it: stay silent
        observability.command_started(interaction)
        if (
            interaction.type is not discord.InteractionType.application_command
            or interaction.guild_id is None
        ):
            return True
        name = (interaction.data or {}).get("name")
        if name in UNRESTRICTED_COMMANDS:
            return True
        settings = await self.client.guild_settings(interaction.guild_id)
        allowed = settings.command_channel_id if settings else None
        if allowed is None:
            return True
        parent_id = getattr(interaction.channel, "parent_id", None)
        if allowed in (interaction.channel_id, parent_id):
            return True
        raise WrongChannel(allowed)

    async def on_error(
        self, interaction: discord.Interaction[SongrecBot], error: app_commands.AppCommandError, /
    ) -> None:
        await report_error(interaction, error)
        observability.command_finished(interaction, error)


class SongrecBot(commands.Bot):
    """discord.py Bot holding the service; one cog per feature area, persistent suggestion buttons.

    `coordination` is the state shared with the deployment's other bot processes (cooldowns, "already
    handled" events); without one the bot keeps it to itself, as a single process needs.
    """

    def __init__(
        self,
        service: SongService,
        *,
        config: BotConfig | None = None,
        check_sync: bool = True,
        coordination: Coordination | None = None,
        **options: Any,
    ) -> None:
        options.setdefault("intents", build_intents())
        options.setdefault("allowed_mentions", embeds.NO_MENTIONS)
        super().__init__(
            command_prefix=commands.when_mentioned,
            help_command=None,
            tree_cls=SongrecTree,
            **options,
        )
        self.service: SongService = service
        self.coordination: Coordination = coordination or LocalCoordination()
        self.config = config
        self.check_sync = check_sync
        self._settings_cache: dict[int, tuple[float, GuildSettings]] = {}

    async def setup_hook(self) -> None:
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        self.add_dynamic_items(*DYNAMIC_ITEMS)
        if self.check_sync:
            await self._warn_if_unsynced()

    async def on_ready(self) -> None:
        log.info("songrec bot ready as %s in %d servers", self.user, len(self.guilds))

    async def on_app_command_completion(
        self, interaction: discord.Interaction[SongrecBot], command: app_commands.Command[Any, ..., Any]
    ) -> None:
        observability.command_finished(interaction)

    async def guild_settings(self, guild_id: int) -> GuildSettings | None:
        """Cached briefly: it is consulted on every command. None when the service is slow (fail open)."""
        cached = self._settings_cache.get(guild_id)
        now = time.monotonic()
        if cached and now - cached[0] < SETTINGS_TTL_S:
            return cached[1]
        try:
            settings = await asyncio.wait_for(self.service.get_guild_settings(guild_id), SETTINGS_TIMEOUT_S)
        except (TimeoutError, ServiceUnavailable) as error:
            log.warning("guild settings for %s unavailable (%r); not restricting channels", guild_id, error)
            return cached[1] if cached else None
        self.remember_settings(settings)
        return settings

    def remember_settings(self, settings: GuildSettings) -> None:
        self._settings_cache[settings.guild_id] = (time.monotonic(), settings)

    async def _warn_if_unsynced(self) -> None:
        """Syncing is explicit; say so when Discord's command list lacks ours (a fresh install, a new command)."""
        local = {command.name for command in self.tree.get_commands()}
        guild = discord.Object(self.config.dev_guild_id) if self.config and self.config.dev_guild_id else None
        try:
            remote = {command.name for command in await self.tree.fetch_commands()}
            if guild is not None:
                remote |= {command.name for command in await self.tree.fetch_commands(guild=guild)}
        except discord.HTTPException as error:
            log.warning("could not check registered commands: %s", error)
            return
        missing = sorted(local - remote)
        if missing:
            hint = f"songrec sync --guild {guild.id}" if guild else "songrec sync"
            log.warning("slash commands not registered with Discord: %s; run `%s`", ", ".join(missing), hint)


class ShardedSongrecBot(SongrecBot, commands.AutoShardedBot):
    """The same bot on discord.py's AutoShardedBot: one process runs several gateway shards."""


def make_bot(service: SongService, config: BotConfig | None = None, **options: Any) -> SongrecBot:
    """A plain SongrecBot, or the sharded one when the config names shards (SONGREC_SHARDS).

    `options` go to discord.py's Bot (and `coordination` to SongrecBot)."""
    shards = config.shards if config is not None else None
    if shards is None:
        return SongrecBot(service, config=config, **options)
    ids = list(shards.ids) if shards.ids is not None else None
    log.info("starting %s", shards.describe())
    return ShardedSongrecBot(service, config=config, shard_count=shards.count, shard_ids=ids, **options)


async def run_bot(
    service: SongService, *, config: BotConfig | None = None, coordination: Coordination | None = None
) -> None:
    """Run the bot until it is stopped. Raises BotConfigError with a clear message on a missing/bad token."""
    config = config or load_config()
    setup_logging()
    bot = make_bot(service, config, coordination=coordination)
    async with bot:
        try:
            await bot.start(config.token)
        except discord.LoginFailure as error:
            raise BotConfigError(
                "Discord rejected DISCORD_TOKEN. Reset the token in the developer portal (Bot → Reset Token) "
                "and export the new one."
            ) from error


class _SyncOnlyService:
    """Stands in for the service while syncing commands: nothing is answered, so nothing is needed."""

    def __getattr__(self, name: str) -> Any:
        raise ServiceUnavailable("The bot is only syncing commands; the song service is not running.")


async def sync_commands(
    guild_id: int | None = None, *, config: BotConfig | None = None, service: SongService | None = None
) -> list[str]:
    """Register the slash commands with Discord: in one guild (instant, for testing) or globally.

    Returns the synced command names. Called by `songrec sync [--guild ID]`; never on start.
    """
    config = config or load_config()
    setup_logging()
    bot = SongrecBot(service or cast(SongService, _SyncOnlyService()), config=config, check_sync=False)
    async with bot:
        try:
            await bot.login(config.token)
        except discord.LoginFailure as error:
            raise BotConfigError(
                "Discord rejected DISCORD_TOKEN; reset it in the developer portal."
            ) from error
        if guild_id is not None:
            guild = discord.Object(guild_id)
            bot.tree.copy_global_to(guild=guild)
            synced = await bot.tree.sync(guild=guild)
        else:
            synced = await bot.tree.sync()
    names = [command.name for command in synced]
    log.info("synced %d commands%s: %s", len(names), f" to guild {guild_id}" if guild_id else "", names)
    return names
