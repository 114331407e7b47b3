"""PostgreSQL only: the migration history in step with SQLite's, the runner's refusals, bad URLs, a server
that is down at start-up or goes away mid-run, and two processes racing for one row."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import asyncpg
import pytest

from songrec.domain import DatabaseTooNew, DatabaseTooOld, MigrationError, SettingsError, StoreError
from songrec.settings import Settings
from songrec.store import open_store, parse_target
from songrec.store.postgres import migrations as pg_migrations
from songrec.store.postgres.connection import numbered
from songrec.store.sqlite import migrations as sqlite_migrations
from tests.support.postgres_server import PostgresServer

USER = 818181818181818181


@pytest.fixture
def url(postgres_server: PostgresServer) -> str:
    return postgres_server.create_database()


async def _sql(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def test_both_engines_share_one_migration_history() -> None:
    sqlite_files = [(m.version, m.name) for m in sqlite_migrations.discover()]
    pg_files = [(m.version, m.name) for m in pg_migrations.discover()]
    assert pg_files == sqlite_files and len(pg_files) >= 2


def test_placeholders_are_renumbered_outside_string_literals() -> None:
    assert numbered("SELECT ? , '?' , 'it''s ?', ?") == "SELECT $1 , '?' , 'it''s ?', $2"


async def test_a_fresh_database_is_migrated_and_recorded(url: str) -> None:
    async with await open_store(url) as store:
        assert await store.schema_version() == len(pg_migrations.discover())
        settings = await store.pragmas()  # type: ignore[attr-defined]
    assert settings["fsync"] == "on" and settings["synchronous_commit"] == "on"
    conn = await asyncpg.connect(url)
    try:
        history = await conn.fetch("SELECT version, name, checksum FROM schema_migrations ORDER BY version")
    finally:
        await conn.close()
    assert [(r["version"], r["name"], r["checksum"]) for r in history] == [
        (m.version, m.name, m.checksum) for m in pg_migrations.discover()
    ]


async def test_a_newer_database_is_refused_untouched(url: str) -> None:
    async with await open_store(url) as store:
        await store.add_feedback(USER, "t1", 1, "cli")
    await _sql(url, "INSERT INTO schema_migrations VALUES (99, 'from_the_future', 'x', 0)")
    for readonly in (False, True):
        with pytest.raises(DatabaseTooNew, match="schema version 99") as info:
            await open_store(url, readonly=readonly)
        assert "password" not in str(info.value)
    conn = await asyncpg.connect(url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM feedback") == 1
    finally:
        await conn.close()


async def test_a_changed_migration_file_is_refused(url: str, tmp_path: Path) -> None:
    folder = tmp_path / "pg"
    folder.mkdir()
    for m in pg_migrations.discover():
        (folder / m.filename).write_text(m.sql)
    async with await open_store(url, migrations_dir=folder):
        pass
    first = folder / pg_migrations.discover()[0].filename
    first.write_text(first.read_text() + "\n-- edited after shipping\n")
    with pytest.raises(MigrationError, match="was changed after it was applied"):
        await open_store(url, migrations_dir=folder)


async def test_a_failing_migration_is_rolled_back_whole(url: str, tmp_path: Path) -> None:
    folder = tmp_path / "pg"
    folder.mkdir()
    for m in pg_migrations.discover():
        (folder / m.filename).write_text(m.sql)
    bad = len(pg_migrations.discover()) + 1
    (folder / f"{bad:04d}_broken.sql").write_text("CREATE TABLE half (x INTEGER);\nSELECT * FROM nowhere;\n")
    with pytest.raises(MigrationError, match="broken.sql failed .* rolled back"):
        await open_store(url, migrations_dir=folder)
    async with await open_store(url) as store:  # the shipped files alone: still fine, no half table
        assert await store.schema_version() == bad - 1
    conn = await asyncpg.connect(url)
    try:
        assert await conn.fetchval("SELECT to_regclass('half')") is None
    finally:
        await conn.close()


async def test_readonly_refuses_a_database_that_needs_migrations(url: str) -> None:
    with pytest.raises(DatabaseTooOld, match="schema version 0"):
        await open_store(url, readonly=True)


@pytest.mark.parametrize(
    "bad",
    [
        "postgresql://db.example:port/songrec",
        "mysql://root@localhost/songrec",
        "postgres ql://x/y",
        "sqlite://",
    ],
)
def test_a_malformed_url_is_one_line_naming_the_setting(bad: str) -> None:
    with pytest.raises(SettingsError, match="SONGREC_DATABASE_URL") as info:
        Settings.from_env({"SONGREC_DATABASE_URL": bad})
    assert "\n" not in str(info.value)
    with pytest.raises(SettingsError, match="SONGREC_DATABASE_URL"):
        parse_target(bad)


def test_the_password_never_shows_in_a_settings_error() -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env({"SONGREC_DATABASE_URL": "postgresql://u:hunter2@h:xx/db"})
    assert "hunter2" not in str(info.value)


async def test_a_server_that_is_down_is_retried_then_reported_plainly() -> None:
    started = time.monotonic()
    with pytest.raises(StoreError, match="cannot reach the PostgreSQL database") as info:
        await open_store("postgresql://songrec:secret@127.0.0.1:9/songrec", connect_deadline_s=1.0)
    waited = time.monotonic() - started
    assert 0.9 <= waited < 10  # it retried for the deadline, and no longer
    message = str(info.value)
    assert "SONGREC_DATABASE_URL" in message and "attempts" in message and "secret" not in message
    assert "\n" not in message


async def test_a_server_that_comes_up_during_the_retries_is_used(
    postgres_server: PostgresServer, url: str
) -> None:
    postgres_server.pause()
    try:
        opening = asyncio.create_task(open_store(url, connect_deadline_s=60))
        await asyncio.sleep(1.0)
        assert not opening.done()
    finally:
        await asyncio.to_thread(postgres_server.resume)
    async with await opening as store:
        assert (await store.add_feedback(USER, "t1", 1, "cli")).live


async def test_lost_connections_are_reconnected_then_reported(
    postgres_server: PostgresServer, url: str
) -> None:
    async with await open_store(url, connect_deadline_s=1.5) as store:
        await store.add_feedback(USER, "before", 1, "cli")
        # Every connection the store holds is killed (a failover, a restarted pgbouncer, an admin).
        await _sql(
            url,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        assert (await store.add_feedback(USER, "after", 1, "cli")).live
        assert {r.track_id for r in await store.feedback_for_user(USER)} == {"before", "after"}

        postgres_server.pause()
        try:
            with pytest.raises(StoreError, match="lost the connection") as info:
                await store.add_feedback(USER, "while_down", 1, "cli")
            assert "SONGREC_DATABASE_URL" in str(info.value)
            with pytest.raises(StoreError):
                await store.feedback_for_user(USER)
        finally:
            await asyncio.to_thread(postgres_server.resume)
        assert (await store.add_feedback(USER, "back", 1, "cli")).live  # and it recovers by itself
        assert {r.track_id for r in await store.feedback_for_user(USER)} == {"before", "after", "back"}


async def test_two_processes_racing_for_one_vote_keep_one_live_vote(url: str) -> None:
    """Two stores (two writers, as two bot processes have) vote on the same (user, track) at once."""
    async with await open_store(url) as a, await open_store(url) as b:
        for round_ in range(20):
            track = f"race{round_}"
            results = await asyncio.gather(
                a.add_feedback(USER, track, 1, "reaction"),
                b.add_feedback(USER, track, -1 if round_ % 2 else 1, "button"),
            )
            assert all(r.track_id == track for r in results)
        live = await a.feedback_for_user(USER)
    assert len(live) == 20 and len({r.track_id for r in live}) == 20
