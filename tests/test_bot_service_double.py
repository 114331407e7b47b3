"""The ServiceDouble's own test knobs, which the bot tests lean on: `calls` records every call,
`failures` makes a method raise, `delays` slows it down, and the default catalogue has the hostile
names the bot must escape. Whether the double *behaves* like the real Service (and has the Protocol's
methods) is checked by tests/test_service_contract.py, which runs one suite against both."""

from __future__ import annotations

import asyncio
import time

import pytest

from songrec.domain import ServiceUnavailable
from tests.support.service_double import HOSTILE_NAME, HUGE_NAME, ServiceDouble


async def test_calls_are_recorded_in_order_with_their_arguments() -> None:
    double = ServiceDouble()
    picks = await double.recommend(7, ["Thunder Road"], k=2, channel_id=9)
    await double.like(7, suggestion_id=picks[0].id, source="button")
    assert [name for name, _ in double.calls] == ["recommend", "like"]
    assert double.calls_to("recommend") == [
        {"user_id": 7, "seeds": ["Thunder Road"], "k": 2, "filters": None, "channel_id": 9, "artist": None}
    ]
    assert double.calls_to("like")[0]["suggestion_id"] == picks[0].id


async def test_failures_raise_and_are_still_recorded() -> None:
    double = ServiceDouble()
    double.failures["recommend"] = ServiceUnavailable("The song database is busy right now.")
    with pytest.raises(ServiceUnavailable):
        await double.recommend(7)
    assert double.calls_to("recommend"), "a failed call is still a call"
    del double.failures["recommend"]
    assert await double.recommend(7, k=1)


async def test_delays_slow_only_the_chosen_method() -> None:
    double = ServiceDouble()
    double.delays["recommend"] = 0.2
    start = time.monotonic()
    slow = asyncio.create_task(double.recommend(7, k=1))
    assert await double.status()  # not held up by the slow call
    assert time.monotonic() - start < 0.15
    await slow
    assert time.monotonic() - start >= 0.2


def test_the_default_catalogue_carries_hostile_names() -> None:
    names = {t.name for t in ServiceDouble().tracks.values()}
    assert HOSTILE_NAME in names and HUGE_NAME in names
