"""The server's monthly mix and /charts: votes given in one guild over a span, and one mix per (guild, month).

A mix is claimed before it is posted: ``claim_server_mix`` inserts the (guild, month) row in one write
transaction, and the unique index lets exactly one caller win, whichever process it runs in. The loser
gets the stored row back (to show it again). A claim whose post never happened (the process died, or the
post failed and was released) may be taken over: released at once, or after ``stale_after_s``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from songrec.domain import FeedbackRecord, GuildSettings, InvalidInput, NotFound, ServerMixRecord
from songrec.store import _validate as v
from songrec.store._json import dumps, loads
from songrec.store.sqlite import rows
from songrec.store.sqlite.connection import Database
from songrec.store.sqlite.rows import Conn

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_ONE = "SELECT * FROM server_mixes WHERE guild_id = ? AND month = ?"


def month_key(value: Any) -> str:
    if not isinstance(value, str) or not MONTH.fullmatch(value):
        raise InvalidInput(f"month must look like 2026-11, got {value!r}")
    return value


def mix_record(row: Any) -> ServerMixRecord:
    return rows.build(
        ServerMixRecord,
        row,
        top_artists=tuple(loads(row["top_artists"])),
        tracks=tuple((str(t), int(n)) for t, n in loads(row["tracks"])),
    )


def _count(value: Any, what: str) -> int:
    return v.non_negative(value, what)


class SqliteServerMixes:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def guild_feedback(
        self, guild_id: int, *, since: float | None = None, until: float | None = None
    ) -> list[FeedbackRecord]:
        """The live votes given in that guild with since <= created_at < until (either end open), by id."""
        gid = v.snowflake(guild_id, "guild_id")
        start = v.finite_or_none(since, "since")
        end = v.finite_or_none(until, "until")
        sql = "SELECT * FROM feedback WHERE guild_id = ? AND undone_at IS NULL"
        params: list[Any] = [gid]
        if start is not None:
            sql += " AND created_at >= ?"
            params.append(start)
        if end is not None:
            sql += " AND created_at < ?"
            params.append(end)
        found = await self._db.read(lambda c: rows.all_rows(c, sql + " ORDER BY id", params))
        return [rows.feedback(r) for r in found]

    async def mix_guilds(self) -> list[GuildSettings]:
        """Every guild that turned its monthly mix on, by guild id."""
        sql = "SELECT * FROM guild_settings WHERE mix_enabled = 1 ORDER BY guild_id"
        found = await self._db.read(lambda c: rows.all_rows(c, sql))
        return [rows.guild_settings(r) for r in found]

    async def get_server_mix(self, guild_id: int, month: str) -> ServerMixRecord | None:
        gid, key = v.snowflake(guild_id, "guild_id"), month_key(month)
        row = await self._db.read(lambda c: rows.one(c, _ONE, (gid, key)))
        return None if row is None else mix_record(row)

    async def claim_server_mix(
        self,
        guild_id: int,
        month: str,
        *,
        title: str,
        summary: str,
        listeners: int,
        likes: int,
        top_artists: Sequence[str],
        tracks: Sequence[tuple[str, int]],
        channel_id: int | None,
        stale_after_s: float = 900.0,
    ) -> tuple[ServerMixRecord, bool]:
        """Claim the guild's mix for the month in ONE write transaction: (record, True) for the one caller
        that gets it (it must post it), else (the stored record, False).

        A stored mix that was never posted is claimed again when released, or when its claim is older
        than ``stale_after_s`` (its poster died); its stored songs are kept, so the mix never changes.
        """
        gid, key = v.snowflake(guild_id, "guild_id"), month_key(month)
        if not isinstance(title, str) or not title or not isinstance(summary, str):
            raise InvalidInput("a server mix needs a title and a summary")
        artists = dumps([str(a) for a in top_artists], "top_artists")
        songs = dumps([[v.track(t), _count(n, "likes")] for t, n in tracks], "tracks")
        counts = (_count(listeners, "listeners"), _count(likes, "likes"))
        cid = v.opt_snowflake(channel_id, "channel_id")
        stale = v.finite_or_none(stale_after_s, "stale_after_s") or 0.0

        async def job(conn: Conn) -> tuple[ServerMixRecord, bool]:
            now = self._db.clock()
            new = await rows.one(
                conn,
                "INSERT INTO server_mixes (guild_id, month, title, summary, listeners, likes, top_artists,"
                " tracks, channel_id, claimed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (guild_id, month) DO NOTHING RETURNING *",
                (gid, key, title, summary, *counts, artists, songs, cid, now),
            )
            if new is not None:
                return mix_record(new), True
            retaken = await rows.one(
                conn,
                "UPDATE server_mixes SET claimed_at = ?, channel_id = coalesce(?, channel_id)"
                " WHERE guild_id = ? AND month = ? AND posted_at IS NULL"
                " AND (claimed_at IS NULL OR claimed_at < ?) RETURNING *",
                (now, cid, gid, key, now - stale),
            )
            if retaken is not None:
                return mix_record(retaken), True
            stored = await rows.one(conn, _ONE, (gid, key))
            assert stored is not None
            return mix_record(stored), False

        return await self._db.write(job)

    async def finish_server_mix(
        self, guild_id: int, month: str, channel_id: int, message_id: int
    ) -> ServerMixRecord:
        """The claimed mix was posted as that message: nobody claims it again."""
        gid, key = v.snowflake(guild_id, "guild_id"), month_key(month)
        cid, mid = v.snowflake(channel_id, "channel_id"), v.snowflake(message_id, "message_id")
        return await self._update(
            "UPDATE server_mixes SET channel_id = ?, message_id = ?, posted_at = ?"
            " WHERE guild_id = ? AND month = ? RETURNING *",
            lambda now: (cid, mid, now, gid, key),
            gid,
            key,
        )

    async def release_server_mix(self, guild_id: int, month: str) -> bool:
        """Posting the claimed mix failed: free the claim at once (a posted mix stays posted)."""
        gid, key = v.snowflake(guild_id, "guild_id"), month_key(month)

        async def job(conn: Conn) -> bool:
            done = await conn.execute(
                "UPDATE server_mixes SET claimed_at = NULL WHERE guild_id = ? AND month = ? AND posted_at IS NULL",
                (gid, key),
            )
            return done.rowcount > 0

        return await self._db.write(job)

    async def set_server_mix_playlist(self, guild_id: int, month: str, url: str) -> ServerMixRecord:
        """The Spotify playlist the mix was exported to (later exports hand out the same link)."""
        gid, key = v.snowflake(guild_id, "guild_id"), month_key(month)
        if not isinstance(url, str) or not url.startswith("https://") or len(url) > 300:
            raise InvalidInput(f"playlist_url must be an https link, got {url!r}")
        return await self._update(
            "UPDATE server_mixes SET playlist_url = ? WHERE guild_id = ? AND month = ? RETURNING *",
            lambda now: (url, gid, key),
            gid,
            key,
        )

    async def _update(self, sql: str, params: Any, gid: int, key: str) -> ServerMixRecord:
        async def job(conn: Conn) -> ServerMixRecord:
            row = await rows.one(conn, sql, params(self._db.clock()))
            if row is None:
                raise NotFound(f"guild {gid} has no mix for {key}")
            return mix_record(row)

        return await self._db.write(job)
