"""How many explore picks an answer gets, and whose choice that is: the call's, the listener's, the server's.

Precedence: an explicit share on the call (Filters.explore_rate) > the listener's own (/settings, chat
/explore; 0 to MAX_USER_EXPLORE_RATE) > their server's (/settings for the server) > the service default.
A "songs like X" answer (seeds) never explores unless the call asks. The count is the share of k rounded
down, so an answer never holds more explore picks than the share allows (k=3 at 20%: none).
A listener's own share is read through a short cache, like the server settings: most answers cost no read.
"""

from __future__ import annotations

import math
import time

from songrec.domain import MAX_USER_EXPLORE_RATE, ExploreShare, Filters, InvalidInput
from songrec.service import checks
from songrec.service.config import ServiceConfig
from songrec.service.errors import db_errors
from songrec.service.guilds import GuildSettingsBook
from songrec.store import StoreBackend

SHARE_HELP = f"Your explore share must be between 0% and {MAX_USER_EXPLORE_RATE:.0%}."


def explore_count(k: int, rate: float) -> int:
    """The explore picks in an answer of k: k x rate rounded down (never above the share)."""
    return max(0, min(k, math.floor(k * rate + 1e-9)))


class ExploreShares:
    """Reads and writes listeners' own explore shares and decides the share each answer uses."""

    def __init__(self, store: StoreBackend, config: ServiceConfig, guilds: GuildSettingsBook) -> None:
        self._store = store
        self._config = config
        self._guilds = guilds
        self._cache: dict[int, tuple[float, float | None]] = {}

    async def own(self, user_id: int) -> float | None:
        """The listener's own share (None: never chosen), from memory for guild_settings_ttl_s."""
        hit = self._cache.get(user_id)
        if hit is not None and time.monotonic() - hit[0] < self._config.guild_settings_ttl_s:
            return hit[1]
        with db_errors():
            rate = await self._store.get_explore_rate(user_id)
        self._cache[user_id] = (time.monotonic(), rate)
        return rate

    async def share(self, user_id: int, guild_id: int | None = None) -> ExploreShare:
        uid = checks.user(user_id)
        own = await self.own(uid)
        if own is not None:
            return ExploreShare(own, "yours", own)
        if guild_id is not None:
            server = await self._guilds.cached(checks.guild(guild_id))
            return ExploreShare(server.explore_rate, "server" if server.updated_at is not None else "default")
        return ExploreShare(self._config.explore_rate, "default")

    async def set(self, user_id: int, rate: float | None, guild_id: int | None = None) -> ExploreShare:
        """Choose (None: forget) the listener's own share, 0 to MAX_USER_EXPLORE_RATE."""
        uid = checks.user(user_id)
        if rate is not None and (
            isinstance(rate, bool)
            or not isinstance(rate, int | float)
            or not 0.0 <= rate <= MAX_USER_EXPLORE_RATE
        ):
            raise InvalidInput(SHARE_HELP)
        with db_errors():
            stored = await self._store.set_explore_rate(uid, None if rate is None else float(rate))
        self._cache[uid] = (time.monotonic(), stored)
        return await self.share(uid, guild_id)

    def forget(self, user_id: int) -> None:
        """Drop the cached share (the listener's data was deleted)."""
        self._cache.pop(user_id, None)

    async def rate_for(
        self, user_id: int, filters: Filters | None, guild_id: int | None, seeded: bool
    ) -> float:
        """The share this answer uses (see the module docstring for the order)."""
        if filters is not None and filters.explore_rate is not None:
            return float(filters.explore_rate)
        if seeded:
            return 0.0
        return (await self.share(user_id, guild_id)).rate
