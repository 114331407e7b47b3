"""The trained ranker inside the real service: its parts are scored and stored, the reason shows the
taste model, cold starts stay content-only, and hot swaps under concurrent requests never error."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

from songrec.content.artifacts import ArtifactStore
from songrec.domain import Filters
from songrec.models.ranker import RANKER_KIND, RankerWatcher, load_ranker
from tests.support import ranker_env
from tests.support.service_env import ServiceOpener, track_id

USER = ranker_env.FIRST_USER  # has planted votes in the trained database


async def test_ranker_parts_are_summed_stored_and_explained(
    open_service: ServiceOpener, trained_ranker: ranker_env.Trained, tmp_path: Path
) -> None:
    db, root = ranker_env.trained_copy(trained_ranker, tmp_path)
    async with open_service(db) as service:
        watcher = RankerWatcher(service, root)
        assert await watcher.check()
        assert service.ranker is not None and service.ranker.version == watcher.loaded[0]
        picks = await service.recommend(USER, k=6, filters=Filters(explore_rate=0.34))
        assert picks
        for pick in picks:
            assert "ranker_like" in pick.score_parts, pick
            prob = pick.score_parts["info_like_prob"]
            assert 0.0 <= prob <= 1.0
            summed = sum(v for n, v in pick.score_parts.items() if not n.startswith(("info_", "n_")))
            assert abs(summed - pick.score) < 1e-4
            assert f"taste model rates it {prob:.0%}" in pick.reason
            assert service.ranker.version in pick.model_version
        # stored with its parts: /why reads them back
        again = await service.get_suggestion(picks[0].id)
        assert again is not None and again.score_parts == picks[0].score_parts
        status = await service.status()
        assert status["ranker_version"] == service.ranker.version
        assert status["ranker_metrics"]["val_auc"] > 0.9


async def test_explore_picks_pass_the_classifier(
    open_service: ServiceOpener, trained_ranker: ranker_env.Trained, tmp_path: Path
) -> None:
    db, root = ranker_env.trained_copy(trained_ranker, tmp_path)
    async with open_service(db) as service:
        eng = service.engine
        # Explore walks the edge of what it starts from: from a song of a genre this listener dislikes
        # (a "songs like X" that asked to explore), the edge is songs their taste model rates low.
        seed = track_id(eng, int(ranker_env.rows_for(eng, ranker_env.disliked_genres(USER), 1)[0]))
        unranked = await service.recommend(USER, [seed], k=5, filters=Filters(explore_rate=1.0))
        edge = [eng.row_of(p.track.track_id) for p in unranked if p.kind == "explore"]
        assert edge, "without a ranker the edge of that song is offered"
        ranker = load_ranker(root, eng, service.user_ratings)
        assert ranker.like_probability(USER, edge).max() < 0.5  # the genres this user dislikes
        await RankerWatcher(service, root).check()
        for _ in range(3):  # with it: fewer surprises rather than songs it expects them to hate
            picks = await service.recommend(USER, [seed], k=5, filters=Filters(explore_rate=1.0))
            probs = [p.score_parts["info_like_prob"] for p in picks if p.kind == "explore"]
            assert all(prob >= 0.5 for prob in probs), probs
        picks = await service.recommend(USER, k=5, filters=Filters(explore_rate=1.0))
        probs = [p.score_parts["info_like_prob"] for p in picks if p.kind == "explore"]
        assert probs and all(prob >= 0.5 for prob in probs), "the edge of their own taste passes"


async def test_cold_start_stays_content_only(
    open_service: ServiceOpener, trained_ranker: ranker_env.Trained, tmp_path: Path
) -> None:
    db, root = ranker_env.trained_copy(trained_ranker, tmp_path)
    async with open_service(db) as service:
        await RankerWatcher(service, root).check()
        picks = await service.recommend(987_654_321, k=4)
        assert picks and all(p.kind == "cold_start" for p in picks)
        assert all(not any(n.startswith(("ranker", "info_")) for n in p.score_parts) for p in picks)
        assert all("taste model" not in p.reason for p in picks)


async def test_hot_swap_under_concurrent_recommends_never_errors(
    open_service: ServiceOpener, trained_ranker: ranker_env.Trained, tmp_path: Path
) -> None:
    db, root = ranker_env.trained_copy(trained_ranker, tmp_path)
    async with open_service(db) as service:
        eng = service.engine
        first = load_ranker(root, eng, service.user_ratings)
        second = load_ranker(root, eng, service.user_ratings)
        second.version = "other"
        choices = [first, second, None]
        stop = asyncio.Event()
        swaps = 0

        async def swapper() -> None:
            nonlocal swaps
            rng = random.Random(0)
            while not stop.is_set():
                service.swap_ranker(rng.choice(choices))
                swaps += 1
                await asyncio.sleep(0.001)

        async def client(user: int) -> int:
            served = 0
            for _ in range(3):
                served += len(await service.recommend(user, k=4))
            return served

        task = asyncio.create_task(swapper())
        counts = await asyncio.gather(*(client(ranker_env.FIRST_USER + i) for i in range(12)))
        stop.set()
        await task
        assert all(c > 0 for c in counts) and swaps > 3


async def test_watcher_swaps_in_a_promoted_version_and_keeps_the_old_on_a_broken_one(
    open_service: ServiceOpener, trained_ranker: ranker_env.Trained, tmp_path: Path
) -> None:
    db, root = ranker_env.trained_copy(trained_ranker, tmp_path)
    store = ArtifactStore(root, RANKER_KIND)
    good = store.current_version()
    assert good is not None
    async with open_service(db) as service:
        watcher = RankerWatcher(service, root, poll_s=0.05)
        watcher.start()
        try:
            for _ in range(200):
                if service.ranker is not None:
                    break
                await asyncio.sleep(0.05)
            assert service.ranker is not None and service.ranker.version == good
            # a new version is promoted (a copy, as a training run would write): swapped in by the poll
            copy = "20990101T000000000000Z"
            import shutil

            shutil.copytree(store.path(good), store.path(copy))
            store.promote(copy)
            for _ in range(200):
                if service.ranker.version == copy:
                    break
                await asyncio.sleep(0.05)
            assert service.ranker.version == copy
            # a damaged model file: the load fails, the served ranker stays
            broken = "20990102T000000000000Z"
            shutil.copytree(store.path(good), store.path(broken))
            (store.path(broken) / "maps.json").write_text("{")
            (root / RANKER_KIND / "CURRENT").write_text(broken + "\n")
            for _ in range(200):
                if watcher.failures:
                    break
                await asyncio.sleep(0.05)
            assert watcher.failures == 1
            assert service.ranker.version == copy
            assert await service.recommend(USER, k=3)
        finally:
            await watcher.stop()
