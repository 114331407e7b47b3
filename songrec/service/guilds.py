"""Per-server settings (command channel, explore rate, session strategy, the monthly mix, the DJ role), read
through a short cache."""

from __future__ import annotations

import time
from typing import Any

from songrec.domain import GuildSettings, InvalidInput
from songrec.domain.vocabulary import SESSION_STRATEGIES
from songrec.service import checks
from songrec.service.config import ServiceConfig
from songrec.service.errors import db_errors
from songrec.store import StoreBackend

SETTINGS = frozenset(
    {"command_channel_id", "explore_rate", "session_strategy", "mix_enabled", "mix_channel_id", "dj_role_id"}
)
STRATEGY_HELP = "Strategy must be 'average' or 'least_misery'."


class GuildSettingsBook:
    """Reads and writes guild settings; `cached` answers from memory for guild_settings_ttl_s."""

    def __init__(self, store: StoreBackend, config: ServiceConfig) -> None:
        self._store = store
        self._config = config
        self._cache: dict[int, tuple[float, GuildSettings]] = {}

    async def get(self, guild_id: int) -> GuildSettings:
        guild_id = checks.guild(guild_id)
        with db_errors():
            stored = await self._store.get_guild_settings(guild_id)
        settings = GuildSettings(
            guild_id=stored.guild_id,
            command_channel_id=stored.command_channel_id,
            # A guild that never chose keeps following the service default (not the schema's).
            explore_rate=stored.explore_rate if stored.updated_at is not None else self._config.explore_rate,
            session_strategy=stored.session_strategy,  # type: ignore[arg-type]
            mix_enabled=stored.mix_enabled,
            mix_channel_id=stored.mix_channel_id,
            dj_role_id=stored.dj_role_id,
            updated_at=stored.updated_at,
        )
        self._cache[settings.guild_id] = (time.monotonic(), settings)
        return settings

    async def update(self, guild_id: int, **changes: Any) -> GuildSettings:
        unknown = set(changes) - SETTINGS
        if unknown:
            raise InvalidInput(f"Unknown setting(s): {', '.join(sorted(unknown))}.")
        if "explore_rate" in changes:
            checks.rate(changes["explore_rate"])
        if "session_strategy" in changes and changes["session_strategy"] not in SESSION_STRATEGIES:
            raise InvalidInput(STRATEGY_HELP)
        if "mix_enabled" in changes and not isinstance(changes["mix_enabled"], bool):
            raise InvalidInput("The monthly mix is either on or off.")
        current = await self.get(guild_id)
        with db_errors():
            stored = await self._store.get_guild_settings(guild_id)
            if stored.updated_at is None:  # first save: pin the defaults the guild was running with
                changes = {"explore_rate": current.explore_rate, **changes}
            await self._store.set_guild_settings(guild_id, **changes)
        return await self.get(guild_id)

    async def cached(self, guild_id: int) -> GuildSettings:
        hit = self._cache.get(guild_id)
        if hit is not None and time.monotonic() - hit[0] < self._config.guild_settings_ttl_s:
            return hit[1]
        return await self.get(guild_id)
