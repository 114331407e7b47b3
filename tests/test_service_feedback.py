"""Feedback, listeners like you, and the user's data: like/dislike/undo semantics, Pearson neighbours,
history/profile/export and forget_user leaving nothing behind."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from songrec.content.engine import Engine
from songrec.domain import Filters, NothingToRate
from songrec.service.similar_users import RatingsCache, pearson
from tests.support.service_env import ServiceOpener, rows_of_genre, track_id

ALICE, BOB, CAROL, DAVE, ERIN = 101, 102, 103, 104, 105


def test_pearson_and_neighbours() -> None:
    assert pearson([1, 1, -1, -1], [1, 1, -1, -1]) == pytest.approx(1.0)
    assert pearson([1, 1, -1, -1], [-1, -1, 1, 1]) == pytest.approx(-1.0)
    assert pearson([1, 1, 1], [1, 1, 1]) == 1.0  # constant votes: agreement share instead of NaN
    assert pearson([1, 1, 1], [1, -1, 1]) == pytest.approx(1 / 3)
    cache = RatingsCache()
    for user, votes in {1: "+++--", 2: "+++--", 3: "---++", 4: "++"}.items():
        for i, v in enumerate(votes):
            cache.set(user, f"t{i}", 1 if v == "+" else -1)
    found = cache.neighbours(1, min_overlap=3, min_correlation=0.3, limit=10)
    assert [n.user_id for n in found] == [2], "3 disagrees, 4 shares too few tracks"
    cache.begin_reload()
    cache.set(5, "t0", 1)  # a vote recorded while the reload was reading
    cache.finish_reload([(1, "t0", 1)])
    assert cache.ratings_of(5) == {"t0": 1} and cache.ratings_of(2) == {}


def test_search_size_counts_the_raters_a_neighbour_search_walks() -> None:
    """What decides whether the search may run on the event loop: every rater of each of the user's
    tracks (the user included), a hit counted at most MAX_RATERS_PER_TRACK times."""
    from songrec.service.similar_users import MAX_RATERS_PER_TRACK

    cache = RatingsCache()
    assert cache.search_size(1) == 0
    hit = [(u, "hit", 1) for u in range(1, MAX_RATERS_PER_TRACK + 50)]
    cache.finish_reload([*hit, (1, "rare", -1), (2, "rare", 1), (3, "other", 1)])
    assert cache.search_size(1) == MAX_RATERS_PER_TRACK + 2
    assert cache.search_size(3) == MAX_RATERS_PER_TRACK + 1
    cache.remove(1, "hit")
    assert cache.search_size(1) == 2


def test_neighbours_match_pearson_over_the_co_rated_tracks() -> None:
    """The neighbour search sums votes over co-rated tracks as it goes; every correlation it reports is
    pearson() of those tracks' votes, whatever order the tracks were voted in, and no qualifying
    listener is missed."""
    import random

    rng = random.Random(5)
    cache = RatingsCache()
    votes: dict[int, dict[str, int]] = {}
    for user in range(60):
        for track in rng.sample(range(40), rng.randint(3, 25)):
            value = rng.choice((1, 1, -1))
            votes.setdefault(user, {})[f"t{track}"] = value
            cache.set(user, f"t{track}", value)
    for user in range(0, 60, 7):
        mine = votes[user]
        want = {}
        for other, theirs in votes.items():
            shared = [t for t in mine if t in theirs]
            if other == user or len(shared) < 3:
                continue
            r = pearson([mine[t] for t in shared], [theirs[t] for t in shared])
            if r >= 0.3:
                want[other] = (r, len(shared))
        found = cache.neighbours(user, min_overlap=3, min_correlation=0.3, limit=100)
        assert {n.user_id for n in found} == set(want)
        for n in found:
            assert n.correlation == pytest.approx(want[n.user_id][0], abs=1e-12)
            assert n.overlap == want[n.user_id][1]
        assert found == sorted(found, key=lambda n: (-n.correlation, -n.overlap, n.user_id))


async def test_like_dislike_undo_are_idempotent_and_target_the_last_suggestion(
    open_service: ServiceOpener, tmp_path: Path
) -> None:
    async with open_service(tmp_path / "db.sqlite3") as service:
        with pytest.raises(NothingToRate):
            await service.like(ALICE, channel_id=5)
        picks = await service.recommend(ALICE, k=3, channel_id=5)
        first = await service.like(ALICE, channel_id=5, source="chat")
        assert first.changed and first.value == 1 and first.track == picks[-1].track
        again = await service.like(ALICE, channel_id=5)
        assert not again.changed
        with pytest.raises(NothingToRate):
            await service.like(ALICE, channel_id=6)  # nothing was shown in that channel
        flipped = await service.dislike(ALICE, suggestion_id=picks[0].id, source="reaction")
        assert flipped.changed and flipped.value == -1
        assert await service.undo(ALICE, suggestion_id=picks[0].id, value=1) is None, "it is a dislike now"
        undone = await service.undo(ALICE, suggestion_id=picks[0].id, value=-1)
        assert undone is not None and undone.value == 0
        assert await service.undo(ALICE, suggestion_id=picks[0].id) is None
        history = await service.history(ALICE)
        assert [(h.track, h.value, h.source) for h in history] == [(picks[-1].track, 1, "chat")]  # as said
        profile = await service.profile(ALICE)
        assert profile.likes == 1 and profile.dislikes == 0 and profile.top_artists
        assert set(profile.feature_summary) >= {"tempo", "energy"}


async def test_listeners_like_you_are_found_and_their_likes_suggested(
    open_service: ServiceOpener, small_engine: Engine, tmp_path: Path
) -> None:
    eng = small_engine
    rock, edm = rows_of_genre(eng, "rock"), rows_of_genre(eng, "edm")
    shared_likes, shared_dislikes = rock[:4], edm[:2]
    extra = rock[40:43]  # liked by alice's two look-alikes only
    async with open_service(tmp_path / "db.sqlite3", explore_rate=0.0, similar_share=0.3) as service:
        for user in (ALICE, BOB, CAROL):
            for row in shared_likes:
                await service.like(user, track_id(eng, row))
            for row in shared_dislikes:
                await service.dislike(user, track_id(eng, row))
        for user in (BOB, CAROL):
            for row in extra:
                await service.like(user, track_id(eng, row))
        # dave disagrees on everything; erin overlaps on only two tracks.
        for row in shared_likes:
            await service.dislike(DAVE, track_id(eng, row))
        await service.like(DAVE, track_id(eng, rock[50]))
        await service.like(ERIN, track_id(eng, shared_likes[0]))
        await service.like(ERIN, track_id(eng, shared_likes[1]))
        await service.like(ERIN, track_id(eng, rock[60]))

        similar = await service.similar_users(ALICE)
        assert [u for u, _ in similar] == [BOB, CAROL] and all(r == pytest.approx(1.0) for _, r in similar)
        assert set((await service.profile(ALICE)).similar_users) == {BOB, CAROL}

        picks = await service.recommend(ALICE, k=10)
        social = [s for s in picks if s.kind == "similar_users"]
        assert len(social) == 3, [s.kind for s in picks]
        assert {s.track.track_id for s in social} == {track_id(eng, r) for r in extra}
        for s in social:
            assert s.reason == "liked by 2 listeners whose taste is like yours"
            assert s.score_parts["n_listeners"] == 2 and s.score_parts["neighbour_vote"] == pytest.approx(2.0)
        assert track_id(eng, rock[50]) not in {s.track.track_id for s in picks}
        assert track_id(eng, rock[60]) not in {s.track.track_id for s in social}


async def test_forget_user_leaves_no_row_of_that_user_anywhere(
    open_service: ServiceOpener, tmp_path: Path
) -> None:
    db = tmp_path / "db.sqlite3"
    async with open_service(db) as service:
        picks = await service.recommend(ALICE, ["Song 3"], k=4, channel_id=9, guild_id=8)
        await service.attach_message([picks[0].id], 555, 9, 8)
        await service.like(ALICE, suggestion_id=picks[0].id, source="button")
        await service.dislike(ALICE, "Song 7")
        await service.like(BOB, suggestion_id=picks[1].id, source="reaction")  # bob rates alice's suggestion
        await service.start_session(8, 9, ALICE, members=[BOB])
        await service.session_next(9, ALICE, k=2)
        await service.recommend(BOB, k=2)
        export = await service.export_user(ALICE)
        assert export["feedback"] and export["suggestions"] and export["session_memberships"]

        removed = await service.forget_user(ALICE)
        assert removed >= 4 + 2 + 1 + 1
        assert await service.similar_users(ALICE) == []
        assert (await service.export_user(ALICE))["feedback"] == []
        assert [h.track.name for h in await service.history(BOB)]  # bob keeps his data
    with sqlite3.connect(db) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
            for column in columns:
                hits = conn.execute(f"SELECT count(*) FROM {table} WHERE {column} = ?", (ALICE,)).fetchone()[
                    0
                ]
                assert hits == 0, f"{table}.{column} still holds alice"
            for column in ("score_parts", "reason", "settings", "metrics", "payload"):
                if column in columns:
                    rows = conn.execute(f"SELECT {column} FROM {table}").fetchall()
                    assert not any(str(ALICE) in str(r[0]) for r in rows)
        assert conn.execute("SELECT count(*) FROM feedback WHERE user_id = ?", (BOB,)).fetchone()[0] == 1


async def test_guild_settings_and_status(open_service: ServiceOpener, tmp_path: Path) -> None:
    async with open_service(tmp_path / "db.sqlite3") as service:
        settings = await service.get_guild_settings(77)
        assert settings.explore_rate == pytest.approx(0.2) and settings.session_strategy == "average"
        changed = await service.update_guild_settings(77, command_channel_id=5)
        assert changed.command_channel_id == 5 and changed.explore_rate == pytest.approx(0.2)
        changed = await service.update_guild_settings(77, session_strategy="least_misery", explore_rate=0.5)
        assert (changed.session_strategy, changed.explore_rate) == ("least_misery", 0.5)
        await service.recommend(ALICE, k=2, filters=Filters(explore_rate=0.0))
        status = await service.status()
        assert status["model_version"] == service.engine.version and status["catalogue_size"] == 602
        assert status["index_recall"] == pytest.approx(1.0) and status["database_bytes"] > 0
        assert status["embedding_problems"] == [] and isinstance(status["training_runs"], list)
        tracks = await service.autocomplete("song 12", limit=5)
        assert tracks and tracks[0].name.startswith("Song 12")
        assert await service.autocomplete("   ") == []


async def test_another_process_votes_reach_memory_by_full_and_incremental_refresh(
    open_service: ServiceOpener, tmp_path: Path, small_engine: Engine
) -> None:
    """Two services on one database stand for two bot processes: what one records, the other's ratings
    take in on its refresh: all votes, then only the newer ones (new and flipped votes); an undo of an
    older vote leaves no newer row, so the periodic full reload is what removes it (core.py)."""
    db = tmp_path / "db.sqlite3"
    tracks = [track_id(small_engine, r) for r in range(6)]
    async with open_service(db) as writer, open_service(db) as reader:
        await writer.like(ALICE, tracks[0])
        await writer.dislike(ALICE, tracks[1])
        await writer.like(BOB, tracks[0])
        await reader._reload_ratings(full=True)  # noqa: SLF001
        assert reader.user_ratings(ALICE) == {tracks[0]: 1, tracks[1]: -1}
        assert reader.user_ratings(BOB) == {tracks[0]: 1}
        await writer.like(ALICE, tracks[1])  # flipped
        await writer.like(ALICE, tracks[2])
        await writer.undo(ALICE, track=tracks[0])
        await writer.dislike(CAROL, tracks[3])
        await reader._reload_ratings(full=False)  # noqa: SLF001
        assert reader.user_ratings(ALICE) == {tracks[0]: 1, tracks[1]: 1, tracks[2]: 1}
        assert reader.user_ratings(CAROL) == {tracks[3]: -1}
        await reader._reload_ratings(full=True)  # noqa: SLF001
        assert reader.user_ratings(ALICE) == writer.user_ratings(ALICE) == {tracks[1]: 1, tracks[2]: 1}
        assert reader.user_ratings(BOB) == {tracks[0]: 1}
