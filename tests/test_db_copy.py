"""`songrec db copy`: a SQLite install with data moves to a real PostgreSQL server, verified table by
table; a non-empty target is refused unless told; an interrupted copy is finished by running it again;
new ids continue above every id SQLite ever handed out."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import asyncpg
import pytest

from songrec.cli.main import main
from songrec.domain import NewSuggestion
from songrec.store import Store, StoreBackend, open_store
from songrec.store.postgres import migrations as pg_migrations
from tests.store.people import populate
from tests.support.postgres_server import PostgresServer

ALICE, BOB, GONE = 515151515151515101, 515151515151515102, 515151515151515103


async def _fill(db: Path) -> int:
    """A bit of everything, and a forgotten user (so SQLite's id high-water mark is above max(id))."""
    async with await Store.open(db) as store:
        await populate(store, ALICE, "alice")
        await populate(store, BOB, "bob")
        session = await store.create_session(70, 71, ALICE, voice_channel_id=72, strategy="average")
        await store.add_member(session.id, BOB)
        sugs = await store.record_suggestions(
            [NewSuggestion(f"s{i}", i, "m1", "session", session_id=session.id) for i in range(3)]
        )
        await store.add_session_tracks(
            session.id, [s.track_id for s in sugs], suggestion_ids=[s.id for s in sugs]
        )
        await store.set_guild_settings(70, command_channel_id=71, explore_rate=0.35)
        run = await store.record_training_run("cpu", "scheduled")
        await store.update_training_run(run.id, status="succeeded", metrics={"auc": 0.8}, promoted=True)
        await store.put_spotify_track("s0", {"name": "Song", "popularity": 50})
        await store.add_feedback_bulk(
            [(ALICE, f"bulk{i}", 1 if i % 2 else -1, 1_700_000_000.0 + i) for i in range(300)]
        )
        await populate(store, GONE, "gone")
        await store.forget_user(GONE)
        return await store.last_feedback_id()


async def _snapshot(store: StoreBackend) -> dict[str, object]:
    return {
        "feedback": await store.all_feedback(include_undone=True),
        "alice": await store.export_user(ALICE),
        "bob": await store.export_user(BOB),
        "history": await store.history(ALICE, 50),
        "guild": await store.get_guild_settings(70),
        "runs": await store.last_training_runs(5),
        "cache": await store.get_spotify_track("s0"),
        "session": [dataclasses.asdict(t) for t in await store.session_tracks(1)],
        "members": await store.members(1, include_left=True),
    }


async def test_db_copy_moves_everything_and_ids_keep_growing(
    tmp_path: Path, postgres_server: PostgresServer, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "songrec.sqlite3"
    await _fill(db)
    async with await Store.open(db) as store:
        gone_id = (await store.add_feedback(GONE, "probe", 1, "cli")).id  # above every forgotten id
        await store.forget_user(GONE)
        before = await _snapshot(store)
    url = postgres_server.create_database("copy")

    assert await asyncio.to_thread(main, ["db", "copy", "--from", f"sqlite:///{db}", "--to", url]) == 0
    out = capsys.readouterr().out
    assert "feedback" in out and "MISMATCH" not in out and "copied" in out

    async with await open_store(url) as store:
        assert await _snapshot(store) == before
        fresh = await store.add_feedback(BOB, "after_the_move", 1, "chat")
        assert fresh.id > gone_id  # ids never come back, not even those of forgotten rows
        [sug] = await store.record_suggestions([NewSuggestion("n1", 0, "m1", "taste", user_id=BOB)])
        assert sug.id > max(s["id"] for s in before["bob"]["suggestions"])  # type: ignore[index]

    # A second copy into the now non-empty target is refused, naming the way out.
    assert await asyncio.to_thread(main, ["db", "copy", "--from", f"sqlite:///{db}", "--to", url]) == 2
    assert "--resume" in capsys.readouterr().err


async def test_an_interrupted_copy_is_finished_by_running_it_again(
    tmp_path: Path, postgres_server: PostgresServer, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "songrec.sqlite3"
    await _fill(db)
    url = postgres_server.create_database("copy")
    assert await asyncio.to_thread(main, ["db", "copy", "--from", str(db), "--to", url]) == 0
    conn = await asyncpg.connect(url)  # as if the copy had died half-way through feedback and after
    try:
        await conn.execute("DELETE FROM feedback WHERE id > (SELECT max(id) / 2 FROM feedback)")
        await conn.execute("DELETE FROM training_runs")
        await conn.execute("DELETE FROM spotify_track_cache")
    finally:
        await conn.close()
    assert await asyncio.to_thread(main, ["db", "copy", "--from", str(db), "--to", url, "--resume"]) == 0
    assert "MISMATCH" not in capsys.readouterr().out
    async with await Store.open(db, readonly=True) as lite, await open_store(url) as pg:
        assert await _snapshot(pg) == await _snapshot(lite)
    assert await asyncio.to_thread(main, ["db", "copy", "--from", str(db), "--to", url, "--replace"]) == 0


def test_db_copy_refuses_the_wrong_direction_and_bad_urls(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "copy", "--from", "postgresql://h/db", "--to", str(tmp_path / "x.sqlite3")]) == 2
    assert "copies from a SQLite database" in capsys.readouterr().err
    assert main(["db", "copy", "--from", str(tmp_path / "x.sqlite3"), "--to", "postgresql://h:port/db"]) == 2
    assert "--to must be" in capsys.readouterr().err


def test_status_reads_a_postgresql_database(postgres_server: PostgresServer) -> None:
    """`songrec status` describes the database SONGREC_DATABASE_URL names, password hidden."""
    from songrec.ops import status

    url = postgres_server.create_database("status")

    async def record_run() -> None:
        async with await open_store(url) as store:
            run = await store.record_training_run("cpu")
            await store.update_training_run(run.id, status="succeeded", artifact_version="v1")

    asyncio.run(record_run())
    report = status.database_status(url)
    assert report.error is None and report.exists and report.bytes_on_disk > 0
    lines = status.format_database(report)
    assert f"schema version {len(pg_migrations.discover())}" in lines[0]
    assert any("training run" in line and "succeeded" in line and "v1" in line for line in lines)
