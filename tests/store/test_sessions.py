"""Group sessions: one running per channel, members, tracks, ending; against every backend."""

from __future__ import annotations

import pytest

from songrec.domain import InvalidInput, NewSuggestion, NotFound, SessionAlreadyActive
from songrec.store import StoreBackend
from tests.store.backends import Clock

ALICE = 666666666666666601
BOB = 666666666666666602
GUILD, CHANNEL, VOICE = 777777777777777701, 777777777777777702, 777777777777777703


async def test_sessions_lifecycle(store: StoreBackend, clock: Clock) -> None:
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
        await store.record_suggestions([NewSuggestion("g", 0, "m", "explore", session_id=123456)])
    assert await store.end_session(123456) is None
    # The channel is free again.
    second = await store.create_session(GUILD, CHANNEL, BOB)
    assert second.id != session.id and second.strategy == "average"
    with pytest.raises(InvalidInput, match="session strategy must be one of average, least_misery"):
        await store.create_session(GUILD, CHANNEL + 1, BOB, strategy="loudest")
