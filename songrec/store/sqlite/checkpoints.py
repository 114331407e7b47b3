"""WAL checkpoints off the commit path: a connection of their own copies committed pages into the file.

SQLite's default moves the WAL into the database file from inside a COMMIT, once the WAL holds 1,000
pages: every few seconds under load one commit also writes and fsyncs the database file, and every
write queued behind it waits (40-80 ms stalls measured on the serving bench, against a commit's 1-2
ms). Here a background task runs PRAGMA wal_checkpoint(PASSIVE) on its own connection twice a second:
it copies what no reader still needs without taking the write lock or waiting for anyone, so commits
go on meanwhile, and the WAL stays small and is reused from its start. The writer keeps SQLite's own
checkpoint only as a backstop, far above what the background one lets the WAL reach.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from dataclasses import dataclass

import aiosqlite

log = logging.getLogger(__name__)

#: How often the background checkpoint runs.
INTERVAL_S = 0.5
#: The writer checkpoints itself only past this many WAL pages (about 40 MB): the background task fell
#: behind or stopped.
BACKSTOP_PAGES = 10_000


@dataclass
class CheckpointStats:
    runs: int = 0
    frames: int = 0  # WAL frames copied into the database file
    failures: int = 0


class Checkpointer:
    """Runs passive checkpoints of one database file until closed."""

    def __init__(self, conn: aiosqlite.Connection, label: str, interval_s: float) -> None:
        self._conn = conn
        self._label = label
        self._interval_s = interval_s
        self.stats = CheckpointStats()
        self._task = asyncio.create_task(self._run(), name="songrec-store-checkpoints")

    @classmethod
    async def start(cls, label: str, interval_s: float = INTERVAL_S) -> Checkpointer:
        conn = await aiosqlite.connect(label, isolation_level=None)
        return cls(conn, label, interval_s)

    async def checkpoint(self) -> int:
        """One passive checkpoint now; the frames it copied."""
        cursor = await self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        row = await cursor.fetchone()
        await cursor.close()
        # (busy, frames in the WAL, frames checkpointed); -1s when the file is not in WAL mode.
        copied = max(0, int(row[2])) if row else 0
        self.stats.runs += 1
        self.stats.frames += copied
        return copied

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            try:
                await self.checkpoint()
            except (sqlite3.Error, ValueError) as exc:  # a failing disk; ValueError: closed under us
                self.stats.failures += 1
                if self.stats.failures == 1 or self.stats.failures % 100 == 0:
                    log.warning(
                        "background WAL checkpoint of %s failed (%s); commits checkpoint instead past %d pages",
                        self._label,
                        exc,
                        BACKSTOP_PAGES,
                    )

    async def close(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        await self._conn.close()
