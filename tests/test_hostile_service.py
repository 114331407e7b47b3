"""Every hostile input through the Service API, in process: the calls the bot and `songrec chat` make.

Each call must answer, or fail with a SongrecError whose message is a clear sentence, and a failed call
must leave the database exactly as it was (a failed /like writes nothing).
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from songrec.domain import Filters
from tests.support.hostile_check import Findings, row_counts
from tests.support.hostile_inputs import Hostile, hostile_counts, hostile_ids, hostile_texts
from tests.support.service_env import ServiceOpener

USER, OTHER = 4242, 4343
GUILD, CHANNEL = 777, 888


@pytest.fixture(scope="module")
def corpus() -> list[Hostile]:
    texts = hostile_texts()
    assert len(texts) >= 200
    return texts


def _well_formed(suggestions: Any) -> bool:
    return isinstance(suggestions, list) and all(
        s.id > 0 and s.track.track_id and math.isfinite(s.score) for s in suggestions
    )


@pytest.mark.timeout(180)
async def test_seed_texts_through_recommend_like_dislike_and_undo(
    open_service: ServiceOpener, tmp_path: Path, corpus: list[Hostile]
) -> None:
    db = tmp_path / "hostile.sqlite3"
    found = Findings()
    async with open_service(db) as service:
        for item in corpus:
            before = row_counts(db)
            got = await found.call(f"recommend {item.label}", service.recommend(USER, [item.text], k=3))
            after = row_counts(db)
            if got.ok:
                found.expect(_well_formed(got.value), f"recommend {item.label}: malformed answer")
                found.expect(
                    after["suggestions"] == before["suggestions"] + len(got.value),
                    f"recommend {item.label}: {len(got.value)} suggestions, stored {after['suggestions'] - before['suggestions']}",
                )
            else:
                found.unchanged(before, after, f"recommend {item.label}")

            for user, rate in ((USER, service.like), (OTHER, service.dislike)):
                before = row_counts(db)
                got = await found.call(
                    f"{rate.__name__} {item.label}", rate(user, item.text, source="command")
                )
                after = row_counts(db)
                if got.ok:
                    grew = after["feedback"] - before["feedback"]
                    found.expect(grew in (0, 1), f"{rate.__name__} {item.label}: {grew} feedback rows")
                else:
                    found.unchanged(before, after, f"{rate.__name__} {item.label}")

            before = row_counts(db)
            got = await found.call(f"undo {item.label}", service.undo(USER, track=item.text))
            if not got.ok:
                found.unchanged(before, row_counts(db), f"undo {item.label}")
    found.assert_clean()
    assert found.calls >= 4 * len(corpus)
    assert found.errors > len(corpus), "most hostile seeds should be refused"


@pytest.mark.timeout(180)
async def test_autocomplete_sessions_and_settings(
    open_service: ServiceOpener, tmp_path: Path, corpus: list[Hostile]
) -> None:
    db = tmp_path / "hostile.sqlite3"
    found = Findings()
    async with open_service(db) as service:
        settings = await service.get_guild_settings(GUILD)
        for n, item in enumerate(corpus):
            got = await found.call(f"autocomplete {item.label}", service.autocomplete(item.text, 25))
            if got.ok:
                found.expect(len(got.value) <= 25, f"autocomplete {item.label}: {len(got.value)} results")

            channel = CHANNEL + n
            before = row_counts(db)
            got = await found.call(
                f"start_session {item.label}",
                service.start_session(GUILD, channel, USER, members=(OTHER,), seeds=[item.text]),
            )
            if got.ok:
                await found.call(f"session_next {item.label}", service.session_next(channel, OTHER, 2))
                await found.call(f"end_session {item.label}", service.end_session(channel, USER))
            else:
                found.unchanged(before, row_counts(db), f"start_session {item.label}")

            before = row_counts(db)
            for change in ({"session_strategy": item.text}, {"explore_rate": item.text}):
                got = await found.call(
                    f"update_guild_settings {item.label}", service.update_guild_settings(GUILD, **change)
                )
                found.expect(not got.ok, f"update_guild_settings accepted {change!r:.80}")
            found.unchanged(before, row_counts(db), f"update_guild_settings {item.label}")
        found.expect(await service.get_guild_settings(GUILD) == settings, "guild settings changed")
    found.assert_clean()


@pytest.mark.timeout(120)
async def test_hostile_ids_counts_and_filters(open_service: ServiceOpener, tmp_path: Path) -> None:
    db = tmp_path / "hostile.sqlite3"
    found = Findings()
    async with open_service(db) as service:
        real = await service.recommend(USER, ["Song 12"], k=2)
        await service.like(USER, suggestion_id=real[0].id)
        #: Calls where None means "not given" (the last suggestion shown), so None is a valid value there.
        none_is_default = {"like(suggestion)", "dislike(suggestion)", "undo(suggestion)", "why(suggestion)"}
        for value in hostile_ids():
            label = repr(value)[:30]
            before = row_counts(db)
            calls: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
                ("recommend(user)", lambda v=value: service.recommend(v, ["Song 12"], k=2)),
                ("like(user)", lambda v=value: service.like(v, "Song 12")),
                ("like(suggestion)", lambda v=value: service.like(USER, suggestion_id=v)),
                ("dislike(suggestion)", lambda v=value: service.dislike(OTHER, suggestion_id=v)),
                ("undo(user)", lambda v=value: service.undo(v)),
                ("undo(suggestion)", lambda v=value: service.undo(USER, suggestion_id=v)),
                ("why(user)", lambda v=value: service.why(v)),
                ("why(suggestion)", lambda v=value: service.why(USER, v)),
                ("more_like(suggestion)", lambda v=value: service.more_like(USER, v, 2)),
                ("get_suggestion", lambda v=value: service.get_suggestion(v)),
                ("history(user)", lambda v=value: service.history(v)),
                ("profile(user)", lambda v=value: service.profile(v)),
                ("export_user", lambda v=value: service.export_user(v)),
                ("forget_user", lambda v=value: service.forget_user(v)),
                ("join_session(channel)", lambda v=value: service.join_session(v, USER)),
                ("join_session(user)", lambda v=value: service.join_session(CHANNEL, v)),
                ("session_next(channel)", lambda v=value: service.session_next(v, USER, 2)),
                ("get_guild_settings", lambda v=value: service.get_guild_settings(v)),
                ("update_guild_settings", lambda v=value: service.update_guild_settings(v, explore_rate=0.5)),
            ]
            for what, make in calls:
                if value is None and what in none_is_default:
                    continue
                got = await found.call(f"{what} with {label}", make())
                if what != "get_suggestion":  # None ("no such suggestion") is its clear answer
                    found.expect(not got.ok, f"{what} accepted {label}")
            found.unchanged(before, row_counts(db), f"ids {label}")

        for count in hostile_counts():
            label = repr(count)[:30]
            before = row_counts(db)
            for what, awaitable in (
                ("recommend(k)", service.recommend(USER, ["Song 12"], k=count)),
                ("more_like(k)", service.more_like(USER, real[0].id, count)),
                ("history(limit)", service.history(USER, limit=count)),
                ("autocomplete(limit)", service.autocomplete("Song", limit=count)),
                ("session_next(k)", service.session_next(CHANNEL, USER, count)),
            ):
                got = await found.call(f"{what} with {label}", awaitable)
                found.expect(not got.ok, f"{what} accepted {label}")
            found.unchanged(before, row_counts(db), f"counts {label}")

        for bad in (-1, 101, float("nan"), float("inf"), "50", True):
            before = row_counts(db)
            for filters in (
                Filters(max_popularity=bad),  # type: ignore[arg-type]
                Filters(min_popularity=bad),  # type: ignore[arg-type]
                Filters(explore_rate=bad),  # type: ignore[arg-type]
            ):
                got = await found.call(
                    f"recommend {filters!r:.60}", service.recommend(USER, ["Song 12"], k=2, filters=filters)
                )
                found.expect(not got.ok, f"recommend accepted {filters!r}")
            found.unchanged(before, row_counts(db), f"filters {bad!r}")
        got = await found.call("recommend(k=max_k+1)", service.recommend(USER, ["Song 12"], k=51))
        found.expect(not got.ok, "recommend accepted k=51 (max_k is 50)")
        got = await found.call("recommend(filters=dict)", service.recommend(USER, None, 2, {"x": 1}))  # type: ignore[arg-type]
        found.expect(not got.ok, "recommend accepted a dict as filters")
        got = await found.call("recommend(seeds=int)", service.recommend(USER, [12], k=2))  # type: ignore[list-item]
        found.expect(not got.ok, "recommend accepted an int seed")
    found.assert_clean()
