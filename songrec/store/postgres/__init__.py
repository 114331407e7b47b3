"""The PostgreSQL backend: asyncpg, a pool for reads, one writer with group commit, migrations/postgres/."""

from __future__ import annotations

from songrec.store.postgres.store import PostgresStore

__all__ = ["PostgresStore"]
