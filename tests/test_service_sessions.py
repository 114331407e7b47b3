"""Group sessions on the real service: blending three tastes, no repeats, reactions that steer."""

from __future__ import annotations

from pathlib import Path

import pytest

from songrec.content.engine import Engine
from songrec.domain import InvalidInput, NotInSession
from songrec.service import Service
from tests.support.service_env import ServiceOpener, track_id, typical

ALICE, BOB, CAROL = 201, 202, 203
GUILD, CHANNEL, VOICE = 10, 20, 30


async def _plant_tastes(service: Service, eng: Engine) -> None:
    """alice and bob love rock; carol loves edm and can't stand rock."""
    for user in (ALICE, BOB):
        for row in typical(eng, "rock", 4):
            await service.like(user, track_id(eng, row))
    for row in typical(eng, "edm", 4):
        await service.like(CAROL, track_id(eng, row))
    for row in typical(eng, "rock", 40, skip=4):
        await service.dislike(CAROL, track_id(eng, row))


async def test_average_and_least_misery_differ_on_a_planted_case(
    open_service: ServiceOpener, small_engine: Engine, tmp_path: Path
) -> None:
    picks = {}
    for strategy, channel in (("average", CHANNEL), ("least_misery", CHANNEL + 1)):
        async with open_service(tmp_path / f"{strategy}.sqlite3") as service:
            await _plant_tastes(service, small_engine)
            info = await service.start_session(GUILD, channel, ALICE, strategy=strategy, members=[BOB, CAROL])
            assert set(info.members) == {ALICE, BOB, CAROL} and info.strategy == strategy
            picks[strategy] = await service.session_next(channel, BOB, k=5)
    average, misery = picks["average"], picks["least_misery"]
    assert all(s.kind == "session" and s.session_id is not None for s in average + misery)
    rock_average = [s.track.genre for s in average].count("rock")
    rock_misery = [s.track.genre for s in misery].count("rock")
    assert rock_average >= 4, "two of three love rock"
    assert rock_misery <= 1 and rock_misery < rock_average, "carol can't stand rock"
    worst_average = min(s.score_parts["info_least_misery"] for s in average)
    assert min(s.score_parts["least_misery"] for s in misery) > worst_average
    for s in average:
        assert s.reason.startswith("a pick for the 3 of you: the best fit on average")
        assert s.score == pytest.approx(s.score_parts["average"] + s.score_parts["popularity"], abs=1e-4)
    for s in misery:
        assert s.reason.startswith("a pick for the 3 of you that nobody should mind")


async def test_nothing_repeats_reactions_steer_and_the_summary_credits_fans(
    open_service: ServiceOpener, small_engine: Engine, tmp_path: Path
) -> None:
    eng = small_engine
    async with open_service(tmp_path / "db.sqlite3") as service:
        with pytest.raises(NotInSession):
            await service.session_next(CHANNEL, ALICE)
        with pytest.raises(InvalidInput):
            await service.start_session(None, CHANNEL, ALICE)
        info = await service.start_session(GUILD, CHANNEL, ALICE, voice_channel_id=VOICE, strategy="average")
        with pytest.raises(InvalidInput, match="already running"):
            await service.start_session(GUILD, CHANNEL, BOB)
        assert (await service.session_for_voice_channel(VOICE)) == info
        await service.join_session(CHANNEL, BOB)
        await service.join_session(CHANNEL, BOB)
        await service.join_session(CHANNEL, CAROL)
        with pytest.raises(NotInSession):
            await service.session_next(CHANNEL, 999)

        first = await service.session_next(CHANNEL, ALICE, k=4)
        assert all(s.reason.startswith("a pick for the 3 of you") for s in first)
        # Reactions on a session pick are each member's feedback; the next pick follows them.
        liked = first[2]
        for member in (ALICE, BOB, CAROL):
            await service.like(member, suggestion_id=liked.id, source="session")
        assert (await service.history(BOB))[0].source == "session"
        second = await service.session_next(CHANNEL, CAROL, k=4)
        assert second[0].reason.endswith(f"close to {liked.track.name}"), second[0].reason
        near = eng.row_of(liked.track.track_id)
        before = [eng.distance(near, eng.row_of(s.track.track_id)) for s in first if s.id != liked.id]
        after = [eng.distance(near, eng.row_of(s.track.track_id)) for s in second]
        assert max(after) < min(before), "the session moved towards what everyone liked"
        # A bare /like in the channel rates the newest session pick.
        bare = await service.dislike(BOB, channel_id=CHANNEL)
        assert bare.track == second[-1].track

        seen = {s.track.track_id for s in first + second}
        for _ in range(4):
            batch = await service.session_next(CHANNEL, BOB, k=5)
            ids = {s.track.track_id for s in batch}
            assert not ids & seen and len(ids) == len(batch), "a track repeated within the session"
            seen |= ids

        await service.leave_session(CHANNEL, BOB)
        with pytest.raises(NotInSession):
            await service.leave_session(CHANNEL, BOB)
        summary = await service.end_session(CHANNEL, ALICE)
        assert len(summary.suggested) == len(seen) and not summary.session.active
        assert set(summary.session.members) == {ALICE, BOB, CAROL}
        assert (liked.track, (ALICE, BOB, CAROL)) in summary.liked
        assert await service.active_session(CHANNEL) is None
        assert await service.session_for_voice_channel(VOICE) is None


async def test_session_seeds_start_the_blend_and_are_not_offered(
    open_service: ServiceOpener, tmp_path: Path
) -> None:
    async with open_service(tmp_path / "db.sqlite3") as service:
        await service.start_session(GUILD, CHANNEL, ALICE, members=[BOB], seeds=["Song 8"])
        picks = await service.session_next(CHANNEL, ALICE, k=5)
        names = {s.track.name for s in picks}
        assert "Song 8" not in names and all(s.reason.endswith("close to Song 8") for s in picks)
        summary = await service.end_session(CHANNEL, BOB)
        assert "Song 8" not in {t.name for t in summary.suggested}


async def test_voice_link_survives_a_restart(open_service: ServiceOpener, tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite3"
    async with open_service(db) as service:
        info = await service.start_session(GUILD, CHANNEL, ALICE, voice_channel_id=VOICE)
    async with open_service(db) as restarted:
        again = await restarted.session_for_voice_channel(VOICE)
        assert again is not None and again.id == info.id and again.voice_channel_id == VOICE
        assert await restarted.session_for_voice_channel(VOICE + 1) is None
        await restarted.end_session(CHANNEL, ALICE)
        assert await restarted.session_for_voice_channel(VOICE) is None
