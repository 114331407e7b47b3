"""Which store backend to open: SONGREC_DATABASE_URL (postgresql://... or sqlite:///...), else the SQLite file.

Everything that opens a store (the service, the training jobs, status, `songrec db copy`, the
benchmarks) goes through ``open_store``, so one setting moves the whole deployment between engines.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from songrec.domain import SettingsError
from songrec.settings import database_location, database_url_problem, get_settings
from songrec.store.contract import StoreBackend

Engine = Literal["sqlite", "postgresql"]

#: Options every backend takes, and those only one of them has (dropped for the other).
_COMMON = {"readonly", "busy_timeout_s", "busy_deadline_s", "migrations_dir", "clock", "max_batch"}
_ONLY = {"sqlite": set[str](), "postgresql": {"connect_timeout_s", "connect_deadline_s", "pool_size"}}


@dataclass(frozen=True, slots=True)
class DatabaseTarget:
    """A parsed database location: the engine and what its backend opens (a file path or a URL)."""

    engine: Engine
    location: str

    @property
    def label(self) -> str:
        """For messages and status pages: a path, or the URL without its password."""
        if self.engine == "sqlite":
            return self.location
        from songrec.store.postgres._driver import redact

        return redact(self.location)


def parse_target(text: str | os.PathLike[str], *, setting: str = "SONGREC_DATABASE_URL") -> DatabaseTarget:
    """A postgresql:// or postgres:// URL, a sqlite:///path URL, or a plain file path."""
    raw = os.fspath(text).strip()
    if "://" not in raw:
        if not raw:
            raise SettingsError(f"{setting} is empty: give postgresql://... or sqlite:///path")
        return DatabaseTarget("sqlite", raw)
    problem = database_url_problem(raw)
    if problem:
        raise SettingsError(
            f"{setting} must be postgresql://user@host:port/database or sqlite:///path/to/songrec.sqlite3 "
            f"({problem})."
        )
    scheme, _, rest = raw.partition("://")
    if scheme.lower() == "sqlite":
        # sqlite:///abs/path and SQLAlchemy's sqlite:////abs/path both name /abs/path.
        path = rest[1:] if rest.startswith("//") else rest
        return DatabaseTarget("sqlite", path if path != "/:memory:" else ":memory:")
    return DatabaseTarget("postgresql", _with_configured_password(raw))


def configured_target() -> DatabaseTarget:
    """SONGREC_DATABASE_URL when set, else SONGREC_DB / SONGREC_HOME's songrec.sqlite3."""
    return parse_target(database_location())


async def open_store(
    target: str | os.PathLike[str] | DatabaseTarget | None = None, **options: Any
) -> StoreBackend:
    """Open the backend ``target`` names (default: the configured database) with the options it has.

    Options: readonly, busy_timeout_s, busy_deadline_s, migrations_dir, clock, max_batch (both
    engines); connect_timeout_s, connect_deadline_s, pool_size (PostgreSQL only, ignored for SQLite).
    """
    chosen = (
        configured_target()
        if target is None
        else target
        if isinstance(target, DatabaseTarget)
        else parse_target(target)
    )
    unknown = set(options) - _COMMON - set().union(*_ONLY.values())
    if unknown:
        raise TypeError(f"open_store() got unknown options: {', '.join(sorted(unknown))}")
    kept = {k: v for k, v in options.items() if k in _COMMON or k in _ONLY[chosen.engine]}
    if chosen.engine == "postgresql":
        from songrec.store.postgres import PostgresStore

        return await PostgresStore.open(chosen.location, **kept)
    from songrec.store.sqlite import Store

    return await Store.open(chosen.location, **kept)


def is_sqlite_file_missing(target: DatabaseTarget) -> bool:
    """True for a SQLite target whose file does not exist (the training jobs' "run the bot first")."""
    return target.engine == "sqlite" and target.location != ":memory:" and not Path(target.location).exists()


def _with_configured_password(url: str) -> str:
    """A URL without a password that names the configured database gets the configured password.

    Stores report their URL without the password (store.path), and the training jobs are handed that;
    the password comes back from SONGREC_DATABASE_URL (or from PGPASSWORD / ~/.pgpass via asyncpg).
    """
    if urlsplit(url).password is not None:
        return url
    try:
        configured = get_settings().database_url
    except SettingsError:
        return url
    if configured is None or urlsplit(configured).password is None:
        return url
    from songrec.store.postgres._driver import redact

    return configured if redact(configured) == url else url
