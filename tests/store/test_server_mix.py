"""The server's monthly mix (one per guild and month, claimed before posting) and the votes /charts reads,
against every backend."""

from __future__ import annotations

import asyncio

import pytest

from songrec.domain import InvalidInput, NotFound
from songrec.store import StoreBackend
from tests.store.backends import BackendFactory, Clock

ALICE, BOB = 666666666666666601, 666666666666666602
GUILD, OTHER_GUILD, CHANNEL, MESSAGE = 777777777777777701, 777777777777777709, 777777777777777702, 8888


def claim_args(**overrides: object) -> dict[str, object]:
    args: dict[str, object] = {
        "title": "The sounds of Test - November 2026",
        "summary": "2 listeners, 3 likes.",
        "listeners": 2,
        "likes": 3,
        "top_artists": ["Adele", "Björk"],
        "tracks": [("trackA", 2), ("trackB", 0)],
        "channel_id": CHANNEL,
    }
    return {**args, **overrides}


async def test_the_mix_switch_and_channel_are_guild_settings(store: StoreBackend) -> None:
    default = await store.get_guild_settings(GUILD)
    assert (default.mix_enabled, default.mix_channel_id) == (False, None)
    assert await store.mix_guilds() == []
    on = await store.set_guild_settings(GUILD, mix_enabled=True, mix_channel_id=CHANNEL)
    assert (on.mix_enabled, on.mix_channel_id, on.explore_rate) == (True, CHANNEL, default.explore_rate)
    await store.set_guild_settings(OTHER_GUILD, command_channel_id=CHANNEL)  # a row, mix still off
    assert await store.mix_guilds() == [on]
    off = await store.set_guild_settings(GUILD, mix_enabled=False)
    assert off.mix_channel_id == CHANNEL and await store.mix_guilds() == []
    with pytest.raises(InvalidInput):
        await store.set_guild_settings(GUILD, mix_enabled="yes")  # type: ignore[arg-type]


async def test_guild_feedback_is_the_live_votes_given_in_that_guild_in_the_span(
    store: StoreBackend, clock: Clock
) -> None:
    start = clock.now
    await store.vote(ALICE, 1, "command", track_id="t1", guild_id=GUILD)
    clock.now += 100
    await store.vote(BOB, 1, "command", track_id="t1", guild_id=GUILD)
    await store.vote(BOB, -1, "command", track_id="t2", guild_id=GUILD)
    await store.vote(ALICE, 1, "command", track_id="t3", guild_id=OTHER_GUILD)
    await store.vote(ALICE, 1, "command", track_id="t4")  # a direct message: no guild
    clock.now += 100
    await store.vote(ALICE, 1, "command", track_id="t5", guild_id=GUILD)
    await store.undo_feedback(ALICE, track_id="t5")  # undone: not counted
    every = await store.guild_feedback(GUILD)
    assert [(f.user_id, f.track_id, f.value) for f in every] == [
        (ALICE, "t1", 1),
        (BOB, "t1", 1),
        (BOB, "t2", -1),
    ]
    assert [f.user_id for f in await store.guild_feedback(GUILD, since=start + 50)] == [BOB, BOB]
    assert [f.user_id for f in await store.guild_feedback(GUILD, until=start + 50)] == [ALICE]
    assert await store.guild_feedback(GUILD, since=start + 150) == []


async def test_one_caller_claims_a_months_mix_and_the_rest_get_it_back(store: StoreBackend) -> None:
    assert await store.get_server_mix(GUILD, "2026-11") is None
    mix, claimed = await store.claim_server_mix(GUILD, "2026-11", **claim_args())
    assert claimed and mix.tracks == (("trackA", 2), ("trackB", 0)) and mix.top_artists == ("Adele", "Björk")
    assert (mix.channel_id, mix.message_id, mix.posted_at) == (CHANNEL, None, None)
    again, claimed_again = await store.claim_server_mix(
        GUILD, "2026-11", **claim_args(tracks=[("other", 9)], title="different")
    )
    assert not claimed_again and again == mix, "the stored mix wins; the new content is dropped"
    other_month, claimed_other = await store.claim_server_mix(GUILD, "2026-12", **claim_args())
    assert claimed_other and other_month.id != mix.id
    posted = await store.finish_server_mix(GUILD, "2026-11", CHANNEL, MESSAGE)
    assert posted.message_id == MESSAGE and posted.posted_at is not None
    assert await store.get_server_mix(GUILD, "2026-11") == posted
    assert not await store.release_server_mix(GUILD, "2026-11"), "a posted mix stays posted"
    with pytest.raises(NotFound):
        await store.finish_server_mix(GUILD, "2027-01", CHANNEL, MESSAGE)
    for bad in ("2026-13", "November", 202611):
        with pytest.raises(InvalidInput):
            await store.get_server_mix(GUILD, bad)  # type: ignore[arg-type]


async def test_concurrent_claims_have_exactly_one_winner(store_backend: BackendFactory) -> None:
    async with await store_backend.open() as one, await store_backend.open() as two:
        results = await asyncio.gather(
            *(s.claim_server_mix(GUILD, "2026-11", **claim_args()) for s in (one, two) for _ in range(5))
        )
    assert sum(claimed for _, claimed in results) == 1
    assert len({mix.id for mix, _ in results}) == 1


async def test_an_unposted_claim_is_taken_over_once_released_or_stale(
    store: StoreBackend, clock: Clock
) -> None:
    first, _ = await store.claim_server_mix(GUILD, "2026-11", **claim_args())
    _, claimed = await store.claim_server_mix(GUILD, "2026-11", **claim_args(), stale_after_s=600)
    assert not claimed, "a fresh claim is someone posting it right now"
    assert await store.release_server_mix(GUILD, "2026-11")
    retaken, claimed = await store.claim_server_mix(GUILD, "2026-11", **claim_args(tracks=[("x", 1)]))
    assert claimed and retaken.tracks == first.tracks, "the stored songs are kept"
    clock.now += 601
    stale, claimed = await store.claim_server_mix(GUILD, "2026-11", **claim_args(), stale_after_s=600)
    assert claimed and stale.id == first.id and stale.claimed_at == clock.now


async def test_the_exported_playlist_is_remembered(store: StoreBackend) -> None:
    await store.claim_server_mix(GUILD, "2026-11", **claim_args())
    url = "https://open.spotify.com/playlist/37i9dQZF1DXcBWIGoYBM5M"
    assert (await store.set_server_mix_playlist(GUILD, "2026-11", url)).playlist_url == url
    assert (await store.get_server_mix(GUILD, "2026-11")).playlist_url == url  # type: ignore[union-attr]
    with pytest.raises(InvalidInput):
        await store.set_server_mix_playlist(GUILD, "2026-11", "javascript:alert(1)")
    with pytest.raises(NotFound):
        await store.set_server_mix_playlist(GUILD, "2026-10", url)
