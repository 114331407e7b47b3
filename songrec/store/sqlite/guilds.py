"""Per-guild settings: command channel, explore rate, session strategy, the monthly mix, the DJ role
(defaults until a guild chooses)."""

from __future__ import annotations

from typing import Any

from songrec.domain import SESSION_STRATEGIES, GuildSettings, InvalidInput
from songrec.store import _validate as v
from songrec.store.sqlite import rows
from songrec.store.sqlite.connection import Database
from songrec.store.sqlite.rows import Conn


class SqliteGuilds:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get_guild_settings(self, guild_id: int) -> GuildSettings:
        """The guild's settings, or the defaults if it never changed any."""
        gid = v.snowflake(guild_id, "guild_id")
        row = await self._db.read(
            lambda c: rows.one(c, "SELECT * FROM guild_settings WHERE guild_id = ?", (gid,))
        )
        return GuildSettings(guild_id=gid) if row is None else rows.guild_settings(row)

    async def set_guild_settings(
        self,
        guild_id: int,
        *,
        command_channel_id: int | None = v.UNSET,
        explore_rate: float = v.UNSET,
        session_strategy: str = v.UNSET,
        mix_enabled: bool = v.UNSET,
        mix_channel_id: int | None = v.UNSET,
        dj_role_id: int | None = v.UNSET,
    ) -> GuildSettings:
        """Change only the settings given (command_channel_id=None or dj_role_id=None clears it); returns the
        result."""
        gid = v.snowflake(guild_id, "guild_id")
        changes: dict[str, Any] = {}
        if command_channel_id is not v.UNSET:
            changes["command_channel_id"] = v.opt_snowflake(command_channel_id, "command_channel_id")
        if explore_rate is not v.UNSET:
            rate = v.finite_or_none(explore_rate, "explore_rate")
            if rate is None or not 0.0 <= rate <= 1.0:
                raise InvalidInput(f"explore_rate must be between 0 and 1, got {explore_rate!r}")
            changes["explore_rate"] = rate
        if session_strategy is not v.UNSET:
            changes["session_strategy"] = v.choice(session_strategy, SESSION_STRATEGIES, "session strategy")
        if mix_enabled is not v.UNSET:
            if not isinstance(mix_enabled, bool):
                raise InvalidInput(f"mix_enabled must be True or False, got {mix_enabled!r}")
            changes["mix_enabled"] = int(mix_enabled)
        if mix_channel_id is not v.UNSET:
            changes["mix_channel_id"] = v.opt_snowflake(mix_channel_id, "mix_channel_id")
        if dj_role_id is not v.UNSET:
            changes["dj_role_id"] = v.opt_snowflake(dj_role_id, "dj_role_id")

        async def job(conn: Conn) -> GuildSettings:
            now = self._db.clock()
            await conn.execute(
                "INSERT INTO guild_settings (guild_id, updated_at) VALUES (?, ?) ON CONFLICT (guild_id) DO NOTHING",
                (gid, now),
            )
            sets = "".join(f", {column} = ?" for column in changes)  # column names are ours, not the caller's
            row = await rows.one(
                conn,
                f"UPDATE guild_settings SET updated_at = ?{sets} WHERE guild_id = ? RETURNING *",
                (now, *changes.values(), gid),
            )
            assert row is not None
            return rows.guild_settings(row)

        return await self._db.write(job)
