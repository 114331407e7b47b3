"""songrec's storage layer: the backend-neutral contract, the SQLite and PostgreSQL backends, the chooser.

``StoreBackend`` (contract.py) is what callers type-hint against; ``open_store`` (open.py) opens the
backend SONGREC_DATABASE_URL names (default: the SQLite file). ``Store`` is the SQLite backend
(songrec/store/sqlite/), ``PostgresStore`` the PostgreSQL one (songrec/store/postgres/, imported
lazily so asyncpg loads only when used). Records and errors live in songrec.domain.
"""

from __future__ import annotations

from songrec.store.contract import StoreBackend, StoreStats
from songrec.store.open import DatabaseTarget, configured_target, open_store, parse_target
from songrec.store.sqlite import Store

__all__ = [
    "DatabaseTarget",
    "Store",
    "StoreBackend",
    "StoreStats",
    "configured_target",
    "open_store",
    "parse_target",
]
