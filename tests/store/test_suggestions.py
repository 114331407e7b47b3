"""Suggestions: recording, posting, recency, all-or-nothing checks, the service's kinds stored as is."""

from __future__ import annotations

import pytest

from songrec.domain import SUGGESTION_KINDS, InvalidInput, NewSuggestion
from songrec.store import StoreBackend
from tests.store.backends import Clock

ALICE = 666666666666666601
BOB = 666666666666666602
GUILD, CHANNEL, VOICE = 777777777777777701, 777777777777777702, 777777777777777703


async def test_suggestions_messages_and_recency(store: StoreBackend, clock: Clock) -> None:
    first = await store.record_suggestions(
        [
            NewSuggestion(
                f"t{i}",
                i,
                "m1",
                kind,
                score=1.0 - i / 10,
                score_parts={"content": 0.5},
                reason="why",
                user_id=ALICE,
                channel_id=CHANNEL,
            )
            for i, kind in enumerate(["content", "explore", "taste"])
        ]
    )
    assert [s.rank for s in first] == [0, 1, 2] and first[0].score_parts == {"content": 0.5}
    assert await store.get_suggestion(first[1].id) == first[1]
    assert await store.get_suggestion(999999) is None
    assert await store.attach_message([s.id for s in first], 42, CHANNEL, GUILD) == 3
    posted = await store.suggestions_for_message(42)
    assert [s.id for s in posted] == [s.id for s in first]
    assert all(s.message_id == 42 and s.guild_id == GUILD and s.posted_at is not None for s in posted)
    assert await store.suggestions_for_message(43) == []

    clock.now += 3600
    later = await store.record_suggestions(
        [NewSuggestion("t9", 0, "m2", "similar_users", user_id=ALICE, channel_id=1)]
    )
    last_here = await store.last_suggestion(ALICE, CHANNEL)
    assert last_here is not None and last_here.id == first[-1].id
    last_any = await store.last_suggestion(ALICE)
    assert last_any is not None and last_any.id == later[0].id
    assert await store.last_suggestion(BOB) is None

    assert await store.recent_suggested_tracks(ALICE) == ["t9", "t2", "t1", "t0"]
    assert await store.recent_suggested_tracks(ALICE, since_seconds=60) == ["t9"]
    assert await store.recent_suggested_tracks(ALICE, limit=2) == ["t9", "t2"]
    assert await store.record_suggestions([]) == []


@pytest.mark.parametrize(
    ("suggestion", "message"),
    [
        (
            NewSuggestion("t", 0, "m", "vibes", user_id=ALICE),
            "suggestion kind must be one of cold_start, content, explore, session, similar_users, taste",
        ),
        (NewSuggestion("t", 0, "m", "explore"), "needs a user_id"),
        (NewSuggestion("t", -1, "m", "explore", user_id=ALICE), "rank must be a non-negative integer"),
        (NewSuggestion("t", 0, "", "explore", user_id=ALICE), "model_version must be a non-empty string"),
        (
            NewSuggestion("t", 0, "m", "explore", user_id=ALICE, score=float("inf")),
            "score must be a finite number",
        ),
        (NewSuggestion("t", 0, "m", "explore", user_id=ALICE, score_parts=[1]), "score_parts must be a dict"),  # type: ignore[arg-type]
    ],
)
async def test_bad_suggestions_are_rejected_whole(
    store: StoreBackend, suggestion: NewSuggestion, message: str
) -> None:
    good = NewSuggestion("ok", 0, "m", "explore", user_id=ALICE)
    with pytest.raises(InvalidInput, match=message):
        await store.record_suggestions([good, suggestion])
    assert await store.recent_suggested_tracks(ALICE) == []  # all or nothing


async def test_every_service_kind_is_stored_and_read_back_as_is(store: StoreBackend) -> None:
    session = await store.create_session(GUILD, CHANNEL, ALICE)
    kinds = sorted(SUGGESTION_KINDS)
    recorded = await store.record_suggestions(
        [
            NewSuggestion(
                f"k{i}", i, "m1", kind, user_id=ALICE, session_id=session.id if kind == "session" else None
            )
            for i, kind in enumerate(kinds)
        ]
    )
    assert [s.kind for s in recorded] == kinds and {"taste", "session"} <= set(kinds)
    assert [(await store.get_suggestion(s.id)).kind for s in recorded] == kinds  # type: ignore[union-attr]


async def test_feedback_and_recent_is_both_reads_in_one(store: StoreBackend, clock: Clock) -> None:
    """What recommend reads in one trip: exactly feedback_for_user and recent_suggested_tracks."""
    assert await store.feedback_and_recent(ALICE) == ([], [])
    await store.record_suggestions(
        [NewSuggestion(f"t{i}", i, "m1", "content", user_id=ALICE) for i in range(3)]
    )
    clock.now += 120
    await store.record_suggestions([NewSuggestion("t9", 0, "m1", "explore", user_id=ALICE)])
    await store.record_suggestions([NewSuggestion("b1", 0, "m1", "explore", user_id=BOB)])
    await store.add_feedback(ALICE, "t1", 1, "reaction")
    await store.add_feedback(ALICE, "t2", -1, "reaction")
    await store.add_feedback(ALICE, "t1", -1, "reaction")  # replaces the like: one live vote
    await store.add_feedback(BOB, "t2", 1, "reaction")
    for kwargs in ({}, {"since_seconds": 60}, {"limit": 2}, {"since_seconds": 600, "limit": 1}):
        votes, recent = await store.feedback_and_recent(ALICE, **kwargs)  # type: ignore[arg-type]
        assert votes == await store.feedback_for_user(ALICE)
        assert recent == await store.recent_suggested_tracks(ALICE, **kwargs)  # type: ignore[arg-type]
    votes, recent = await store.feedback_and_recent(ALICE, since_seconds=60)
    assert [(f.track_id, f.value) for f in votes] == [("t2", -1), ("t1", -1)] and recent == ["t9"]
    with pytest.raises(InvalidInput):
        await store.feedback_and_recent(ALICE, limit=0)


async def test_a_batch_comes_back_as_stored_in_input_order_past_one_statement(store: StoreBackend) -> None:
    """Records are built from what was written (one multi-row insert per 500): they must equal the rows
    read back, ids ascending in input order, parts that JSON changes (int keys, tuples) as read back."""
    batch = [
        NewSuggestion(
            f"t{i}",
            i,
            "m1",
            "taste",
            score=i / 7,
            score_parts={"taste": i / 3, "n_listeners": i} if i % 3 else {1: (i, 2.5)},  # type: ignore[dict-item]
            reason=f"why {i}",
            user_id=ALICE if i % 2 else BOB,
            channel_id=CHANNEL,
            guild_id=GUILD if i % 5 else None,
        )
        for i in range(1203)
    ]
    got = await store.record_suggestions(batch)
    assert [s.track_id for s in got] == [s.track_id for s in batch]
    assert [s.id for s in got] == sorted(s.id for s in got) and len({s.id for s in got}) == len(batch)
    for record in got[:4] + got[498:503] + got[-3:]:
        assert await store.get_suggestion(record.id) == record
    assert got[3].score_parts == {"1": [3, 2.5]}


async def test_a_records_parts_are_its_own_and_bad_shared_columns_are_refused_mid_batch(
    store: StoreBackend,
) -> None:
    """The parts of a recorded suggestion are what a read gives, not the caller's dict (changing that
    later changes nothing stored); a batch checks its shared columns again wherever they change."""
    parts = {"taste": 0.25, "n_listeners": 3, "info_note": "x", "flag": True, "none": None}
    (got,) = await store.record_suggestions(
        [NewSuggestion("p1", 0, "m1", "taste", score_parts=parts, user_id=ALICE)]
    )
    parts["taste"] = 9.0
    assert got.score_parts == {"taste": 0.25, "n_listeners": 3, "info_note": "x", "flag": True, "none": None}
    assert await store.get_suggestion(got.id) == got
    shared = {"user_id": ALICE, "channel_id": CHANNEL}
    batch = [NewSuggestion(f"q{i}", i, "m1", "taste", **shared) for i in range(3)]  # type: ignore[arg-type]
    batch.append(NewSuggestion("q9", 3, "m1", "taste", user_id=ALICE, channel_id=-5))
    with pytest.raises(InvalidInput, match="channel_id must be a Discord id"):
        await store.record_suggestions(batch)
    nan = NewSuggestion("q8", 0, "m1", "taste", score_parts={"taste": float("nan")}, user_id=ALICE)
    with pytest.raises(InvalidInput, match="score_parts must be JSON-serialisable"):
        await store.record_suggestions([*batch[:2], nan])
    assert await store.recent_suggested_tracks(ALICE) == ["p1"]
