"""Which gateway shards this bot process runs: SONGREC_SHARDS and SONGREC_SHARD_IDS.

Unset: one plain (unsharded) bot, right for up to ~2,500 servers. SONGREC_SHARDS=auto: one process
runs Discord's recommended number of shards. SONGREC_SHARDS=16 with SONGREC_SHARD_IDS=0-3 (or "0,1,2,3"):
this process runs shards 0 to 3 of 16, so four processes (each with its own range) share the load.
See docs/scaling.md.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from bot.errors import BotConfigError

SHARDS_ENV = "SONGREC_SHARDS"
SHARD_IDS_ENV = "SONGREC_SHARD_IDS"
#: Far above any real need (Discord requires a shard per 2,500 guilds); catches typos like 1600000.
MAX_SHARDS = 4096


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


def _number(text: str) -> bool:
    return text.isascii() and text.isdigit()  # "①".isdigit() is True, but int("①") raises


def parse_ids(text: str, count: int) -> tuple[int, ...]:
    """ "0-3,8" -> (0, 1, 2, 3, 8); every id must be below `count`."""
    ids: set[int] = set()
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        low, dash, high = part.partition("-")
        if not _number(low.strip()) or (dash and not _number(high.strip())):
            raise BotConfigError(
                f"{SHARD_IDS_ENV} lists shard numbers and ranges such as 0-3,8; {part[:20]!r} is neither."
            )
        first, last = int(low), int(high) if dash else int(low)
        if first > last:
            raise BotConfigError(f"{SHARD_IDS_ENV}: the range {part!r} runs backwards.")
        if last >= count:
            raise BotConfigError(
                f"{SHARD_IDS_ENV}: shard {last} does not exist with {SHARDS_ENV}={count} (ids go 0-{count - 1})."
            )
        ids.update(range(first, last + 1))
    if not ids:
        raise BotConfigError(f"{SHARD_IDS_ENV} is set but names no shard.")
    return tuple(sorted(ids))


def shard_config(env: Mapping[str, str] | None = None) -> ShardConfig | None:
    """The shard setup from the environment; None for a plain, unsharded bot."""
    env = os.environ if env is None else env
    count_text = (env.get(SHARDS_ENV) or "").strip().lower()
    ids_text = (env.get(SHARD_IDS_ENV) or "").strip()
    if not count_text:
        if ids_text:
            raise BotConfigError(
                f"{SHARD_IDS_ENV} needs {SHARDS_ENV} (the total number of shards across all processes)."
            )
        return None
    if count_text == "auto":
        if ids_text:
            raise BotConfigError(
                f"{SHARD_IDS_ENV} needs a fixed {SHARDS_ENV}: every process must agree on the total, so "
                "'auto' only works for a single process running every shard."
            )
        return ShardConfig(count=None)
    if not _number(count_text) or not 1 <= int(count_text) <= MAX_SHARDS:
        raise BotConfigError(
            f"{SHARDS_ENV} must be 'auto' or a number of shards (1-{MAX_SHARDS}), not {count_text[:20]!r}."
        )
    count = int(count_text)
    return ShardConfig(count=count, ids=parse_ids(ids_text, count) if ids_text else None)
