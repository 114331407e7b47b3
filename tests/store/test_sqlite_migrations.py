"""SQLite only: the migration runner (from empty, idempotent re-runs, upgrades, refusals, rollback of a
bad file), the shipped migration files, and the upgrade of a version-1 database to the service's words."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import aiosqlite
import pytest

from songrec.domain import FEEDBACK_SOURCES, DatabaseTooNew, DatabaseTooOld, MigrationError, StoreError
from songrec.store import Store
from songrec.store.sqlite import migrations as runner

REPO_MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
REQUIRED_TABLES = {
    "users",
    "feedback",
    "suggestions",
    "sessions",
    "session_members",
    "session_tracks",
    "guild_settings",
    "training_runs",
    "spotify_track_cache",
    "schema_migrations",
}


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _history(path: Path) -> list[tuple[int, str, float]]:
    with sqlite3.connect(path) as conn:
        return list(conn.execute("SELECT version, name, applied_at FROM schema_migrations ORDER BY version"))


def _write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


async def test_migrates_an_empty_database(tmp_path: Path) -> None:
    db = tmp_path / "new" / "songrec.sqlite3"  # parent folder does not exist yet
    async with await Store.open(db) as store:
        assert await store.schema_version() == len(runner.discover())
        pragmas = await store.pragmas()
    assert _tables(db) >= REQUIRED_TABLES
    assert [v for v, _, _ in _history(db)] == list(range(1, len(runner.discover()) + 1))
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(runner.discover())
    assert pragmas["journal_mode"] == "wal"
    assert pragmas["synchronous"] == 2  # FULL
    assert pragmas["foreign_keys"] == 1
    assert pragmas["busy_timeout"] > 0
    assert pragmas["secure_delete"] == 1


async def test_rerun_is_idempotent(tmp_path: Path) -> None:
    db = tmp_path / "songrec.sqlite3"
    async with await Store.open(db) as store:
        await store.add_feedback(111111111111111111, "track1", 1, "command")
    first = _history(db)
    for _ in range(2):
        async with await Store.open(db) as store:
            assert len(await store.all_feedback()) == 1
    assert _history(db) == first  # nothing re-applied: same rows, same applied_at
    async with aiosqlite.connect(db, isolation_level=None) as conn:
        assert await runner.migrate(conn, str(db)) == []


async def test_two_openers_at_once_apply_each_migration_once(tmp_path: Path) -> None:
    db = tmp_path / "songrec.sqlite3"
    stores = await asyncio.gather(*(Store.open(db) for _ in range(4)))
    for store in stores:
        await store.close()
    assert [v for v, _, _ in _history(db)] == list(range(1, len(runner.discover()) + 1))


async def test_refuses_a_database_newer_than_the_code(tmp_path: Path) -> None:
    db = tmp_path / "songrec.sqlite3"
    async with await Store.open(db):
        pass
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO schema_migrations VALUES (99, 'from_the_future', 'x', 0)")
    before = db.read_bytes()
    with pytest.raises(DatabaseTooNew) as info:
        await Store.open(db)
    assert info.value.db_version == 99
    assert "99" in str(info.value) and "upgrade songrec" in str(info.value)
    with pytest.raises(DatabaseTooNew):
        await Store.open(db, readonly=True)
    assert db.read_bytes() == before


async def test_upgrades_step_by_step_and_readonly_refuses_stale_schema(tmp_path: Path) -> None:
    one = {"0001_a.sql": "CREATE TABLE a (x INTEGER);\n"}
    two = {**one, "0002_b.sql": "ALTER TABLE a ADD COLUMN y TEXT; -- trailing comment\nCREATE TABLE b (z);"}
    v1 = _write(tmp_path / "v1", one)
    v2 = _write(tmp_path / "v2", two)
    db = tmp_path / "db.sqlite3"
    async with await Store.open(db, migrations_dir=v1) as store:
        assert await store.schema_version() == 1
    with pytest.raises(DatabaseTooOld, match="schema version 1 but songrec expects 2"):
        await Store.open(db, readonly=True, migrations_dir=v2)
    async with await Store.open(db, migrations_dir=v2) as store:
        assert await store.schema_version() == 2
    async with await Store.open(db, readonly=True, migrations_dir=v2) as store:
        assert await store.schema_version() == 2
    assert {"a", "b"} <= _tables(db)
    with sqlite3.connect(db) as conn:
        assert [c[1] for c in conn.execute("PRAGMA table_info(a)")] == ["x", "y"]


async def test_failing_migration_rolls_back_the_whole_file(tmp_path: Path) -> None:
    folder = _write(
        tmp_path / "m",
        {
            "0001_ok.sql": "CREATE TABLE a (x);",
            "0002_bad.sql": "CREATE TABLE half (x);\nINSERT INTO no_such_table VALUES (1);",
        },
    )
    db = tmp_path / "db.sqlite3"
    with pytest.raises(MigrationError, match="0002_bad.sql failed"):
        await Store.open(db, migrations_dir=folder)
    assert "half" not in _tables(db)
    assert [v for v, _, _ in _history(db)] == [1]


async def test_edited_migration_is_refused(tmp_path: Path) -> None:
    folder = _write(tmp_path / "m", {"0001_a.sql": "CREATE TABLE a (x);"})
    db = tmp_path / "db.sqlite3"
    async with await Store.open(db, migrations_dir=folder):
        pass
    (folder / "0001_a.sql").write_text("CREATE TABLE a (x, y);")
    with pytest.raises(MigrationError, match="changed after it was applied"):
        await Store.open(db, migrations_dir=folder)


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"0001_a.sql": "SELECT 1;", "0003_c.sql": "SELECT 1;"}, "0002 is missing"),
        ({"0001_a.sql": "SELECT 1;", "0001_b.sql": "SELECT 1;"}, "share version 0001"),
        ({"0001_a.sql": "BEGIN; CREATE TABLE a (x); COMMIT;"}, "BEGIN is not allowed"),
        ({"0001_a.sql": "PRAGMA journal_mode = DELETE;"}, "PRAGMA is not allowed"),
        ({"0001_a.sql": "CREATE TABLE a (x)"}, "not terminated"),
        ({"1_a.sql": "SELECT 1;"}, "must be named NNNN_snake_name.sql"),
        ({}, "no migration files"),
    ],
)
async def test_bad_migration_folders_are_rejected(
    tmp_path: Path, files: dict[str, str], message: str
) -> None:
    folder = _write(tmp_path / "m", files)
    with pytest.raises(MigrationError, match=message):
        await Store.open(tmp_path / "db.sqlite3", migrations_dir=folder)


def test_split_statements_handles_triggers_strings_and_comments() -> None:
    sql = """
    -- a comment; with a semicolon
    CREATE TABLE t (x TEXT DEFAULT 'a;b');
    /* block; comment */
    CREATE TRIGGER tr AFTER INSERT ON t BEGIN
        UPDATE t SET x = 'c;d' WHERE rowid = new.rowid;
    END;
    -- trailing comment only
    """
    statements = runner.split_statements(sql)
    assert len(statements) == 2
    assert statements[1].rstrip().endswith("END;")
    conn = sqlite3.connect(":memory:")
    for statement in statements:
        conn.execute(statement)
    conn.execute("INSERT INTO t DEFAULT VALUES")
    assert conn.execute("SELECT x FROM t").fetchone()[0] == "c;d"


def test_packaged_migrations_match_the_repository_folder() -> None:
    """songrec/store/sql (what a wheel ships) must be the very same files as migrations/."""
    packaged = {m.filename: m.checksum for m in runner.discover(runner.default_migrations_dir())}
    repo = {m.filename: m.checksum for m in runner.discover(REPO_MIGRATIONS)}
    assert packaged == repo
    assert "0001_initial.sql" in repo


async def test_readonly_open_of_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        await Store.open(tmp_path / "missing.sqlite3", readonly=True)


async def test_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("these are not the tables you are looking for\n" * 100)
    with pytest.raises(StoreError, match="cannot open the database .*notes.txt.*SONGREC_DB"):
        await Store.open(text)
    with pytest.raises(StoreError, match="cannot open the database"):
        await Store.open(tmp_path)  # a directory


# --------------------------------------------------------------------------- 0001 -> 0002

OLD_USER, OTHER = 222222222222222201, 222222222222222202
FEEDBACK_INDEXES = {"feedback_one_live", "feedback_user_created", "feedback_created", "feedback_suggestion"}


def _version_1(folder: Path) -> Path:
    """A migrations folder holding only 0001, as the code shipped before 0002."""
    return _write(folder, {"0001_initial.sql": (REPO_MIGRATIONS / "0001_initial.sql").read_text()})


def _old_style_rows(db: Path) -> dict[str, int]:
    """Rows as the version-1 code wrote them: translated kinds and sources, the old 0.1 default."""
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA foreign_keys = ON")
        for user in (OLD_USER, OTHER):
            conn.execute("INSERT INTO users (user_id, created_at) VALUES (?, 1)", (user,))
        session = conn.execute(
            "INSERT INTO sessions (guild_id, channel_id, created_by, started_at) VALUES (5, 6, ?, 1)",
            (OLD_USER,),
        ).lastrowid
        ids: dict[str, int] = {}
        for name, kind, parts, sess in [
            ("session", "content", '{"similarity": 0.5}', session),
            ("taste", "content", '{"taste": 0.7, "similarity": 0.1}', None),
            ("content", "content", '{"similarity": 0.9}', None),
            ("cf", "cf", "{}", None),
            ("explore", "explore", '{"taste": 0.2}', None),  # explore keeps its kind, taste part or not
        ]:
            ids[name] = conn.execute(
                "INSERT INTO suggestions (user_id, session_id, track_id, rank, model_version, score_parts, kind,"
                " created_at) VALUES (?, ?, ?, 0, 'm0', ?, ?, 1)",
                (None if sess else OLD_USER, sess, f"track_{name}", parts, kind),
            ).lastrowid
        vote = "INSERT INTO feedback (user_id, track_id, value, source, suggestion_id, created_at) VALUES (?, ?, ?, ?, ?, ?)"
        ids["liked"] = conn.execute(vote, (OLD_USER, "track_taste", 1, "command", ids["taste"], 2)).lastrowid
        conn.execute("UPDATE feedback SET undone_at = 3 WHERE id = ?", (ids["liked"],))
        ids["disliked"] = conn.execute(
            vote, (OLD_USER, "track_taste", -1, "button", ids["taste"], 3)
        ).lastrowid
        conn.execute("UPDATE feedback SET replaced_by = ? WHERE id = ?", (ids["disliked"], ids["liked"]))
        ids["other"] = conn.execute(
            vote, (OTHER, "track_content", 1, "reaction", ids["content"], 4)
        ).lastrowid
        doomed = conn.execute(vote, (OTHER, "track_gone", 1, "session", None, 5)).lastrowid
        conn.execute("DELETE FROM feedback WHERE id = ?", (doomed,))  # its id must never come back
        ids["doomed"] = doomed
        conn.execute("INSERT INTO guild_settings (guild_id, explore_rate, updated_at) VALUES (77, 0.1, 1)")
    return ids


async def test_a_version_1_database_migrates_to_2_and_reads_back_in_the_service_words(tmp_path: Path) -> None:
    db = tmp_path / "songrec.sqlite3"
    async with await Store.open(db, migrations_dir=_version_1(tmp_path / "v1")) as store:
        assert await store.schema_version() == 1
    ids = _old_style_rows(db)

    async with await Store.open(db) as store:
        assert await store.schema_version() == len(runner.discover())  # 2, and every later file too
        assert await store.integrity_check() == []
        kinds = {
            name: (await store.get_suggestion(ids[name])).kind
            for name in ("session", "taste", "content", "cf", "explore")
        }  # type: ignore[union-attr]
        assert kinds == {
            "session": "session",
            "taste": "taste",
            "content": "content",
            "cf": "content",
            "explore": "explore",
        }
        votes = {r.id: r for r in await store.all_feedback(include_undone=True)}
        assert set(votes) == {ids["liked"], ids["disliked"], ids["other"]}  # every vote kept, same ids
        liked, disliked = votes[ids["liked"]], votes[ids["disliked"]]
        assert (liked.undone_at, liked.replaced_by, liked.source) == (3, disliked.id, "command")
        assert (disliked.live, disliked.suggestion_id, disliked.source) == (True, ids["taste"], "button")
        # The rebuilt table takes the service's sources, keeps one live vote per track, never reuses ids.
        chat = await store.add_feedback(OLD_USER, "track_content", 1, "chat")
        cli, changed = await store.vote(OLD_USER, 1, "cli", track_id="track_taste")
        assert changed and cli.replaced_by is None and chat.id > ids["doomed"] and cli.id > chat.id
        assert (await store.live_feedback(OLD_USER, "track_taste")) == cli
        assert votes[ids["disliked"]].id in {r.id for r in await store.all_feedback(include_undone=True)}
        # Guilds keep what they chose; a guild saving anything else now gets the one default, 0.2.
        assert (await store.get_guild_settings(77)).explore_rate == pytest.approx(0.1)
        assert (await store.set_guild_settings(78, command_channel_id=9)).explore_rate == pytest.approx(0.2)
        # Foreign keys into and out of the rebuilt table still act: forgetting OTHER's suggestion target.
        await store.forget_user(OLD_USER)
        [other] = await store.feedback_for_user(OTHER)
        assert other.suggestion_id is None  # the suggestion it pointed at went with OLD_USER (SET NULL)
        assert await store.integrity_check() == []

    with sqlite3.connect(db) as conn:
        indexes = {
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'feedback'"
            )
        }
        assert indexes >= FEEDBACK_INDEXES
        targets = {r[2] for r in conn.execute("PRAGMA foreign_key_list(feedback)")}
        assert targets == {"users", "suggestions", "feedback"}
        assert not {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE name LIKE '%_v2'")}
        with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
            conn.execute(
                "INSERT INTO feedback (user_id, track_id, value, source, created_at) VALUES (?, 'x', 1, 'pigeon', 1)",
                (OTHER,),
            )


async def test_the_feedback_check_allows_exactly_the_service_sources(tmp_path: Path) -> None:
    db = tmp_path / "songrec.sqlite3"
    async with await Store.open(db):
        pass
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO users (user_id, created_at) VALUES (1, 0)")
        accepted = set()
        for source in sorted(FEEDBACK_SOURCES | {"carrier_pigeon", "Command", ""}):
            try:
                conn.execute(
                    "INSERT INTO feedback (user_id, track_id, value, source, created_at) VALUES (1, ?, 1, ?, 0)",
                    (f"t_{source}", source),
                )
                accepted.add(source)
            except sqlite3.IntegrityError:
                pass
    assert accepted == FEEDBACK_SOURCES
