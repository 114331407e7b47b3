"""The SQLite backend: aiosqlite, one writer with group commit, the numbered migrations in migrations/."""

from __future__ import annotations

from songrec.store.sqlite.store import Store

__all__ = ["Store"]
