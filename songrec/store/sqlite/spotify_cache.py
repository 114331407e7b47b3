"""Spotify track metadata we have fetched before, so a repeat lookup costs no API call."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from songrec.store import _validate as v
from songrec.store._json import loads
from songrec.store.sqlite import rows
from songrec.store.sqlite.connection import Database
from songrec.store.sqlite.rows import Conn

_CHUNK = 500  # ids per IN (...) query: far below SQLite's bound-parameter limit


class SqliteSpotifyCache:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get_spotify_track(
        self, track_id: str, *, max_age_s: float | None = None
    ) -> dict[str, Any] | None:
        """The cached Spotify payload, or None if absent (or older than max_age_s)."""
        track = v.track(track_id)
        age = v.finite_or_none(max_age_s, "max_age_s")
        row = await self._db.read(
            lambda c: rows.one(
                c, "SELECT payload, fetched_at FROM spotify_track_cache WHERE track_id = ?", (track,)
            )
        )
        if row is None or (age is not None and row["fetched_at"] < self._db.clock() - age):
            return None
        return loads(row["payload"])

    async def get_spotify_tracks(
        self, track_ids: Sequence[str], *, max_age_s: float | None = None
    ) -> dict[str, dict[str, Any]]:
        """Cached payloads for the ids we have (fresh enough); missing ids are simply absent."""
        tracks = sorted({v.track(t) for t in track_ids})
        age = v.finite_or_none(max_age_s, "max_age_s")
        out: dict[str, dict[str, Any]] = {}
        cutoff = None if age is None else self._db.clock() - age
        for start in range(0, len(tracks), _CHUNK):
            chunk = tracks[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            found = await self._db.read(
                lambda c, ids=chunk, m=marks: rows.all_rows(
                    c,
                    f"SELECT track_id, payload, fetched_at FROM spotify_track_cache WHERE track_id IN ({m})",
                    ids,
                )
            )
            out.update(
                {
                    r["track_id"]: loads(r["payload"])
                    for r in found
                    if cutoff is None or r["fetched_at"] >= cutoff
                }
            )
        return out

    async def put_spotify_track(self, track_id: str, payload: dict[str, Any]) -> None:
        track = v.track(track_id)
        text = v.json_object(payload, "payload")

        async def job(conn: Conn) -> None:
            await conn.execute(
                "INSERT INTO spotify_track_cache (track_id, payload, fetched_at) VALUES (?, ?, ?)"
                " ON CONFLICT (track_id) DO UPDATE SET payload = excluded.payload, fetched_at = excluded.fetched_at",
                (track, text, self._db.clock()),
            )

        await self._db.write(job)
