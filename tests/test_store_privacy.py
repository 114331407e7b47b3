"""forget_user leaves no trace of the user in any table (checked generically), export_user is complete."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from songrec.store import NewSuggestion, Store

GONE = 987654321987654321  # appears nowhere else in this test's data
STAYS = 123456789123456789
SECRET = "zz_secret_marker_for_forget"


def _rows_mentioning(db: Path, needle: str) -> dict[str, int]:
    """For every table and column in sqlite_master: rows whose value, as text, contains ``needle``."""
    found: dict[str, int] = {}
    with sqlite3.connect(db) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        assert "feedback" in tables and "users" in tables
        for table in tables:
            for column in [r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')]:
                n = conn.execute(
                    f'SELECT count(*) FROM "{table}" WHERE CAST("{column}" AS TEXT) LIKE ?', (f"%{needle}%",)
                ).fetchone()[0]
                if n:
                    found[f"{table}.{column}"] = n
    return found


async def _populate(store: Store, user: int, tag: str) -> None:
    """Settings, suggestions (posted), a like, a replaced vote and an undo; ``tag`` marks the user's texts."""
    await store.set_user_settings(user, {"nickname": f"{tag}_nick", "explore": True})
    tracks = [f"t{user % 1000}x{i}" for i in range(3)]
    sugs = await store.record_suggestions(
        [
            NewSuggestion(
                t,
                i,
                "m1",
                "content",
                score=1.0 - i / 10,
                score_parts={"why": tag},
                reason=f"for {tag}",
                user_id=user,
                channel_id=70,
            )
            for i, t in enumerate(tracks)
        ]
    )
    await store.attach_message([s.id for s in sugs], 900 + user % 1000, 70, 80)
    await store.add_feedback(
        user, tracks[0], 1, "reaction", guild_id=80, channel_id=70, suggestion_id=sugs[0].id
    )
    await store.add_feedback(user, tracks[1], 1, "command")
    await store.add_feedback(user, tracks[1], -1, "button")  # leaves a tombstone too
    await store.undo_feedback(user, track_id=tracks[1])


async def test_forget_user_leaves_no_row_anywhere(tmp_path: Path) -> None:
    db = tmp_path / "songrec.sqlite3"
    async with await Store.open(db) as store:
        await _populate(store, GONE, SECRET)
        await _populate(store, STAYS, "keep")
        session = await store.create_session(80, 71, GONE, voice_channel_id=72)
        await store.add_member(session.id, STAYS)
        [group] = await store.record_suggestions(
            [NewSuggestion("grouptrack", 0, "m1", "explore", session_id=session.id)]
        )
        await store.add_session_tracks(session.id, ["grouptrack"], suggestion_ids=[group.id])
        # STAYS reacted to a suggestion that was made to GONE.
        gone_sug = (await store.last_suggestion(GONE, 70)) or None
        assert gone_sug is not None
        await store.add_feedback(STAYS, gone_sug.track_id, 1, "reaction", suggestion_id=gone_sug.id)
        before = await store.export_user(STAYS)
        assert _rows_mentioning(db, str(GONE))  # sanity: the generic scan does see the user

        counts = await store.forget_user(GONE)
        assert counts["users"] == 1 and counts["feedback"] == 3 and counts["suggestions"] == 3
        assert counts["session_members"] == 1 and counts["sessions"] == 1
        assert await store.integrity_check() == []

        assert await store.export_user(GONE) == {
            "user_id": GONE,
            "user": None,
            "feedback": [],
            "suggestions": [],
            "session_memberships": [],
            "sessions_started": [],
        }
        # Other people's data is intact; the session belongs to the group and stays, creator cleared.
        after = await store.export_user(STAYS)
        assert after["suggestions"] == before["suggestions"]
        assert len(after["feedback"]) == len(before["feedback"])
        reaction = next(f for f in after["feedback"] if f["track_id"] == gone_sug.track_id)
        assert reaction["suggestion_id"] is None  # the suggestion it pointed at is gone
        kept = await store.get_session(session.id)
        assert kept is not None and kept.created_by is None
        assert [m.user_id for m in await store.members(session.id)] == [STAYS]
        assert len(await store.session_tracks(session.id)) == 1
        assert await store.get_user_settings(GONE) == {}

    assert _rows_mentioning(db, str(GONE)) == {}
    assert _rows_mentioning(db, SECRET) == {}
    assert _rows_mentioning(db, "keep") != {}
    # Not just unlinked: secure_delete + checkpoint mean the bytes are gone from the files too.
    for path in db.parent.iterdir():
        if path.name.startswith(db.name):
            assert SECRET.encode() not in path.read_bytes(), path.name


async def test_forget_unknown_user_is_harmless(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "db.sqlite3") as store:
        assert await store.forget_user(GONE) == {
            "feedback": 0,
            "suggestions": 0,
            "session_members": 0,
            "sessions": 0,
            "users": 0,
        }


async def test_export_user_is_complete_and_json_serialisable(tmp_path: Path) -> None:
    async with await Store.open(tmp_path / "db.sqlite3") as store:
        await _populate(store, GONE, "exp")
        session = await store.create_session(80, 71, GONE)
        data = await store.export_user(GONE)
    text = json.dumps(data)
    assert json.loads(text) == data
    assert data["user"]["settings"] == {"nickname": "exp_nick", "explore": True}
    assert len(data["feedback"]) == 3  # including the replaced and the undone vote
    assert sum(1 for f in data["feedback"] if f["undone_at"] is None) == 1
    assert [s["rank"] for s in data["suggestions"]] == [0, 1, 2]
    assert data["suggestions"][0]["message_id"] is not None
    assert [m["session_id"] for m in data["session_memberships"]] == [session.id]
    assert [s["id"] for s in data["sessions_started"]] == [session.id]
