"""Which gateway shards this bot process runs: SONGREC_SHARDS and SONGREC_SHARD_IDS.

Unset: one plain (unsharded) bot, right for up to ~2,500 servers. SONGREC_SHARDS=auto: one process
runs Discord's recommended number of shards. SONGREC_SHARDS=16 with SONGREC_SHARD_IDS=0-3 (or "0,1,2,3"):
this process runs shards 0 to 3 of 16, so four processes (each with its own range) share the load.
See docs/scaling.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from songrec.domain import BotConfigError, SettingsError
from songrec.settings import Settings, get_settings, parse_shard_ids

SHARDS_ENV = "SONGREC_SHARDS"
SHARD_IDS_ENV = "SONGREC_SHARD_IDS"


@dataclass(frozen=True, slots=True)
class ShardConfig:
    count: int | None  # None: ask Discord for the recommended count (GET /gateway/bot)
    ids: tuple[int, ...] | None = None  # None: every shard in 0..count-1

    def describe(self) -> str:
        if self.count is None:
            return "auto-sharded (Discord's recommended count)"
        if self.ids is None:
            return f"all {self.count} shards"
        return f"shards {', '.join(map(str, self.ids))} of {self.count}"


def parse_ids(text: str, count: int) -> tuple[int, ...]:
    """ "0-3,8" -> (0, 1, 2, 3, 8); every id must be below `count` (the parser is songrec.settings')."""
    try:
        return parse_shard_ids(text, count)
    except SettingsError as exc:
        raise BotConfigError(str(exc)) from exc


def shard_config(env: Mapping[str, str] | None = None) -> ShardConfig | None:
    """The shard setup from the environment (or `env`); None for a plain, unsharded bot."""
    try:
        config = get_settings() if env is None else Settings.from_env(env)
    except SettingsError as exc:
        raise BotConfigError(str(exc)) from exc
    return from_settings(config)


def from_settings(config: Settings) -> ShardConfig | None:
    """The shard setup that already-parsed settings ask for."""
    if config.shards is None:
        return None
    if config.shards == "auto":
        return ShardConfig(count=None)
    return ShardConfig(count=config.shards, ids=config.shard_ids)
