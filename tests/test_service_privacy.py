"""/privacy on the real service: opting out takes a listener out of listeners-like-you at once (and, for
"off", out of their own suggestions' learning), survives a restart, and opting back in restores it."""

from __future__ import annotations

from pathlib import Path

import pytest

from songrec.content.engine import Engine
from songrec.domain import InvalidInput
from songrec.service.similar_users import RatingsCache
from tests.support.service_env import ServiceOpener, rows_of_genre, track_id

ALICE, BOB, CAROL = 101, 102, 103


def test_the_ratings_cache_hides_opted_out_listeners() -> None:
    cache = RatingsCache()
    for user in (1, 2, 3):
        for i in range(4):
            cache.set(user, f"t{i}", 1)
    assert [n.user_id for n in cache.neighbours(1, min_overlap=3, min_correlation=0.3, limit=9)] == [2, 3]
    cache.set_privacy(2, "private")
    assert [n.user_id for n in cache.neighbours(1, min_overlap=3, min_correlation=0.3, limit=9)] == [3]
    assert [n.user_id for n in cache.neighbours(2, min_overlap=3, min_correlation=0.3, limit=9)] == [1, 3]
    assert cache.ratings_of(2) == {f"t{i}": 1 for i in range(4)}, "private votes still steer their own"
    cache.set_privacy(3, "off")
    assert cache.neighbours(3, min_overlap=3, min_correlation=0.3, limit=9) == []
    assert cache.ratings_of(3) == {}, "off: no model folds them in"
    cache.replace_privacy({})
    assert [n.user_id for n in cache.neighbours(1, min_overlap=3, min_correlation=0.3, limit=9)] == [2, 3]


async def test_opting_out_leaves_listeners_like_you_at_once_and_after_a_restart(
    open_service: ServiceOpener, small_engine: Engine, tmp_path: Path
) -> None:
    eng = small_engine
    rock = rows_of_genre(eng, "rock")
    db = tmp_path / "db.sqlite3"
    async with open_service(db) as service:
        for user in (ALICE, BOB, CAROL):
            for row in rock[:5]:
                await service.like(user, track_id(eng, row))
        assert [u for u, _ in await service.similar_users(ALICE)] == [BOB, CAROL]
        report = await service.set_privacy(BOB, "private")
        assert report.choice == "private" and report.stored["likes"] == 5
        assert [u for u, _ in await service.similar_users(ALICE)] == [CAROL]
        assert [u for u, _ in await service.similar_users(BOB)] == [ALICE, CAROL], "still his own"
        await service.set_privacy(CAROL, "off")
        assert await service.similar_users(ALICE) == []
        assert await service.similar_users(CAROL) == []
        picks = await service.recommend(CAROL, k=5)
        assert all(p.kind not in ("taste", "similar_users") for p in picks), "off: her votes steer nothing"
    async with open_service(db) as service:  # the choice is stored, not only remembered
        assert (await service.privacy(BOB)).choice == "private"
        assert await service.similar_users(ALICE) == []
        await service.set_privacy(BOB, "shared")
        await service.set_privacy(CAROL, "shared")
        assert [u for u, _ in await service.similar_users(ALICE)] == [BOB, CAROL]
        assert any(p.kind == "taste" for p in await service.recommend(CAROL, k=5))
        with pytest.raises(InvalidInput, match="Choose shared"):
            await service.set_privacy(BOB, "everyone")
