"""Feedback semantics (one live vote, replace, undo, idempotent repeats), the one-transaction vote,
concurrency and input checks: against every backend."""

from __future__ import annotations

import asyncio
import random

import pytest

from songrec.domain import FEEDBACK_SOURCES, InvalidInput, NewSuggestion, NotFound, StoreClosed
from songrec.store import StoreBackend
from tests.store.backends import BackendFactory

ALICE = 222222222222222201
BOB = 222222222222222202


async def test_repeated_identical_vote_is_idempotent(store: StoreBackend) -> None:
    first = await store.add_feedback(ALICE, "track1", 1, "command", guild_id=5, channel_id=6)
    again = await store.add_feedback(ALICE, "track1", 1, "reaction")
    assert again == first
    assert len(await store.all_feedback(include_undone=True)) == 1
    assert await store.feedback_count_since(0) == 1


async def test_opposite_vote_replaces_and_tombstones(store: StoreBackend) -> None:
    like = await store.add_feedback(ALICE, "track1", 1, "command")
    dislike = await store.add_feedback(ALICE, "track1", -1, "button")
    assert dislike.id != like.id and dislike.value == -1 and dislike.live
    live = await store.feedback_for_user(ALICE)
    assert live == [dislike]
    everything = await store.all_feedback(include_undone=True)
    old = next(r for r in everything if r.id == like.id)
    assert old.undone_at is not None and old.replaced_by == dislike.id and not old.live
    assert await store.live_feedback(ALICE, "track1") == dislike
    # Other users are independent.
    bob = await store.add_feedback(BOB, "track1", 1, "command")
    assert await store.feedback_for_user(BOB) == [bob]
    assert await store.feedback_for_user(ALICE) == [dislike]


async def test_undo_by_track_by_suggestion_and_latest(store: StoreBackend) -> None:
    [sug] = await store.record_suggestions(
        [NewSuggestion("track2", 0, "m1", "content", score=0.9, user_id=ALICE, channel_id=7)]
    )
    await store.add_feedback(ALICE, "track1", 1, "command")
    via_sug = await store.add_feedback(ALICE, "track2", -1, "button", suggestion_id=sug.id)
    latest = await store.add_feedback(ALICE, "track3", 1, "reaction")

    undone = await store.undo_feedback(ALICE)  # no target: the latest live vote
    assert undone is not None and undone.id == latest.id and undone.undone_at is not None
    undone = await store.undo_feedback(ALICE, suggestion_id=sug.id)
    assert undone is not None and undone.id == via_sug.id
    undone = await store.undo_feedback(ALICE, track_id="track1")
    assert undone is not None and undone.track_id == "track1"

    assert await store.feedback_for_user(ALICE) == []
    assert await store.undo_feedback(ALICE) is None  # nothing left
    assert await store.undo_feedback(ALICE, track_id="track1") is None  # undo twice is harmless
    assert await store.undo_feedback(ALICE, suggestion_id=999) is None
    assert len(await store.all_feedback(include_undone=True)) == 3
    # After an undo, voting again creates a fresh live row.
    again = await store.add_feedback(ALICE, "track1", 1, "command")
    assert again.live and again.id > latest.id


async def test_feedback_checks_suggestion_link(store: StoreBackend) -> None:
    [sug] = await store.record_suggestions([NewSuggestion("track2", 0, "m1", "explore", user_id=ALICE)])
    with pytest.raises(InvalidInput, match="is for track track2"):
        await store.add_feedback(ALICE, "track9", 1, "button", suggestion_id=sug.id)
    with pytest.raises(NotFound, match="suggestion 12345"):
        await store.add_feedback(ALICE, "track2", 1, "button", suggestion_id=12345)
    assert await store.all_feedback(include_undone=True) == []


async def test_feedback_cursors_and_streaming(store: StoreBackend) -> None:
    for i in range(25):
        await store.add_feedback(ALICE, f"t{i}", 1 if i % 2 else -1, "command")
    mid = (await store.all_feedback())[9].id
    assert await store.feedback_count_since(mid) == 15
    assert await store.feedback_count_since(0, since_ts=0.0) == 25
    assert await store.last_feedback_id() == (await store.all_feedback())[-1].id
    streamed = [r async for r in store.iter_feedback(batch_size=4)]
    assert streamed == await store.all_feedback()
    assert [r.id for r in await store.all_feedback(since_id=mid)] == [r.id for r in streamed[10:]]


async def test_vote_pages_are_the_stream_as_columns(store: StoreBackend) -> None:
    for i in range(11):
        await store.add_feedback(ALICE + i % 3, f"t{i}", 1 if i % 2 else -1, "command")
    await store.add_feedback(ALICE, "t0", 1, "command")  # replaces the dislike of t0
    await store.undo_feedback(ALICE + 1, "t1")
    for include_undone in (False, True):
        pages = [p async for p in store.iter_vote_pages(include_undone=include_undone, batch_size=4)]
        assert [len(p) for p in pages][:-1] == [4] * (len(pages) - 1)
        got = [
            (i, u, t, val, gone)
            for p in pages
            for i, u, t, val, gone in zip(p.ids, p.user_ids, p.track_ids, p.values, p.undone, strict=True)
        ]
        want = [
            (r.id, r.user_id, r.track_id, r.value, not r.live)
            async for r in store.iter_feedback(include_undone=include_undone)
        ]
        assert got == want
        assert any(gone for *_, gone in got) == include_undone
    last = (await store.all_feedback())[-3].id
    tail = [p async for p in store.iter_vote_pages(last)]
    assert [i for p in tail for i in p.ids] == [r.id for r in await store.all_feedback(since_id=last)]
    assert [p async for p in store.iter_vote_pages(10**9)] == []


async def test_500_concurrent_writers_lose_and_double_nothing(store: StoreBackend) -> None:
    users = [300000000000000000 + u for u in range(50)]
    rng = random.Random(7)
    tasks = [(u, f"track{t}", rng.choice((1, -1))) for u in users for t in range(10)]  # 500 distinct pairs
    rng.shuffle(tasks)

    async def vote(user: int, track: str, value: int) -> int:
        record = await store.add_feedback(user, track, value, "reaction")
        assert (record.user_id, record.track_id, record.value) == (user, track, value)
        return record.id

    ids = await asyncio.gather(*(vote(*t) for t in tasks))
    assert len(set(ids)) == 500
    # Repeat all of them concurrently (idempotent) and flip a third (replacements), also concurrently.
    flips = tasks[::3]
    results = await asyncio.gather(
        *(vote(*t) for t in tasks), *(store.add_feedback(u, tr, -v, "button") for u, tr, v in flips)
    )
    live = await store.all_feedback()
    assert len(live) == 500
    assert len({(r.user_id, r.track_id) for r in live}) == 500
    expected = {(u, tr): v for u, tr, v in tasks}
    expected.update({(u, tr): -v for u, tr, v in flips})
    assert {(r.user_id, r.track_id): r.value for r in live} == expected
    assert len(await store.all_feedback(include_undone=True)) == 500 + len(flips)
    assert len(results) == 500 + len(flips)
    # Concurrent reads while writing see whole transactions only.
    per_user = await asyncio.gather(*(store.feedback_for_user(u) for u in users))
    assert sum(len(p) for p in per_user) == 500
    assert store.stats.write_batches < store.stats.write_jobs  # group commit actually batched
    assert await store.integrity_check() == []


async def test_bad_job_in_a_batch_fails_alone(store: StoreBackend) -> None:
    good = [store.add_feedback(ALICE, f"t{i}", 1, "command") for i in range(20)]
    bad = [store.add_feedback(ALICE, "t0", 1, "button", suggestion_id=424242) for _ in range(5)]
    results = await asyncio.gather(*good, *bad, return_exceptions=True)
    assert all(not isinstance(r, BaseException) for r in results[:20])
    assert all(isinstance(r, NotFound) for r in results[20:])
    assert len(await store.feedback_for_user(ALICE)) == 20


async def test_cancelled_caller_does_not_break_the_connection(store: StoreBackend) -> None:
    tasks = [asyncio.create_task(store.add_feedback(ALICE, f"t{i}", 1, "command")) for i in range(50)]
    readers = [asyncio.create_task(store.export_user(ALICE)) for _ in range(10)]
    await asyncio.sleep(0)
    for t in tasks[::2] + readers[::2]:
        t.cancel()
    await asyncio.gather(*tasks, *readers, return_exceptions=True)
    after = await store.add_feedback(ALICE, "later", 1, "command")
    assert after.live
    live = {r.track_id for r in await store.feedback_for_user(ALICE)}
    assert {f"t{i}" for i in range(1, 50, 2)} | {"later"} <= live  # every uncancelled write landed
    assert await store.integrity_check() == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"value": 2}, r"must be \+1 \(like\) or -1 \(dislike\)"),
        ({"value": 0}, r"must be \+1"),
        ({"value": True}, r"must be \+1"),
        ({"value": "1"}, r"must be \+1"),
        ({"source": "carrier_pigeon"}, "source must be one of button, chat, cli, command, reaction, session"),
        ({"user_id": -5}, "user_id must be a Discord id"),
        ({"user_id": "bob"}, "user_id must be a Discord id"),
        ({"track_id": ""}, "track_id must be a non-empty id"),
        ({"track_id": "two words"}, "track_id must be a non-empty id"),
        ({"guild_id": 0}, "guild_id must be a Discord id"),
        ({"suggestion_id": "x"}, "suggestion_id must be a positive integer"),
    ],
)
async def test_bad_feedback_input_is_a_clear_value_error(
    store: StoreBackend, kwargs: dict, message: str
) -> None:
    args = {"user_id": ALICE, "track_id": "track1", "value": 1, "source": "command", **kwargs}
    with pytest.raises(ValueError, match=message):
        await store.add_feedback(**args)
    assert await store.all_feedback(include_undone=True) == []


async def test_string_snowflakes_are_accepted(store: StoreBackend) -> None:
    record = await store.add_feedback(str(ALICE), "track1", -1, "session")
    assert record.user_id == ALICE


async def test_closed_store_says_so(store_backend: BackendFactory) -> None:
    store = await store_backend.open()
    await store.close()
    await store.close()  # twice is fine
    with pytest.raises(StoreClosed, match="closed"):
        await store.add_feedback(ALICE, "t", 1, "command")
    with pytest.raises(StoreClosed):
        await store.feedback_for_user(ALICE)


async def test_numpy_numbers_from_model_code_are_accepted(store: StoreBackend) -> None:
    np = pytest.importorskip("numpy")
    record = await store.add_feedback(np.int64(ALICE), "track1", np.int64(-1), "session")
    assert (record.user_id, record.value) == (ALICE, -1) and type(record.value) is int
    [sug] = await store.record_suggestions(
        [NewSuggestion("t2", np.int64(3), "m1", "taste", score=np.float32(0.25), user_id=ALICE)]
    )
    assert sug.rank == 3 and sug.score == 0.25
    with pytest.raises(InvalidInput, match="must be a finite number"):
        await store.record_suggestions(
            [NewSuggestion("t3", 0, "m1", "taste", score=np.float32("nan"), user_id=ALICE)]
        )


async def test_vote_says_whether_it_changed_anything_in_one_transaction(store: StoreBackend) -> None:
    stats = store.stats
    before = stats.transactions
    first, changed = await store.vote(ALICE, 1, "reaction", track_id="track1", guild_id=5, channel_id=6)
    assert changed and first.live and (first.value, first.source, first.guild_id) == (1, "reaction", 5)
    assert stats.transactions == before + 1
    again, changed = await store.vote(ALICE, 1, "button", track_id="track1")
    assert not changed and again == first  # the same vote again: nothing written, the old record back
    flipped, changed = await store.vote(ALICE, -1, "command", track_id="track1")
    assert changed and flipped.id != first.id and flipped.value == -1
    assert stats.transactions == before + 3  # one per vote, whatever it found
    await store.undo_feedback(ALICE, track_id="track1")
    revived, changed = await store.vote(ALICE, -1, "command", track_id="track1")
    assert changed and revived.id > flipped.id  # after an undo there is no live vote: a new one
    assert [r.id for r in await store.feedback_for_user(ALICE)] == [revived.id]


async def test_vote_on_a_suggestion_takes_its_track(store: StoreBackend) -> None:
    [sug] = await store.record_suggestions([NewSuggestion("track7", 0, "m1", "taste", user_id=ALICE)])
    record, changed = await store.vote(BOB, 1, "reaction", suggestion_id=sug.id)
    assert changed and (record.track_id, record.suggestion_id, record.user_id) == ("track7", sug.id, BOB)
    same, changed = await store.vote(BOB, 1, "reaction", track_id="track7", suggestion_id=sug.id)
    assert not changed and same == record
    with pytest.raises(InvalidInput, match="is for track track7"):
        await store.vote(BOB, 1, "reaction", track_id="track8", suggestion_id=sug.id)
    with pytest.raises(NotFound, match="suggestion 424242"):
        await store.vote(BOB, 1, "reaction", suggestion_id=424242)
    with pytest.raises(InvalidInput, match="needs a track_id or a suggestion_id"):
        await store.vote(BOB, 1, "reaction")
    assert len(await store.all_feedback(include_undone=True)) == 1


async def test_every_service_feedback_source_is_stored_as_is(store: StoreBackend) -> None:
    for i, source in enumerate(sorted(FEEDBACK_SOURCES)):
        await store.add_feedback(ALICE, f"t{i}", 1, source)
    stored = sorted(r.source for r in await store.feedback_for_user(ALICE))
    assert stored == sorted(FEEDBACK_SOURCES) and {"chat", "cli"} <= set(stored)


async def test_voted_in_guild_names_only_live_voters_there(store: StoreBackend) -> None:
    carol = 222222222222222203
    await store.add_feedback(ALICE, "track1", 1, "command", guild_id=5, channel_id=6)
    await store.add_feedback(BOB, "track1", 1, "command", guild_id=7, channel_id=8)  # another server
    await store.add_feedback(carol, "track2", -1, "command", guild_id=5, channel_id=6)
    assert await store.voted_in_guild(5, [ALICE, BOB, carol]) == [ALICE, carol]
    assert await store.voted_in_guild(5, [BOB]) == []
    assert await store.voted_in_guild(5, []) == []
    await store.undo_feedback(carol, track_id="track2")
    assert await store.voted_in_guild(5, [ALICE, carol]) == [ALICE], "an undone vote does not count"
    with pytest.raises(InvalidInput):
        await store.voted_in_guild(-1, [ALICE])
