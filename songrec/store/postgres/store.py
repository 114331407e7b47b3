"""``PostgresStore``: the PostgreSQL backend of StoreBackend.

The concern parts are the SQLite backend's (songrec/store/sqlite/*.py): their SQL is written to run
on both engines, with ``?`` placeholders that PgConn renumbers, so each concern's SQL stays in one
place beside its method. What differs is PostgreSQL's own: the connection (pool, group-commit writer,
reconnects; connection.py), the migration files and runner (migrations.py), and the two parts whose
SQL is engine-specific (privacy.history and forget_user, maintenance).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from importlib.abc import Traversable
from pathlib import Path
from typing import Any

from songrec.store.contract import StoreStats
from songrec.store.postgres.connection import Database
from songrec.store.postgres.maintenance import PostgresMaintenance
from songrec.store.postgres.privacy import PostgresPrivacy
from songrec.store.sqlite.feedback import SqliteFeedback
from songrec.store.sqlite.guilds import SqliteGuilds
from songrec.store.sqlite.server_mix import SqliteServerMixes
from songrec.store.sqlite.sessions import SqliteSessions
from songrec.store.sqlite.spotify_cache import SqliteSpotifyCache
from songrec.store.sqlite.store import Store
from songrec.store.sqlite.suggestions import SqliteSuggestions
from songrec.store.sqlite.training_runs import SqliteTrainingRuns
from songrec.store.sqlite.users import SqliteUsers


class PostgresStore(Store):
    """Async, typed access to songrec's PostgreSQL database. Open with ``await PostgresStore.open(url)``.

    It inherits Store's flat method names (each forwards to a part), not its SQLite connection.
    """

    def __init__(self, db: Database) -> None:  # not super().__init__: that builds SQLite parts
        anydb: Any = db  # the parts take any Database with read/write/clock
        self.db = anydb
        self.users = SqliteUsers(anydb)
        self.feedback = SqliteFeedback(anydb)
        self.suggestions = SqliteSuggestions(anydb)
        self.sessions = SqliteSessions(anydb)
        self.guilds = SqliteGuilds(anydb)
        self.server_mixes = SqliteServerMixes(anydb)
        self.training_runs = SqliteTrainingRuns(anydb)
        self.spotify_cache = SqliteSpotifyCache(anydb)
        self.privacy = PostgresPrivacy(db)
        self.maintenance = PostgresMaintenance(db)  # type: ignore[assignment]

    @classmethod
    async def open(  # type: ignore[override]
        cls,
        url: str,
        *,
        readonly: bool = False,
        busy_timeout_s: float = 1.0,
        busy_deadline_s: float = 10.0,
        connect_timeout_s: float = 5.0,
        connect_deadline_s: float = 30.0,
        pool_size: int = 10,
        migrations_dir: Traversable | Path | None = None,
        clock: Callable[[], float] = time.time,
        max_batch: int = 512,
    ) -> PostgresStore:
        """Connect, migrate (unless ``readonly``) and open the pool.

        ``busy_timeout_s`` is PostgreSQL's lock_timeout for one attempt, ``busy_deadline_s`` how long
        we retry a locked write before StoreBusy. ``connect_deadline_s`` bounds the retries while the
        server is down, at start-up and after a lost connection. ``readonly`` opens without migrating
        (a training job) and refuses a database whose schema is not current.
        """
        db = await Database.open(
            url,
            readonly=readonly,
            busy_timeout_s=busy_timeout_s,
            busy_deadline_s=busy_deadline_s,
            connect_timeout_s=connect_timeout_s,
            connect_deadline_s=connect_deadline_s,
            pool_size=pool_size,
            migrations_dir=migrations_dir,
            clock=clock,
            max_batch=max_batch,
        )
        return cls(db)

    @property
    def path(self) -> str:
        """The database URL without its password."""
        return self.db.path

    @property
    def stats(self) -> StoreStats:
        return self.db.stats
