"""Hundreds of concurrent calls on one Service: nothing lost or doubled, and engine swaps mid-flight."""

from __future__ import annotations

import asyncio
import random
import sqlite3
from pathlib import Path

from songrec.content.engine import Engine
from songrec.domain import SongrecError
from tests.support.service_env import ServiceOpener, build_artifact, track_id

USERS = range(1000, 1060)


async def test_hundreds_of_concurrent_recommends_and_likes_lose_nothing(
    open_service: ServiceOpener, small_engine: Engine, tmp_path: Path
) -> None:
    db = tmp_path / "db.sqlite3"
    eng = small_engine
    rng = random.Random(0)
    async with open_service(db) as service:

        async def one_user(user: int) -> tuple[int, set[str], int]:
            picks = await service.recommend(user, k=3)
            likes = {track_id(eng, rng.randrange(eng.size)) for _ in range(3)}
            results = await asyncio.gather(*(service.like(user, t, source="reaction") for t in likes))
            again = await asyncio.gather(*(service.like(user, t, source="reaction") for t in likes))
            assert all(r.changed for r in results) and not any(r.changed for r in again)
            more = await service.recommend(user, k=2)
            return user, likes, len(picks) + len(more)

        outcomes = await asyncio.gather(*(one_user(u) for u in USERS for _ in range(1)))
        # A second wave: the same users again, all at once, interleaved with bare likes of the last pick.
        second = await asyncio.gather(
            *(service.recommend(u, k=2, channel_id=3) for u in USERS),
            *(service.like(u, "Song 1") for u in USERS),
        )
        assert all(not isinstance(r, BaseException) for r in second)
    with sqlite3.connect(db) as conn:
        for user, likes, suggested in outcomes:
            stored = {
                r[0]
                for r in conn.execute(
                    "SELECT track_id FROM feedback WHERE user_id = ? AND undone_at IS NULL", (user,)
                )
            }
            assert stored == likes | {track_id(eng, eng.resolve("Song 1"))}
            count = conn.execute("SELECT count(*) FROM suggestions WHERE user_id = ?", (user,)).fetchone()[0]
            assert count == suggested + 2
        doubled = conn.execute(
            "SELECT count(*) FROM (SELECT user_id, track_id FROM feedback WHERE undone_at IS NULL"
            " GROUP BY user_id, track_id HAVING count(*) > 1)"
        ).fetchone()[0]
        assert doubled == 0


async def test_engine_hot_swap_under_concurrent_calls_never_errors(
    open_service: ServiceOpener, small_artifact: Path, small_engine: Engine, tmp_path: Path
) -> None:
    other = Engine.load(build_artifact(tmp_path / "other", seed=1, n=200, epochs=5))  # other ids, other size
    same = Engine.load(small_artifact)
    async with open_service(tmp_path / "db.sqlite3") as service:
        versions = {service.engine.version}
        stop = asyncio.Event()

        async def swapper() -> None:
            for target in (other, same, other, small_engine, other, same):
                await asyncio.sleep(0.02)
                await service.swap_engine(target)
                versions.add(service.engine.version)
            stop.set()

        async def client(user: int) -> int:
            calls = 0
            while not stop.is_set():
                picks = await service.recommend(user, k=3)
                if picks:
                    await service.like(user, suggestion_id=picks[0].id)
                    await service.why(user, picks[-1].id)
                    await service.get_suggestion(picks[1].id if len(picks) > 1 else picks[0].id)
                await service.history(user)
                await service.autocomplete("song 1")
                calls += 1
            return calls

        results = await asyncio.gather(
            swapper(), *(client(u) for u in range(2000, 2040)), return_exceptions=True
        )
        errors = [r for r in results if isinstance(r, BaseException)]
        assert errors == [], errors[:3]
        assert len(versions) == 2 and sum(r for r in results[1:] if isinstance(r, int)) >= 40
        # A suggestion made by the old engine is still explained after the swap.
        await service.swap_engine(other)
        assert (await service.history(2000))[0].track.name
        try:
            await service.recommend(2000, ["Song 599"], k=2)  # not in the smaller catalogue
        except SongrecError as error:
            assert "catalogue" in str(error) or "Several songs" in str(error)
        assert await service.reload_engine() == small_engine.version


async def test_the_heap_is_frozen_once_open_and_a_swapped_out_engine_is_still_freed(
    open_service: ServiceOpener, small_artifact: Path, tmp_path: Path
) -> None:
    """Full collections skip what open loaded (gc.freeze), yet an engine swapped out, cycles and all,
    does not stay in memory for the life of the process."""
    import gc
    import weakref

    async with open_service(tmp_path / "db.sqlite3") as service:
        assert gc.get_freeze_count() > 0
        first = Engine.load(small_artifact)
        first.memo["cycle"] = first  # a reference cycle: only the collector can free it
        await service.swap_engine(first)
        await service.recommend(1000, k=3)
        gone = weakref.ref(first)
        del first
        await service.swap_engine(Engine.load(small_artifact))
        gc.collect()
        assert gone() is None
        assert gc.get_freeze_count() > 0


async def test_a_full_ratings_reload_holds_off_full_collections_and_freezes_what_it_built(
    open_service: ServiceOpener, tmp_path: Path
) -> None:
    """While the ratings are read and rebuilt, no full collection walks the half-built maps (the oldest
    generation's threshold is raised); the usual thresholds are back afterwards, and the new maps are
    frozen (gc.get_objects lists only what the collector still walks)."""
    import gc

    async with open_service(tmp_path / "db.sqlite3") as service:
        for user in range(1000, 1040):
            await service.like(user, service.engine.track_id(user % 50))
        ratings = service._ratings  # noqa: SLF001
        during: list[tuple[int, int, int]] = []
        build = ratings.finish_reload

        def spy(*args: object) -> None:
            during.append(gc.get_threshold())
            build(*args)  # type: ignore[arg-type]

        ratings.finish_reload = spy  # type: ignore[method-assign]
        thresholds = gc.get_threshold()
        await service._reload_ratings(full=True)  # noqa: SLF001
        assert during and during[0][2] >= 1_000_000 > thresholds[2]
        assert gc.get_threshold() == thresholds
        walked = {id(o) for o in gc.get_objects()}
        assert id(ratings._by_user) not in walked and id(ratings._by_track) not in walked  # noqa: SLF001
        assert ratings.ratings_of(1000)
