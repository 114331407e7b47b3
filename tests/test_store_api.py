"""The rest of the Store API: users, suggestions, sessions, guild settings, training runs, caches, history."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from songrec.store import (
    GuildSettings,
    InvalidInput,
    NewSuggestion,
    NotFound,
    SessionAlreadyActive,
    Store,
)

ALICE = 666666666666666601
BOB = 666666666666666602
GUILD, CHANNEL, VOICE = 777777777777777701, 777777777777777702, 777777777777777703


class Clock:
    """A controllable clock so time windows are tested without sleeping."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def store(tmp_path: Path, clock: Clock) -> AsyncIterator[Store]:
    async with await Store.open(tmp_path / "songrec.sqlite3", clock=clock) as s:
        yield s


async def test_users_and_settings(store: Store) -> None:
    assert await store.get_user(ALICE) is None
    assert await store.get_user_settings(ALICE) == {}
    user = await store.ensure_user(ALICE)
    assert user.user_id == ALICE and user.settings == {}
    assert await store.ensure_user(ALICE) == user  # idempotent
    assert await store.set_user_settings(ALICE, {"dm": True, "explore_rate": 0.2}) == {
        "dm": True,
        "explore_rate": 0.2,
    }
    assert await store.set_user_settings(ALICE, {"dm": False}) == {"dm": False, "explore_rate": 0.2}  # merge
    assert await store.set_user_settings(ALICE, {"x": [1, 2]}, replace=True) == {"x": [1, 2]}
    assert await store.get_user_settings(ALICE) == {"x": [1, 2]}
    with pytest.raises(InvalidInput, match="settings must be a dict"):
        await store.set_user_settings(ALICE, ["no"])  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="JSON-serialisable"):
        await store.set_user_settings(ALICE, {"bad": object()})
    with pytest.raises(InvalidInput, match="JSON-serialisable"):
        await store.set_user_settings(ALICE, {"nan": float("nan")})


async def test_suggestions_messages_and_recency(store: Store, clock: Clock) -> None:
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
            for i, kind in enumerate(["content", "explore", "cf"])
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
            "suggestion kind must be one of cf, cold_start, content",
        ),
        (NewSuggestion("t", 0, "m", "cf"), "needs a user_id"),
        (NewSuggestion("t", -1, "m", "cf", user_id=ALICE), "rank must be a non-negative integer"),
        (NewSuggestion("t", 0, "", "cf", user_id=ALICE), "model_version must be a non-empty string"),
        (
            NewSuggestion("t", 0, "m", "cf", user_id=ALICE, score=float("inf")),
            "score must be a finite number",
        ),
        (NewSuggestion("t", 0, "m", "cf", user_id=ALICE, score_parts=[1]), "score_parts must be a dict"),  # type: ignore[arg-type]
    ],
)
async def test_bad_suggestions_are_rejected_whole(
    store: Store, suggestion: NewSuggestion, message: str
) -> None:
    good = NewSuggestion("ok", 0, "m", "cf", user_id=ALICE)
    with pytest.raises(InvalidInput, match=message):
        await store.record_suggestions([good, suggestion])
    assert await store.recent_suggested_tracks(ALICE) == []  # all or nothing


async def test_sessions_lifecycle(store: Store, clock: Clock) -> None:
    session = await store.create_session(
        GUILD, CHANNEL, ALICE, voice_channel_id=VOICE, strategy="least_misery"
    )
    assert session.active and session.strategy == "least_misery" and session.created_by == ALICE
    assert await store.active_session(CHANNEL) == session
    assert await store.get_session(session.id) == session
    with pytest.raises(SessionAlreadyActive, match="already has a running session"):
        await store.create_session(GUILD, CHANNEL, BOB)

    await store.add_member(session.id, BOB)
    again = await store.add_member(session.id, BOB)  # idempotent
    assert [m.user_id for m in await store.members(session.id)] == [ALICE, BOB]
    assert again.user_id == BOB
    assert await store.remove_member(session.id, BOB) is True
    assert await store.remove_member(session.id, BOB) is False
    assert [m.user_id for m in await store.members(session.id)] == [ALICE]
    await store.add_member(session.id, BOB)  # rejoin: a new membership row
    assert len(await store.members(session.id, include_left=True)) == 3

    [group] = await store.record_suggestions([NewSuggestion("g1", 0, "m1", "content", session_id=session.id)])
    added = await store.add_session_tracks(session.id, ["g1", "g2"], suggestion_ids=[group.id, None])
    assert [t.track_id for t in added] == ["g1", "g2"] and added[0].suggestion_id == group.id
    assert await store.mark_played(session.id, "g1") is True
    assert await store.mark_played(session.id, "nope") is False
    tracks = await store.session_tracks(session.id)
    assert tracks[0].played_at is not None and tracks[1].played_at is None
    with pytest.raises(InvalidInput, match="2 track ids but 1 suggestion ids"):
        await store.add_session_tracks(session.id, ["a", "b"], suggestion_ids=[None])

    clock.now += 10
    ended = await store.end_session(session.id)
    assert ended is not None and ended.ended_at == clock.now
    assert await store.active_session(CHANNEL) is None
    assert await store.members(session.id) == []
    clock.now += 10
    assert (await store.end_session(session.id)) == ended  # ending twice keeps the first end time
    with pytest.raises(InvalidInput, match="has ended"):
        await store.add_member(session.id, BOB)
    with pytest.raises(NotFound):
        await store.add_member(123456, BOB)
    with pytest.raises(NotFound):
        await store.record_suggestions([NewSuggestion("g", 0, "m", "cf", session_id=123456)])
    assert await store.end_session(123456) is None
    # The channel is free again.
    second = await store.create_session(GUILD, CHANNEL, BOB)
    assert second.id != session.id and second.strategy == "average"
    with pytest.raises(InvalidInput, match="session strategy must be one of average, least_misery"):
        await store.create_session(GUILD, CHANNEL + 1, BOB, strategy="loudest")


async def test_guild_settings(store: Store) -> None:
    assert await store.get_guild_settings(GUILD) == GuildSettings(guild_id=GUILD)
    updated = await store.set_guild_settings(GUILD, explore_rate=0.25)
    assert (
        updated.explore_rate == 0.25 and updated.command_channel_id is None and updated.updated_at is not None
    )
    updated = await store.set_guild_settings(
        GUILD, command_channel_id=CHANNEL, session_strategy="least_misery"
    )
    assert (updated.explore_rate, updated.command_channel_id, updated.session_strategy) == (
        0.25,
        CHANNEL,
        "least_misery",
    )
    cleared = await store.set_guild_settings(GUILD, command_channel_id=None)
    assert cleared.command_channel_id is None and cleared.explore_rate == 0.25
    assert await store.get_guild_settings(GUILD) == cleared
    with pytest.raises(InvalidInput, match="explore_rate must be between 0 and 1"):
        await store.set_guild_settings(GUILD, explore_rate=1.5)
    with pytest.raises(InvalidInput, match="session strategy"):
        await store.set_guild_settings(GUILD, session_strategy="max")


async def test_training_runs(store: Store, clock: Clock) -> None:
    run = await store.record_training_run("cpu", "500 new votes")
    assert (run.status, run.device, run.promoted, run.metrics, run.finished_at) == (
        "running",
        "cpu",
        False,
        {},
        None,
    )
    clock.now += 60
    done = await store.update_training_run(
        run.id, status="succeeded", metrics={"recall@10": 0.31}, artifact_version="v7", promoted=True
    )
    assert done.finished_at == clock.now and done.promoted and done.metrics == {"recall@10": 0.31}
    failed = await store.record_training_run("cuda", "nightly")
    failed = await store.update_training_run(failed.id, status="failed", finished_at=clock.now + 5)
    assert failed.finished_at == clock.now + 5
    assert [r.id for r in await store.last_training_runs()] == [failed.id, run.id]
    assert [r.id for r in await store.last_training_runs(limit=1)] == [failed.id]
    promoted = await store.last_promoted_run()
    assert promoted is not None and promoted.artifact_version == "v7"
    with pytest.raises(NotFound, match="training run 999"):
        await store.update_training_run(999, status="failed")
    with pytest.raises(InvalidInput, match="training status must be one of"):
        await store.update_training_run(run.id, status="exploded")
    with pytest.raises(InvalidInput, match="promoted must be True or False"):
        await store.update_training_run(run.id, promoted=1)  # type: ignore[arg-type]


async def test_abandoned_runs_are_failed_once_older_than_any_run_may_live(store: Store, clock: Clock) -> None:
    old = await store.record_training_run("cpu", "before the restart")
    clock.now += 3000
    young = await store.record_training_run("cpu", "just started")
    finished = await store.record_training_run("cpu", "done")
    await store.update_training_run(finished.id, status="succeeded")
    clock.now += 10
    assert await store.fail_stale_runs(1000, "abandoned") == 1
    runs = {r.id: r for r in await store.last_training_runs()}
    assert runs[old.id].status == "failed" and runs[old.id].reason == "abandoned"
    assert runs[old.id].finished_at == clock.now
    assert runs[young.id].status == "running" and runs[finished.id].status == "succeeded"
    assert await store.fail_stale_runs(1000, "abandoned") == 0
    with pytest.raises(InvalidInput, match="older_than_s"):
        await store.fail_stale_runs(-1, "x")


async def test_spotify_cache(store: Store, clock: Clock) -> None:
    assert await store.get_spotify_track("abc") is None
    await store.put_spotify_track("abc", {"name": "Song", "artists": ["A"]})
    assert await store.get_spotify_track("abc") == {"name": "Song", "artists": ["A"]}
    clock.now += 100
    assert await store.get_spotify_track("abc", max_age_s=50) is None
    await store.put_spotify_track("abc", {"name": "Song v2"})
    await store.put_spotify_track("def", {"name": "Other"})
    assert await store.get_spotify_tracks(["abc", "def", "zzz"]) == {
        "abc": {"name": "Song v2"},
        "def": {"name": "Other"},
    }
    many = [f"id{i}" for i in range(1200)]
    for track in many[:3]:
        await store.put_spotify_track(track, {"i": track})
    assert set(await store.get_spotify_tracks(many)) == set(many[:3])
    with pytest.raises(InvalidInput, match="payload must be a dict"):
        await store.put_spotify_track("abc", "nope")  # type: ignore[arg-type]


async def test_history_mixes_suggestions_and_votes_newest_first(store: Store, clock: Clock) -> None:
    [sug] = await store.record_suggestions([NewSuggestion("t1", 0, "m1", "cold_start", user_id=ALICE)])
    clock.now += 1
    await store.add_feedback(ALICE, "t1", 1, "button", suggestion_id=sug.id)
    clock.now += 1
    await store.add_feedback(ALICE, "t1", -1, "command")
    history = await store.history(ALICE, limit=10)
    assert [(h.event, h.track_id, h.undone) for h in history] == [
        ("disliked", "t1", False),
        ("liked", "t1", True),
        ("suggested", "t1", False),
    ]
    assert history[-1].source == "cold_start" and history[1].suggestion_id == sug.id
    assert len(await store.history(ALICE, limit=2)) == 2


async def test_maintenance(store: Store) -> None:
    size = await store.database_size()
    await store.record_suggestions(
        [NewSuggestion(f"t{i}", i, "m", "cf", reason="x" * 200, user_id=ALICE) for i in range(500)]
    )
    assert await store.database_size() > size > 0
    assert await store.integrity_check() == []
    assert await store.schema_version() >= 1
