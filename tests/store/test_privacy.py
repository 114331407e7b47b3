"""forget_user leaves no trace of the user in any table (checked generically), export_user is complete,
history mixes suggestions and votes: against every backend."""

from __future__ import annotations

import json

from songrec.domain import NewSuggestion
from songrec.store import StoreBackend
from tests.store.backends import BackendFactory, Clock
from tests.store.people import populate

GONE = 987654321987654321  # appears nowhere else in this test's data
STAYS = 123456789123456789
SECRET = "zz_secret_marker_for_forget"


async def test_forget_user_leaves_no_row_anywhere(store_backend: BackendFactory) -> None:
    async with await store_backend.open() as store:
        await populate(store, GONE, SECRET)
        await populate(store, STAYS, "keep")
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
        assert store_backend.rows_mentioning(str(GONE))  # sanity: the generic scan does see the user

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

    assert store_backend.rows_mentioning(str(GONE)) == {}
    assert store_backend.rows_mentioning(SECRET) == {}
    assert store_backend.rows_mentioning("keep") != {}
    # That the bytes are gone from the files too is SQLite's part: test_sqlite_files.py.


async def test_forget_unknown_user_is_harmless(store: StoreBackend) -> None:
    assert await store.forget_user(GONE) == {
        "feedback": 0,
        "suggestions": 0,
        "session_members": 0,
        "sessions": 0,
        "users": 0,
    }


async def test_export_user_is_complete_and_json_serialisable(store: StoreBackend) -> None:
    await populate(store, GONE, "exp")
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


async def test_history_mixes_suggestions_and_votes_newest_first(store: StoreBackend, clock: Clock) -> None:
    [sug] = await store.record_suggestions([NewSuggestion("t1", 0, "m1", "cold_start", user_id=STAYS)])
    clock.now += 1
    await store.add_feedback(STAYS, "t1", 1, "button", suggestion_id=sug.id)
    clock.now += 1
    await store.add_feedback(STAYS, "t1", -1, "command")
    history = await store.history(STAYS, limit=10)
    assert [(h.event, h.track_id, h.undone) for h in history] == [
        ("disliked", "t1", False),
        ("liked", "t1", True),
        ("suggested", "t1", False),
    ]
    assert history[-1].source == "cold_start" and history[1].suggestion_id == sug.id
    assert len(await store.history(STAYS, limit=2)) == 2
