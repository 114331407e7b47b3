"""Explore that fits (issue 15), on the real service and SQLite: explore picks come from the edge of the
listener's own taste, never crowd a "songs like X" answer unless asked, never exceed the share, follow the
listener's own share over the server's, and their reasons name the genre the artist is known for."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from songrec.content.engine import Engine
from songrec.content.genres import artist_majority_genres
from songrec.domain import Filters
from songrec.service.explore_share import explore_count
from songrec.service.taste import EDGE_NEIGHBOURS
from tests.support.service_env import ServiceOpener, rows_of_genre, track_id, typical

ALICE, BOB = 4101, 4102
GUILD = 4242


def _rows(eng: Engine, picks: list) -> list[int]:
    return [eng.row_of(s.track.track_id) for s in picks]


async def test_explore_picks_come_from_the_edge_of_the_listeners_taste(
    open_service: ServiceOpener, small_engine: Engine, tmp_path: Path
) -> None:
    eng = small_engine
    liked = typical(eng, "rock", 6)
    async with open_service(tmp_path / "db.sqlite3") as service:
        for row in liked:
            await service.like(ALICE, track_id(eng, row))
        for _ in range(3):
            picks = await service.recommend(ALICE, k=10, filters=Filters(explore_rate=0.3))
            explore = [s for s in picks if s.kind == "explore"]
            assert len(explore) == 3 and picks[-3:] == explore
            # Near what they like: each is among the EDGE_NEIGHBOURS nearest songs of one of their likes.
            hood = set()
            for hit in eng.index.exact(eng.embeddings[liked], EDGE_NEIGHBOURS):
                hood.update(int(r) for r in hit.rows)
            assert set(_rows(eng, explore)) <= hood, "an explore pick from outside the taste's neighbourhood"
            # ...in a direction they have not rated yet: past the nearest picks, one song per artist.
            far = eng.min_distance(np.asarray(_rows(eng, explore)), np.asarray(liked))
            near = eng.min_distance(np.asarray(_rows(eng, picks[:7])), np.asarray(liked))
            assert far.min() > np.median(near)
            assert len({s.track.artists[0] for s in explore}) == 3
            for s in explore:
                assert s.track.genre == "rock", "the planted catalogue's edge of a rock taste is rock"
                assert {"novelty", "genre_fit", "popularity", "diversity", "shuffle"} <= set(s.score_parts)
                assert s.score_parts["novelty"] > 0 and s.score_parts["genre_fit"] > 0
                assert s.reason.startswith("picked to try something new: ") and "rock" in s.reason


async def test_a_songs_like_x_answer_never_explores_unless_asked(
    open_service: ServiceOpener, small_engine: Engine, tmp_path: Path
) -> None:
    eng = small_engine
    async with open_service(tmp_path / "db.sqlite3", explore_rate=0.5) as service:
        await service.update_guild_settings(GUILD, explore_rate=0.5)
        await service.set_explore_share(ALICE, 0.5)
        seed = track_id(eng, rows_of_genre(eng, "pop")[0])
        picks = await service.recommend(ALICE, [seed], k=10, guild_id=GUILD)
        assert len(picks) == 10 and {s.kind for s in picks} == {"content"}
        more = await service.more_like(ALICE, picks[0].id, k=6)
        assert more and {s.kind for s in more} == {"content"}
        asked = await service.recommend(ALICE, [seed], k=10, filters=Filters(explore_rate=0.3))
        explore = [s for s in asked if s.kind == "explore"]
        assert len(explore) == 3, "asked for: the edge of the seed"
        assert all(s.track.genre == "pop" for s in explore)


async def test_an_answer_never_holds_more_explore_picks_than_the_share(
    open_service: ServiceOpener, small_engine: Engine, tmp_path: Path
) -> None:
    assert [explore_count(k, 0.2) for k in range(1, 11)] == [0, 0, 0, 0, 1, 1, 1, 1, 1, 2]
    assert explore_count(10, 0.3) == 3 and explore_count(7, 0.5) == 3 and explore_count(4, 1.0) == 4
    eng = small_engine
    async with open_service(tmp_path / "db.sqlite3") as service:
        for row in typical(eng, "edm", 5):
            await service.like(ALICE, track_id(eng, row))
        for k in (3, 4, 5, 9, 10):
            picks = await service.recommend(ALICE, k=k)  # the default share, 0.2
            assert sum(s.kind == "explore" for s in picks) == k // 5, k


async def test_a_listeners_own_share_overrides_the_servers_for_them_only(
    open_service: ServiceOpener, small_engine: Engine, tmp_path: Path
) -> None:
    eng = small_engine
    async with open_service(tmp_path / "db.sqlite3") as service:
        for user in (ALICE, BOB):
            for row in typical(eng, "rap", 5):
                await service.like(user, track_id(eng, row))
        await service.update_guild_settings(GUILD, explore_rate=0.0)

        async def explored(user: int) -> int:
            return sum(s.kind == "explore" for s in await service.recommend(user, k=10, guild_id=GUILD))

        assert await explored(ALICE) == 0
        share = await service.set_explore_share(ALICE, 0.5, guild_id=GUILD)
        assert (share.rate, share.source) == (0.5, "yours")
        assert await explored(ALICE) == 5
        assert await explored(BOB) == 0, "one listener's share is nobody else's"
        picks = await service.recommend(ALICE, k=10, guild_id=GUILD, filters=Filters(explore_rate=0.1))
        assert sum(s.kind == "explore" for s in picks) == 1, "the call's own share comes first"
        await service.set_explore_share(ALICE, None)
        assert await explored(ALICE) == 0, "back to the server's"


async def test_a_share_chosen_in_another_process_is_seen(
    open_service: ServiceOpener, small_engine: Engine, tmp_path: Path
) -> None:
    """The bot and `songrec chat` share one database: a choice made in one reaches the other."""
    db = tmp_path / "db.sqlite3"
    async with open_service(db, guild_settings_ttl_s=0.0) as bot, open_service(db) as chat:
        assert (await bot.explore_share(ALICE)).source == "default"
        await chat.set_explore_share(ALICE, 0.4)
        assert (await bot.explore_share(ALICE)).rate == pytest.approx(0.4)


def test_a_reason_names_the_genre_the_artist_is_known_for() -> None:
    """Maroon 5's "Memories" sits in more latin playlists than pop ones; Maroon 5 is a pop band."""
    artists = np.asarray(["maroon 5"] * 4 + ["daddy yankee", "tie", "tie", "", "solo"], dtype=object)
    genres = np.asarray(["latin", "pop", "pop", "", "latin", "pop", "rock", "edm", "jazz"], dtype=object)
    labels = artist_majority_genres(list(artists), genres).tolist()
    assert labels[:4] == ["pop"] * 4, "the artist's usual genre, also where the track has no label"
    assert labels[4] == "latin", "one labelled track: its own label"
    assert labels[5:7] == ["pop", "rock"], "no clear majority: each keeps its own"
    assert labels[7:] == ["edm", "jazz"], "no artist, or a single track: its own label"
    assert artist_majority_genres([], np.asarray([], dtype=object)).tolist() == []


def test_the_engine_labels_reasons_by_the_artist(small_engine: Engine) -> None:
    """Engine.reason_genre against a plain recount over the catalogue, artist by artist."""
    eng = small_engine
    catalog = eng.catalog
    firsts = [str(a[0]).casefold() if len(a) else "" for a in catalog["artists"]]
    own = ["" if not isinstance(g, str) else g for g in catalog["genre"].tolist()]
    counts: dict[str, Counter[str]] = {}
    for artist, genre in zip(firsts, own, strict=True):
        if artist and genre:
            counts.setdefault(artist, Counter())[genre] += 1
    changed = 0
    for row, (artist, genre) in enumerate(zip(firsts, own, strict=True)):
        ranked = counts.get(artist, Counter()).most_common(2) if artist else []
        clear = ranked and ranked[0][1] >= 2 and (len(ranked) == 1 or ranked[0][1] > ranked[1][1])
        expected = ranked[0][0] if clear else genre
        assert eng.reason_genre[row] == expected, (row, artist, genre, ranked)
        changed += expected != genre
    assert changed, "the planted catalogue has artists across genres: some labels move to the artist's"
