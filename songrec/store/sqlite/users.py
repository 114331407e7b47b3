"""Users, their settings (a JSON object per user) and their own explore share."""

from __future__ import annotations

from typing import Any

from songrec.domain import InvalidInput, UserRecord
from songrec.store import _validate as v
from songrec.store._json import dumps, loads
from songrec.store.sqlite import rows
from songrec.store.sqlite.connection import Database
from songrec.store.sqlite.rows import Conn


class SqliteUsers:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def ensure_user(self, user_id: int) -> UserRecord:
        """Create the user row if needed (first contact); returns it."""
        uid = v.snowflake(user_id, "user_id")
        known = await self.get_user(uid)
        if known is not None:  # the common case costs a read, not a commit (an fsync)
            return known

        async def job(conn: Conn) -> UserRecord:
            await rows.ensure_user(conn, uid, self._db.clock())
            row = await rows.one(conn, "SELECT * FROM users WHERE user_id = ?", (uid,))
            assert row is not None
            return rows.user(row)

        return await self._db.write(job)

    async def get_user(self, user_id: int) -> UserRecord | None:
        uid = v.snowflake(user_id, "user_id")
        row = await self._db.read(lambda c: rows.one(c, "SELECT * FROM users WHERE user_id = ?", (uid,)))
        return None if row is None else rows.user(row)

    async def get_user_settings(self, user_id: int) -> dict[str, Any]:
        """The user's settings dict ({} for a user we have never seen)."""
        user = await self.get_user(user_id)
        return {} if user is None else user.settings

    async def set_user_settings(
        self, user_id: int, settings: dict[str, Any], *, replace: bool = False
    ) -> dict[str, Any]:
        """Merge ``settings`` into the user's settings (or replace them all); returns the result."""
        uid = v.snowflake(user_id, "user_id")
        v.json_object(settings, "settings")

        async def job(conn: Conn) -> dict[str, Any]:
            await rows.ensure_user(conn, uid, self._db.clock())
            row = await rows.one(conn, "SELECT settings FROM users WHERE user_id = ?", (uid,))
            merged = dict(settings) if replace or row is None else {**loads(row["settings"]), **settings}
            await conn.execute(
                "UPDATE users SET settings = ? WHERE user_id = ?", (dumps(merged, "settings"), uid)
            )
            return merged

        return await self._db.write(job)

    async def get_explore_rate(self, user_id: int) -> float | None:
        """The listener's own explore share, None when they never chose one (or cleared it)."""
        uid = v.snowflake(user_id, "user_id")
        row = await self._db.read(
            lambda c: rows.one(c, "SELECT explore_rate FROM users WHERE user_id = ?", (uid,))
        )
        return None if row is None or row["explore_rate"] is None else float(row["explore_rate"])

    async def set_explore_rate(self, user_id: int, rate: float | None) -> float | None:
        """Set (None: clear) the listener's own explore share, 0..1; returns what is stored."""
        uid = v.snowflake(user_id, "user_id")
        value = v.finite_or_none(rate, "explore_rate")
        if value is not None and not 0.0 <= value <= 1.0:
            raise InvalidInput(f"explore_rate must be between 0 and 1, got {rate!r}")

        async def job(conn: Conn) -> float | None:
            await rows.ensure_user(conn, uid, self._db.clock())
            await conn.execute("UPDATE users SET explore_rate = ? WHERE user_id = ?", (value, uid))
            return value

        return await self._db.write(job)

    async def users_with_setting(self, key: str) -> dict[int, Any]:
        """Every user whose settings hold ``key``, with its value (e.g. who opted out, for a training job).

        Most users never change a setting, so only rows whose settings are not empty are read."""
        if not isinstance(key, str) or not key:
            raise InvalidInput("key must be a non-empty string")
        found = await self._db.read(
            lambda c: rows.all_rows(c, "SELECT * FROM users WHERE settings <> '{}' ORDER BY user_id")
        )
        out: dict[int, Any] = {}
        for row in found:
            user = rows.user(row)
            if key in user.settings:
                out[user.user_id] = user.settings[key]
        return out
