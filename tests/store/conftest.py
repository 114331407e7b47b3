"""One fixture, ``store_backend``, parametrised over every store backend: the contract suite runs once
per backend (a new backend adds its name to BACKENDS and its factory to tests/store/backends.py).
The postgres backend runs against a real server started once per session; it fails, never skips,
when that server cannot start."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from songrec.store import StoreBackend
from tests.store.backends import BackendFactory, Clock, PostgresBackend, SqliteBackend

BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(params=BACKENDS)
def store_backend(request: pytest.FixtureRequest, tmp_path: Path) -> BackendFactory:
    if request.param == "sqlite":
        return SqliteBackend(tmp_path)
    if request.param == "postgres":  # one server per session (tests/conftest.py), a new database per test
        return PostgresBackend(request.getfixturevalue("postgres_server"), tmp_path)
    raise AssertionError(f"no factory for store backend {request.param!r}")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def store(store_backend: BackendFactory, clock: Clock) -> AsyncIterator[StoreBackend]:
    async with await store_backend.open(clock=clock) as s:
        yield s
