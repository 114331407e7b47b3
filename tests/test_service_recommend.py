"""Service.recommend on a real small artifact and a real SQLite file: exclusions, taste, cold start,
exploration, reasons and bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from songrec.content.engine import Engine
from songrec.domain import (
    AmbiguousTrack,
    Filters,
    InvalidInput,
    SongrecError,
    Suggestion,
    TrackNotFound,
)
from songrec.service import Service
from songrec.service.planner import INFO_PREFIXES
from tests.support.service_env import ServiceOpener, rows_of_genre, track_id, typical

ALICE = 111


def genre_of(s: Suggestion) -> str | None:
    return s.track.genre


def check_parts(s: Suggestion) -> None:
    """The score is the sum of the summed parts, and the reason names the source the parts describe."""
    summed = sum(v for n, v in s.score_parts.items() if not n.startswith(INFO_PREFIXES))
    assert s.score == pytest.approx(summed, abs=1e-4), s
    expected = {
        "content": ("similarity", "close to "),
        "taste": ("taste", "close to "),
        "cold_start": ("popularity", "to start with: "),
        "explore": ("novelty", "picked to try something new: "),
        "similar_users": ("neighbour_vote", "liked by "),
        "session": (None, "a pick for "),
    }[s.kind]
    part, prefix = expected
    assert s.reason.startswith(prefix), s.reason
    if part is not None:
        assert part in s.score_parts, s.score_parts


async def test_dislikes_never_come_back_and_recent_are_not_repeated(
    open_service: ServiceOpener, tmp_path: Path
) -> None:
    async with open_service(tmp_path / "db.sqlite3", explore_rate=0.0) as service:
        await service.like(ALICE, "Song 0")
        first = await service.recommend(ALICE, k=10)
        disliked = {s.track.track_id for s in first[:5]}
        for s in first[:5]:
            await service.dislike(ALICE, suggestion_id=s.id)
        seen = {s.track.track_id for s in first}
        for _ in range(6):
            batch = await service.recommend(ALICE, k=10)
            ids = {s.track.track_id for s in batch}
            assert not ids & disliked, "a disliked track came back"
            assert not ids & seen, "a recently suggested track was repeated"
            assert len(ids) == len(batch)
            seen |= ids
        # With a zero-length memory, recent suggestions may come back, dislikes still never.
    async with open_service(tmp_path / "db.sqlite3", explore_rate=0.0, recent_window_s=0.0) as service:
        for _ in range(3):
            batch = await service.recommend(ALICE, k=10)
            assert not {s.track.track_id for s in batch} & disliked


async def test_seeds_and_their_duplicates_are_never_returned(
    open_service: ServiceOpener, small_engine: Engine, tmp_path: Path
) -> None:
    eng = small_engine
    async with open_service(tmp_path / "db.sqlite3", explore_rate=0.0) as service:
        picks = await service.recommend(ALICE, ["Song 5"], k=30)
        names = {s.track.name for s in picks}
        assert "Song 5" not in names and "Song 5 - 2011 Remaster" not in names
        assert all(s.kind == "content" and s.reason.startswith("close to Song 5") for s in picks)
        # Liking a song hides its other release too.
        await service.like(ALICE, track_id(eng, 6))
        for _ in range(3):
            picks = await service.recommend(ALICE, k=20)
            assert not {"Song 6", "Song 6 (Live)"} & {s.track.name for s in picks}
        keys = [str(eng.keys[eng.row_of(s.track.track_id)]) for s in picks]
        assert len(keys) == len(set(keys)), "two releases of one song in one batch"


async def test_cold_start_is_popular_diverse_and_labelled(
    open_service: ServiceOpener, small_engine: Engine, tmp_path: Path
) -> None:
    eng = small_engine
    async with open_service(tmp_path / "db.sqlite3", explore_rate=0.0) as service:
        picks = await service.recommend(ALICE, k=8)
        assert len(picks) == 8 and all(s.kind == "cold_start" for s in picks)
        assert all("to start with" in s.reason and "learn your taste" in s.reason for s in picks)
        assert {genre_of(s) for s in picks} == {"rock", "pop", "rap", "edm"}, "every genre is offered"
        decades = {s.track.year // 10 for s in picks if s.track.year}
        assert len(decades) >= 5, f"decades should vary, got {decades}"
        median = float(np.median(eng.popularity))
        assert np.mean([s.track.popularity for s in picks]) > median + 20, "cold start favours popular"
        for s in picks:
            check_parts(s)


async def test_cold_start_under_a_popularity_cap_still_answers(
    open_service: ServiceOpener, tmp_path: Path
) -> None:
    """The strata are the most popular tracks: a low cap used to leave a newcomer with nothing."""
    async with open_service(tmp_path / "db.sqlite3", explore_rate=0.0) as service:
        picks = await service.recommend(ALICE, k=5, filters=Filters(max_popularity=30))
        assert len(picks) == 5 and all(s.kind == "cold_start" for s in picks)
        assert all(s.track.popularity is not None and s.track.popularity <= 30 for s in picks)
        assert len({s.track.track_id for s in picks}) == 5


async def test_explore_share_is_honoured_and_labelled(
    open_service: ServiceOpener, small_engine: Engine, tmp_path: Path
) -> None:
    eng = small_engine
    rock = rows_of_genre(eng, "rock")
    async with open_service(tmp_path / "db.sqlite3") as service:
        for row in rock[:4]:
            await service.like(ALICE, track_id(eng, row))
        picks = await service.recommend(ALICE, k=10, filters=Filters(explore_rate=0.3))
        explore = [s for s in picks if s.kind == "explore"]
        assert len(explore) == 3 and picks[-3:] == explore
        liked = np.asarray(rock[:4])
        for s in explore:
            check_parts(s)
            assert s.reason.startswith("picked to try something new: ")
        far = eng.min_distance(np.asarray([eng.row_of(s.track.track_id) for s in explore]), liked)
        near = eng.min_distance(np.asarray([eng.row_of(s.track.track_id) for s in picks[:7]]), liked)
        assert far.min() > near.max(), "explore picks lie past the nearest picks: the edge of the taste"
        # The guild default applies when the call does not say; 0 means no exploration at all.
        await service.update_guild_settings(42, explore_rate=0.0)
        picks = await service.recommend(ALICE, k=10, guild_id=42)
        assert not [s for s in picks if s.kind == "explore"]
        # Never more than the share: 6 x 0.2 = 1.2 is one explore pick in every answer, never two.
        counts = [sum(s.kind == "explore" for s in await service.recommend(ALICE, k=6)) for _ in range(10)]
        assert counts == [1] * 10


async def test_two_liked_clusters_get_suggestions_near_both_not_between(
    open_service: ServiceOpener, small_engine: Engine, tmp_path: Path
) -> None:
    eng = small_engine
    rock, edm = typical(eng, "rock", 5), typical(eng, "edm", 5)
    liked = np.asarray(rock + edm)
    async with open_service(tmp_path / "db.sqlite3", explore_rate=0.0) as service:
        for row in liked:
            await service.like(ALICE, track_id(eng, int(row)))
        picks = await service.recommend(ALICE, k=10)
    assert all(s.kind == "taste" for s in picks)
    genres = [genre_of(s) for s in picks]
    assert sum(g in ("rock", "edm") for g in genres) >= 8, genres
    rows = np.asarray([eng.row_of(s.track.track_id) for s in picks])
    d = eng.pairwise(rows, liked)
    side = d.argmin(axis=1) < len(rock)  # nearest like is a rock one
    assert min(side.sum(), (~side).sum()) >= 3, "both tastes get their share"
    mean = eng.embeddings[liked].mean(axis=0)
    to_mean = ((eng.embeddings[rows] - mean) ** 2).sum(axis=1)
    assert (d.min(axis=1) < to_mean).all(), "a suggestion sits nearer the average of the tastes than any like"
    for s in picks:
        check_parts(s)
        assert ", which you liked: " in s.reason, s.reason
        anchor = s.reason.removeprefix("close to ").split(", which you liked: ")[0]
        assert anchor in {eng.info(int(r)).name for r in liked}, s.reason


async def test_bad_input_gives_clear_errors(open_service: ServiceOpener, tmp_path: Path) -> None:
    async with open_service(tmp_path / "db.sqlite3") as service:
        for k in (0, -3, 51, 10**9, True, 2.5):
            with pytest.raises(InvalidInput, match="between 1 and 50"):
                await service.recommend(ALICE, k=k)  # type: ignore[arg-type]
        with pytest.raises(InvalidInput, match="too long"):
            await service.recommend(ALICE, ["x" * 10_000])
        with pytest.raises(InvalidInput):
            await service.recommend(ALICE, [""])
        with pytest.raises(TrackNotFound):
            await service.recommend(ALICE, ["Zzyzx Qwerty Plinth"])
        with pytest.raises(TrackNotFound):
            await service.recommend(ALICE, ["https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC"])
        with pytest.raises(InvalidInput):
            await service.recommend(ALICE, ["https://open.spotify.com/album/4uLU6hMCjMI75M1A2tKUQC"])
        with pytest.raises(InvalidInput, match="valid user id"):
            await service.recommend(-1)
        with pytest.raises(InvalidInput):
            await service.recommend(ALICE, filters=Filters(explore_rate=1.5))
        with pytest.raises(InvalidInput):
            await service.recommend(ALICE, filters=Filters(min_popularity=80, max_popularity=20))
        with pytest.raises(InvalidInput, match="no longer available"):
            await service.like(ALICE, suggestion_id=987654)
        with pytest.raises(InvalidInput):
            await service.history(ALICE, limit=0)
        with pytest.raises(InvalidInput):
            await service.update_guild_settings(1, explore_rate=3)
        with pytest.raises(InvalidInput, match="Unknown setting"):
            await service.update_guild_settings(1, colour="red")
        assert await service.get_suggestion(10**30) is None
        # An empty taste is not an error: it is a cold start.
        picks = await service.recommend(ALICE, k=3, filters=Filters(explore_rate=0.0))
        assert [s.kind for s in picks] == ["cold_start"] * 3
        try:
            await service.recommend(ALICE, ["Song"])
        except (AmbiguousTrack, TrackNotFound) as error:
            assert "Song" in str(error) or "catalogue" in str(error)
        except SongrecError as error:  # pragma: no cover - any SongrecError is a friendly answer
            assert str(error)


async def test_filters_and_records(open_service: ServiceOpener, tmp_path: Path) -> None:
    async with open_service(tmp_path / "db.sqlite3") as service:
        picks = await service.recommend(
            ALICE, ["Song 1"], k=8, filters=Filters(max_popularity=40), channel_id=7
        )
        assert picks and all((s.track.popularity or 0) <= 40 for s in picks)
        for rank, s in enumerate(picks, 1):
            stored = await service.get_suggestion(s.id)
            assert stored is not None and stored.rank == rank and stored.kind == s.kind
            assert stored.reason == s.reason and stored.score == pytest.approx(s.score)
            assert stored.score_parts == pytest.approx(s.score_parts)
            assert stored.model_version == service.engine.version
            check_parts(s)
        text = await service.why(ALICE, None, 7)
        assert picks[-1].track.name in text and picks[-1].reason in text and "Score" not in text
        detailed = await service.why(ALICE, None, 7, details=True)
        assert detailed.startswith(text) and "Score" in detailed and "pick, model" in detailed


async def _script(service: Service, eng: Engine) -> list[list[tuple[str, str]]]:
    """A fixed script of requests: cold start, seeded, a taste with a dislike and exploration."""
    answers = [await service.recommend(ALICE, k=8)]
    answers.append(await service.recommend(ALICE, ["Song 5"], k=10))
    answers.append(
        await service.recommend(ALICE, ["Song 12", "Song 40"], k=10, filters=Filters(max_popularity=70))
    )
    for row in typical(eng, "rock", 4) + typical(eng, "edm", 3):
        await service.like(ALICE, track_id(eng, row))
    await service.dislike(ALICE, suggestion_id=answers[1][0].id)
    answers.append(await service.recommend(ALICE, k=12, filters=Filters(explore_rate=0.5)))
    answers.append(await service.recommend(ALICE, k=6))
    return [[(s.track.track_id, s.kind) for s in batch] for batch in answers]


async def test_same_seed_same_suggestions_with_the_cap_and_exclusions_kept(
    open_service: ServiceOpener, small_engine: Engine, tmp_path: Path
) -> None:
    """Two services opened with the same ServiceConfig seed answer the same script identically (the
    service's refactors must not change what it suggests); every answer keeps the per-artist cap on
    neighbour picks and never returns a seed, a vote or a recent suggestion."""
    eng = small_engine
    runs = []
    for name in ("a", "b"):
        async with open_service(tmp_path / f"{name}.sqlite3", seed=5) as service:
            runs.append(await _script(service, eng))
    assert runs[0] == runs[1], "same seed, same suggestions"
    async with open_service(tmp_path / "c.sqlite3", seed=6) as service:
        other = await _script(service, eng)
    assert other != runs[0], "the seed steers cold start and exploration"
    liked = {track_id(eng, r) for r in typical(eng, "rock", 4) + typical(eng, "edm", 3)}
    for batch in runs[0]:
        ids = [t for t, _ in batch]
        assert len(set(ids)) == len(ids)
        neighbours = [eng.info(eng.row_of(t)) for t, kind in batch if kind in ("content", "taste")]
        artists = [t.artists[0].casefold() for t in neighbours if t.artists]
        assert all(artists.count(a) <= eng.MAX_PER_ARTIST for a in artists), "per-artist cap"
    assert "Song 5" not in {eng.info(eng.row_of(t)).name for t, _ in runs[0][1]}
    later = [t for batch in runs[0][3:] for t, _ in batch]
    assert not set(later) & liked, "liked tracks are never suggested back"
    assert runs[0][1][0][0] not in later, "a disliked suggestion never comes back"
    assert not {t for t, _ in runs[0][3]} & {t for t, _ in runs[0][4]}, "recent ones are not repeated"
