"""The Spotify metadata cache, against every backend."""

from __future__ import annotations

import pytest

from songrec.domain import InvalidInput
from songrec.store import StoreBackend
from tests.store.backends import Clock

ALICE = 666666666666666601
BOB = 666666666666666602
GUILD, CHANNEL, VOICE = 777777777777777701, 777777777777777702, 777777777777777703


async def test_spotify_cache(store: StoreBackend, clock: Clock) -> None:
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
