"""One set of behavioural tests for every SongService (songrec/service/api.py): the real Service on a
SQLite file with the small test artifact, and the bot tests' ServiceDouble on the same catalogue.

Modelled on the `implicit` library's RecommenderBaseTestMixin (one suite, every model): a front end
written against the Protocol must see the same answers whichever implementation is behind it, so
what the bot tests learn from the double holds for the real service. Where the two differ, the double
is wrong (it is a test fake) and is fixed to behave like the service.
"""

from __future__ import annotations

import contextlib
import inspect
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from songrec.content.engine import Engine
from songrec.domain import (
    DEFAULT_EXPLORE_RATE,
    DEFAULT_PRIVACY,
    ExploreShare,
    Filters,
    InvalidInput,
    NothingToRate,
    NotInSession,
    NotShared,
    SongrecError,
    SpotifyNotSetUp,
    Suggestion,
    TrackInfo,
    TrackNotFound,
)
from songrec.service.api import SongService
from songrec.service.server_mix import month_name, month_of, month_span, previous_month
from tests.support.service_double import ServiceDouble

if TYPE_CHECKING:
    from tests.support.service_env import ServiceOpener

ALICE, BOB, CAROL, DAVE = 101, 102, 103, 104
GUILD, CHANNEL, OTHER_CHANNEL, VOICE = 222, 333, 334, 444
UNKNOWN_SONG = "Zzyzx Qwfp Nonexistent Tune"
IMPLEMENTATIONS = ("service", "double")


@pytest.fixture(scope="module")
def catalogue(small_engine: Engine) -> list[TrackInfo]:
    """The small artifact's tracks, for the double and for tests that name songs by id."""
    return [small_engine.info(row) for row in range(len(small_engine.catalog))]


@pytest.fixture(params=IMPLEMENTATIONS)
async def service(
    request: pytest.FixtureRequest, tmp_path: Path, catalogue: list[TrackInfo]
) -> AsyncIterator[SongService]:
    """Each implementation, fresh for every test (a new database, a new double)."""
    if request.param == "service":
        open_service: ServiceOpener = request.getfixturevalue("open_service")
        async with open_service(tmp_path / "songrec.sqlite3") as real:
            yield real
    else:
        yield ServiceDouble(catalogue)


def ids(tracks: list[TrackInfo] | list[Suggestion]) -> list[str]:
    return [t.track.track_id if isinstance(t, Suggestion) else t.track_id for t in tracks]


# ---------------------------------------------------------------------- the Protocol's shape


def test_the_double_has_every_protocol_method_with_the_same_parameters() -> None:
    """Cheap guard for the behaviour tests below: a missing or renamed method fails here first."""
    methods = [n for n, v in vars(SongService).items() if inspect.iscoroutinefunction(v) and n[0] != "_"]
    assert len(methods) >= 20
    assert ServiceDouble().learning is None, "the Protocol's `learning` attribute"
    for name in methods:
        assert inspect.iscoroutinefunction(getattr(ServiceDouble, name, None)), name
        expected = inspect.signature(getattr(SongService, name)).parameters.values()
        actual = inspect.signature(getattr(ServiceDouble, name)).parameters.values()
        assert [(p.name, p.kind, p.default) for p in actual] == [
            (p.name, p.kind, p.default) for p in expected
        ]


# ---------------------------------------------------------------------- recommendations


@pytest.mark.parametrize("k", [1, 5, 12])
async def test_recommend_returns_k_distinct_suggestions_with_ids(service: SongService, k: int) -> None:
    picks = await service.recommend(ALICE, k=k)
    assert len(picks) == k
    assert len({p.id for p in picks}) == k and all(isinstance(p.id, int) for p in picks)
    assert len(set(ids(picks))) == k, "the same track twice in one answer"
    assert [p.rank for p in picks] == list(range(1, k + 1))
    assert all(p.reason and p.model_version for p in picks)
    for pick in picks:
        stored = await service.get_suggestion(pick.id)
        assert stored is not None and stored.track == pick.track
    assert await service.get_suggestion(10**9) is None


async def test_seeds_are_not_suggested_back(service: SongService, catalogue: list[TrackInfo]) -> None:
    seed = catalogue[12]
    picks = await service.recommend(ALICE, [seed.track_id], k=8)
    assert len(picks) == 8 and seed.track_id not in ids(picks)
    by_name = await service.recommend(BOB, [seed.name], k=8)
    assert len(by_name) == 8 and seed.track_id not in ids(by_name)


async def test_dislikes_never_come_back(service: SongService) -> None:
    first = await service.recommend(ALICE, k=5)
    for pick in first:
        await service.dislike(ALICE, suggestion_id=pick.id)
    for _ in range(3):
        later = await service.recommend(ALICE, k=5)
        assert not set(ids(later)) & set(ids(first))


async def test_more_like_a_suggestion_leaves_that_song_out(service: SongService) -> None:
    (base,) = await service.recommend(ALICE, k=1)
    more = await service.more_like(ALICE, base.id, k=4)
    assert len(more) == 4 and base.track.track_id not in ids(more)
    with pytest.raises(InvalidInput):
        await service.more_like(ALICE, 10**9)


async def test_max_popularity_filter_is_honoured(service: SongService, catalogue: list[TrackInfo]) -> None:
    picks = await service.recommend(ALICE, [catalogue[1].track_id], k=5, filters=Filters(max_popularity=40.0))
    assert picks and all((p.track.popularity or 0) <= 40.0 for p in picks)


async def test_an_unknown_song_is_track_not_found_with_a_friendly_message(service: SongService) -> None:
    for call in (service.recommend(ALICE, [UNKNOWN_SONG]), service.like(ALICE, UNKNOWN_SONG)):
        with pytest.raises(TrackNotFound) as caught:
            await call
        message = str(caught.value)
        assert "couldn't find" in message and "Traceback" not in message and "Error" not in message
    assert await service.history(ALICE) == [], "a failed like must not be recorded"


@pytest.mark.parametrize("k", [0, -1, 51, True, 2.5, "3"])
async def test_a_bad_count_is_invalid_input(service: SongService, k: object) -> None:
    with pytest.raises(InvalidInput, match="between 1 and"):
        await service.recommend(ALICE, k=k)  # type: ignore[arg-type]


@pytest.mark.parametrize("user_id", [0, -5, True, "alice"])
async def test_a_bad_user_id_is_invalid_input(service: SongService, user_id: object) -> None:
    with pytest.raises(InvalidInput):
        await service.recommend(user_id, k=2)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        await service.history(user_id)  # type: ignore[arg-type]


async def test_empty_seed_text_is_invalid_input(service: SongService) -> None:
    with pytest.raises(InvalidInput):
        await service.recommend(ALICE, ["   "])


# ---------------------------------------------------------------------- feedback


async def test_rating_a_suggestion_is_idempotent_and_changed_says_so(service: SongService) -> None:
    (pick,) = await service.recommend(ALICE, k=1)
    liked = await service.like(ALICE, suggestion_id=pick.id, source="button")
    assert (liked.track, liked.value, liked.changed) == (pick.track, 1, True)
    again = await service.like(ALICE, suggestion_id=pick.id, source="reaction")
    assert (again.value, again.changed) == (1, False)
    flipped = await service.dislike(ALICE, suggestion_id=pick.id)
    assert (flipped.track, flipped.value, flipped.changed) == (pick.track, -1, True)
    assert not (await service.dislike(ALICE, suggestion_id=pick.id)).changed
    assert [(h.track, h.value) for h in await service.history(ALICE)] == [(pick.track, -1)]
    with pytest.raises(InvalidInput):
        await service.like(ALICE, suggestion_id=10**9)


async def test_feedback_without_a_target_rates_the_last_suggestion_shown_in_that_channel(
    service: SongService,
) -> None:
    with pytest.raises(NothingToRate):
        await service.like(ALICE, channel_id=CHANNEL)
    picks = await service.recommend(ALICE, k=3, channel_id=CHANNEL)
    assert (await service.like(ALICE, channel_id=CHANNEL)).track == picks[-1].track
    with pytest.raises(NothingToRate):
        await service.dislike(ALICE, channel_id=OTHER_CHANNEL)  # nothing was shown there
    with pytest.raises(NothingToRate):
        await service.like(BOB, channel_id=CHANNEL)  # alice's suggestions are not bob's


async def test_undo_takes_back_only_what_is_there(service: SongService, catalogue: list[TrackInfo]) -> None:
    assert await service.undo(ALICE) is None, "nothing to undo yet"
    (pick,) = await service.recommend(ALICE, k=1)
    await service.dislike(ALICE, suggestion_id=pick.id)
    assert await service.undo(ALICE, suggestion_id=pick.id, value=1) is None, "it is a dislike"
    undone = await service.undo(ALICE, suggestion_id=pick.id, value=-1)
    assert undone is not None and (undone.track, undone.value, undone.changed) == (pick.track, 0, True)
    assert await service.undo(ALICE, suggestion_id=pick.id) is None
    assert await service.history(ALICE) == []

    first, second = catalogue[20], catalogue[21]
    await service.like(ALICE, first.track_id)
    await service.like(ALICE, second.track_id)
    latest = await service.undo(ALICE)  # no target: the newest vote
    assert latest is not None and latest.track == second
    assert [h.track for h in await service.history(ALICE)] == [first]
    by_track = await service.undo(ALICE, track=first.track_id)
    assert by_track is not None and by_track.track == first


async def test_why_names_the_track(service: SongService) -> None:
    with pytest.raises(NothingToRate):
        await service.why(ALICE, channel_id=CHANNEL)
    picks = await service.recommend(ALICE, k=3, channel_id=CHANNEL)
    for pick in picks:
        assert pick.track.name in await service.why(ALICE, pick.id)
    assert picks[-1].track.name in await service.why(ALICE, channel_id=CHANNEL)
    with pytest.raises(InvalidInput):
        await service.why(ALICE, 10**9)


async def test_history_is_newest_first(service: SongService, catalogue: list[TrackInfo]) -> None:
    a, b, c = catalogue[30], catalogue[31], catalogue[32]
    await service.like(ALICE, a.track_id, source="chat")
    await service.dislike(ALICE, b.track_id, source="reaction")
    await service.like(ALICE, c.track_id, source="button")
    history = await service.history(ALICE)
    assert [(h.track, h.value) for h in history] == [(c, 1), (b, -1), (a, 1)]
    assert [h.source for h in history] == ["button", "reaction", "chat"]
    assert [h.track for h in await service.history(ALICE, limit=2)] == [c, b]
    assert await service.history(BOB) == []
    with pytest.raises(InvalidInput):
        await service.history(ALICE, limit=0)


async def test_profile_counts_the_users_votes(service: SongService, catalogue: list[TrackInfo]) -> None:
    empty = await service.profile(ALICE)
    assert (empty.user_id, empty.likes, empty.dislikes) == (ALICE, 0, 0)
    for track in catalogue[40:43]:
        await service.like(ALICE, track.track_id)
    await service.dislike(ALICE, catalogue[43].track_id)
    profile = await service.profile(ALICE)
    assert (profile.likes, profile.dislikes) == (3, 1)
    assert set(profile.top_artists) <= {a for t in catalogue[40:43] for a in t.artists}
    assert profile.top_artists


async def test_forget_user_removes_their_history_and_nobody_elses(
    service: SongService, catalogue: list[TrackInfo]
) -> None:
    picks = await service.recommend(ALICE, k=2, channel_id=CHANNEL)
    await service.like(ALICE, suggestion_id=picks[0].id)
    await service.dislike(ALICE, catalogue[50].track_id)
    await service.like(BOB, catalogue[51].track_id)
    assert len((await service.export_user(ALICE))["feedback"]) == 2
    removed = await service.forget_user(ALICE)
    assert removed >= 2
    assert await service.history(ALICE) == []
    assert (await service.profile(ALICE)).likes == 0
    assert (await service.export_user(ALICE))["feedback"] == []
    with pytest.raises(NothingToRate):
        await service.like(ALICE, channel_id=CHANNEL)  # what she was shown went too
    assert [h.track for h in await service.history(BOB)] == [catalogue[51]]
    assert await service.forget_user(ALICE) == 0


async def test_privacy_says_what_is_stored_and_the_choice_round_trips(
    service: SongService, catalogue: list[TrackInfo]
) -> None:
    report = await service.privacy(ALICE)
    assert report.choice == DEFAULT_PRIVACY == "shared"
    assert report.stored["likes"] == 0 and report.uses
    for track in catalogue[60:62]:
        await service.like(ALICE, track.track_id)
    await service.dislike(ALICE, catalogue[62].track_id)
    report = await service.set_privacy(ALICE, "private")
    assert (report.choice, report.stored["likes"], report.stored["dislikes"]) == ("private", 2, 1)
    assert any("own suggestions" in use for use in report.uses)
    assert (await service.privacy(ALICE)).choice == "private"
    assert (await service.privacy(BOB)).choice == "shared", "one listener's choice is theirs alone"
    assert (await service.set_privacy(ALICE, "off")).choice == "off"
    assert (await service.set_privacy(ALICE, "shared")).choice == "shared"
    for bad in ("everyone", "", None, 1):
        with pytest.raises(InvalidInput):
            await service.set_privacy(ALICE, bad)  # type: ignore[arg-type]
    await service.set_privacy(ALICE, "off")
    await service.forget_user(ALICE)
    assert (await service.privacy(ALICE)).choice == "shared", "forget-me forgets the choice too"


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR, after checking the signature."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


async def test_a_taste_card_is_a_png_with_the_users_taste_in_words(
    service: SongService, catalogue: list[TrackInfo]
) -> None:
    empty = await service.taste_card(ALICE)
    assert empty.png is None and empty.likes == 0 and "haven't liked anything" in empty.summary
    for track in catalogue[40:46]:
        await service.like(ALICE, track.track_id)
    await service.dislike(ALICE, catalogue[46].track_id)
    card = await service.taste_card(ALICE, name="alice")
    assert card.likes == 6 and card.png is not None
    assert png_size(card.png) == (card.width, card.height) == (1200, 675)
    assert set(card.top_genres) <= {t.genre for t in catalogue[40:46]}
    assert set(card.top_artists) <= {a for t in catalogue[40:46] for a in t.artists}
    assert card.summary.endswith(".") and "6 likes" in card.summary
    assert (await service.taste_card(ALICE, viewer_id=BOB)).likes == 6, "shared: others may look"
    await service.set_privacy(ALICE, "private")
    assert (await service.taste_card(ALICE)).png is not None, "their own card, always"
    with pytest.raises(NotShared, match="opted out"):
        await service.taste_card(ALICE, viewer_id=BOB)
    assert "no taste card" in (await service.taste_card(CAROL, viewer_id=BOB)).summary


async def test_compat_says_how_alike_two_listeners_are_and_how_it_measured(
    service: SongService, catalogue: list[TrackInfo]
) -> None:
    none = await service.compat(ALICE, BOB)
    assert (none.method, none.score, none.suggestions) == ("none", 0.0, ()) and "Not enough" in none.summary
    for track in catalogue[40:42]:
        await service.like(ALICE, track.track_id)
    for track in catalogue[50:52]:
        await service.like(BOB, track.track_id)
    by_profile = await service.compat(ALICE, BOB)
    assert by_profile.method == "profiles" and by_profile.overlap == 0 and -1 <= by_profile.score <= 1
    assert "taste profiles" in by_profile.summary and by_profile.both_like == ()
    for track in catalogue[60:63]:
        await service.like(ALICE, track.track_id)
        await service.like(BOB, track.track_id)
    by_votes = await service.compat(ALICE, BOB)
    assert (by_votes.method, by_votes.overlap) == ("votes", 3) and by_votes.score == pytest.approx(1.0)
    assert "3 songs you both rated" in by_votes.summary
    assert {t.track_id for t in by_votes.both_like} == {t.track_id for t in catalogue[60:63]}
    rated = {t.track_id for t in catalogue[40:42] + catalogue[50:52] + catalogue[60:63]}
    assert len(by_votes.suggestions) == 3 and not {t.track_id for t in by_votes.suggestions} & rated
    with pytest.raises(InvalidInput):
        await service.compat(ALICE, ALICE)
    await service.set_privacy(BOB, "private")
    with pytest.raises(NotShared):
        await service.compat(ALICE, BOB)


async def test_neighbours_are_listeners_who_share_and_voted_in_this_server(
    service: SongService, catalogue: list[TrackInfo]
) -> None:
    for user, guild in ((ALICE, GUILD), (BOB, GUILD), (CAROL, GUILD), (DAVE, 999)):
        for track in catalogue[70:74]:
            await service.like(user, track.track_id, guild_id=guild)
    assert [u for u, _ in await service.neighbours(ALICE)] == [BOB, CAROL, DAVE]
    assert [u for u, _ in await service.neighbours(ALICE, guild_id=GUILD)] == [BOB, CAROL]
    assert [u for u, _ in await service.neighbours(ALICE, guild_id=GUILD, limit=1)] == [BOB]
    await service.set_privacy(BOB, "private")
    assert [u for u, _ in await service.neighbours(ALICE, guild_id=GUILD)] == [CAROL]
    await service.set_privacy(ALICE, "off")
    assert await service.neighbours(ALICE) == []
    with pytest.raises(InvalidInput):
        await service.neighbours(CAROL, limit=0)


# ---------------------------------------------------------------------- lookups and messages


async def test_autocomplete_finds_titles_as_typed(service: SongService) -> None:
    found = await service.autocomplete("Song 12", limit=5)
    assert 1 <= len(found) <= 5 and found[0].name.startswith("Song 12")
    assert await service.autocomplete("   ") == []
    with pytest.raises(InvalidInput):
        await service.autocomplete("Song", limit=0)


async def test_a_message_maps_back_to_its_suggestions(service: SongService) -> None:
    picks = await service.recommend(ALICE, k=3, channel_id=CHANNEL, guild_id=GUILD)
    await service.attach_message([p.id for p in picks], 555, CHANNEL, GUILD)
    assert [s.id for s in await service.suggestions_for_message(555)] == [p.id for p in picks]
    assert await service.suggestions_for_message(556) == []


# ---------------------------------------------------------------------- group sessions


async def test_a_session_from_start_to_end(service: SongService) -> None:
    info = await service.start_session(GUILD, CHANNEL, ALICE, voice_channel_id=VOICE, members=[BOB])
    assert set(info.members) == {ALICE, BOB} and info.active and info.strategy == "average"
    assert (await service.active_session(CHANNEL)) == info
    assert (await service.session_for_voice_channel(VOICE)) == info
    assert await service.active_session(OTHER_CHANNEL) is None
    with pytest.raises(InvalidInput, match="already running"):
        await service.start_session(GUILD, CHANNEL, CAROL)

    joined = await service.join_session(CHANNEL, CAROL)
    assert set(joined.members) == {ALICE, BOB, CAROL} and joined.id == info.id
    first = await service.session_next(CHANNEL, ALICE, k=3)
    second = await service.session_next(CHANNEL, CAROL, k=3)
    assert len(first) == len(second) == 3
    assert len(set(ids(first + second))) == 6, "a session never repeats a song"
    assert all(s.session_id == info.id and s.kind == "session" for s in first + second)
    with pytest.raises(NotInSession):
        await service.session_next(CHANNEL, DAVE)

    left = await service.leave_session(CHANNEL, BOB)
    assert set(left.members) == {ALICE, CAROL}
    with pytest.raises(NotInSession):
        await service.leave_session(CHANNEL, BOB)

    await service.like(CAROL, suggestion_id=second[0].id, source="session")
    summary = await service.end_session(CHANNEL, ALICE)
    assert summary.session.id == info.id and not summary.session.active
    assert list(summary.suggested) == [s.track for s in first + second]
    assert (second[0].track, (CAROL,)) in summary.liked
    assert await service.active_session(CHANNEL) is None
    assert await service.session_for_voice_channel(VOICE) is None
    for call in (service.session_next(CHANNEL, ALICE), service.join_session(CHANNEL, DAVE)):
        with pytest.raises(NotInSession):
            await call
    again = await service.start_session(GUILD, CHANNEL, DAVE)  # the channel is free again
    assert again.id != info.id and again.members == (DAVE,)


async def test_sessions_refuse_bad_starts(service: SongService) -> None:
    with pytest.raises(InvalidInput):
        await service.start_session(None, CHANNEL, ALICE)  # a direct message has no server
    with pytest.raises(InvalidInput):
        await service.start_session(GUILD, CHANNEL, ALICE, strategy="loudest")  # type: ignore[arg-type]
    with pytest.raises(NotInSession):
        await service.join_session(CHANNEL, ALICE)
    with pytest.raises(NotInSession):
        await service.end_session(CHANNEL, ALICE)


# ---------------------------------------------------------------------- settings, status, Spotify


async def test_guild_settings_round_trip(service: SongService) -> None:
    default = await service.get_guild_settings(GUILD)
    assert (default.command_channel_id, default.session_strategy) == (None, "average")
    assert default.explore_rate == pytest.approx(DEFAULT_EXPLORE_RATE)
    await service.update_guild_settings(GUILD, command_channel_id=CHANNEL)
    await service.update_guild_settings(GUILD, session_strategy="least_misery", explore_rate=0.5)
    stored = await service.get_guild_settings(GUILD)
    assert (stored.command_channel_id, stored.session_strategy) == (CHANNEL, "least_misery")
    assert stored.explore_rate == pytest.approx(0.5)
    assert (await service.get_guild_settings(GUILD + 1)).session_strategy == "average"
    assert stored.dj_role_id is None, "no DJ role until a server chooses one"
    with_dj = await service.update_guild_settings(GUILD, dj_role_id=CHANNEL + 7)
    assert (with_dj.dj_role_id, with_dj.command_channel_id) == (CHANNEL + 7, CHANNEL)
    assert (await service.update_guild_settings(GUILD, dj_role_id=None)).dj_role_id is None
    session = await service.start_session(GUILD, CHANNEL, ALICE)
    assert session.strategy == "least_misery", "a new session follows the guild's strategy"
    for bad in ({"volume": 11}, {"explore_rate": 1.5}, {"session_strategy": "loudest"}):
        with pytest.raises(InvalidInput):
            await service.update_guild_settings(GUILD, **bad)
    assert (await service.get_guild_settings(GUILD)).explore_rate == pytest.approx(0.5)


async def test_a_listeners_own_explore_share_overrides_the_servers(service: SongService) -> None:
    assert await service.explore_share(ALICE) == ExploreShare(pytest.approx(DEFAULT_EXPLORE_RATE), "default")
    await service.update_guild_settings(GUILD, explore_rate=0.4)
    server = await service.explore_share(ALICE, guild_id=GUILD)
    assert (server.rate, server.source, server.own) == (pytest.approx(0.4), "server", None)
    mine = await service.set_explore_share(ALICE, 0.1, guild_id=GUILD)
    assert (mine.rate, mine.source, mine.own) == (pytest.approx(0.1), "yours", pytest.approx(0.1))
    assert (await service.explore_share(ALICE)).source == "yours"  # theirs wherever they ask
    assert (await service.explore_share(BOB, guild_id=GUILD)).source == "server"  # nobody else's
    assert (await service.set_explore_share(ALICE, 0, guild_id=GUILD)).rate == 0.0  # "never" is a choice
    for bad in (-0.1, 0.51, 2, float("nan"), "lots", True):
        with pytest.raises(InvalidInput, match="explore share"):
            await service.set_explore_share(ALICE, bad)  # type: ignore[arg-type]
    back = await service.set_explore_share(ALICE, None, guild_id=GUILD)
    assert (back.rate, back.source, back.own) == (pytest.approx(0.4), "server", None)
    await service.set_explore_share(BOB, 0.3)
    await service.forget_user(BOB)
    assert (await service.explore_share(BOB)).source == "default"


async def test_status_names_the_model_and_the_catalogue(
    service: SongService, catalogue: list[TrackInfo]
) -> None:
    status = await service.status()
    assert status["model_version"] and status["catalogue_size"] == len(catalogue)


async def test_without_spotify_its_features_say_how_to_set_it_up(service: SongService) -> None:
    await service.recommend(ALICE, k=2)
    with pytest.raises(SpotifyNotSetUp):
        await service.export_playlist(ALICE)
    with pytest.raises(SpotifyNotSetUp):
        await service.import_playlist(ALICE, "https://open.spotify.com/playlist/37i9dQZF1DXcBWIGoYBM5M")
    with pytest.raises(InvalidInput):
        await service.import_playlist(ALICE, "https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC")
    picks = await service.recommend(BOB, k=2)  # everything else keeps working
    assert len(picks) == 2


async def test_every_refusal_is_a_songrec_error_with_a_sentence(service: SongService) -> None:
    calls = [
        service.recommend(ALICE, k=0),
        service.recommend(ALICE, [UNKNOWN_SONG]),
        service.like(ALICE),
        service.why(ALICE),
        service.end_session(CHANNEL, ALICE),
        service.update_guild_settings(GUILD, volume=11),
    ]
    for call in calls:
        with pytest.raises(SongrecError) as caught:
            await call
        text = str(caught.value)
        assert text[:1].isupper() and text.rstrip().endswith((".", "!", "?", ")")), text


# ---------------------------------------------------------------------- the server's mix and charts

DAY = 86_400.0


@contextlib.contextmanager
def voting_at(service: SongService, when: float) -> Iterator[None]:
    """Votes cast inside the block are stamped `when` (the real service's store clock, the double's)."""
    holder: Any = service.mix if isinstance(service, ServiceDouble) else service._store.db  # type: ignore[attr-defined]
    holder.clock = lambda: when
    try:
        yield
    finally:
        holder.clock = time.time


async def like_last_month(service: SongService, catalogue: list[TrackInfo]) -> str:
    """ALICE, BOB and CAROL all like track 10, each likes one more, CAROL dislikes one; DAVE (who opts
    out) likes track 30 here, BOB likes track 20 in another server. Returns last month's key."""
    month = previous_month(time.time())
    with voting_at(service, month_span(month)[0] + 3600):
        for n, user in enumerate((ALICE, BOB, CAROL)):
            await service.like(user, catalogue[10].track_id, guild_id=GUILD)
            await service.like(user, catalogue[11 + n].track_id, guild_id=GUILD)
        await service.dislike(CAROL, catalogue[14].track_id, guild_id=GUILD)
        await service.like(BOB, catalogue[20].track_id, guild_id=999)
        await service.like(DAVE, catalogue[30].track_id, guild_id=GUILD)
    await service.set_privacy(DAVE, "private")
    return month


async def test_a_servers_monthly_mix_is_claimed_once_and_shown_again(
    service: SongService, catalogue: list[TrackInfo]
) -> None:
    empty = await service.monthly_mix(GUILD, name="Test Server")
    assert (empty.tracks, empty.fresh) == ((), False) and "Nobody here liked a song" in empty.summary
    month = await like_last_month(service, catalogue)
    mix = await service.monthly_mix(GUILD, name="Test Server")
    assert (
        mix.fresh and mix.month == month and mix.title == f"The sounds of Test Server - {month_name(month)}"
    )
    assert (mix.listeners, mix.likes) == (3, 6), "DAVE opted out; BOB's other server does not count"
    liked = [(m.track.track_id, m.likes) for m in mix.tracks if m.likes]
    assert liked[0] == (catalogue[10].track_id, 3)
    assert {t for t, _ in liked} == {catalogue[i].track_id for i in (10, 11, 12, 13)}
    suggested = [m.track.track_id for m in mix.tracks if not m.likes]
    rated = {catalogue[i].track_id for i in (10, 11, 12, 13, 14)}
    assert suggested and not set(suggested) & rated, "group suggestions are songs nobody rated"
    assert catalogue[30].track_id not in {m.track.track_id for m in mix.tracks}
    assert mix.summary.startswith("3 listeners, 6 likes; the month's top artist")
    again = await service.monthly_mix(GUILD, name="Renamed")
    assert not again.fresh and (again.tracks, again.title) == (mix.tracks, mix.title), "the claimed mix"
    await service.mix_posted(GUILD, month, CHANNEL, 555)
    shown = await service.monthly_mix(GUILD, month=month)
    assert (shown.fresh, shown.channel_id, shown.message_id, shown.tracks) == (
        False,
        CHANNEL,
        555,
        mix.tracks,
    )
    for bad in (month_of(time.time()), "November", "2026-13"):
        with pytest.raises(InvalidInput):
            await service.monthly_mix(GUILD, month=bad)


async def test_a_mix_whose_post_failed_is_claimed_again(
    service: SongService, catalogue: list[TrackInfo]
) -> None:
    month = await like_last_month(service, catalogue)
    first = await service.monthly_mix(GUILD)
    assert first.fresh and not (await service.monthly_mix(GUILD)).fresh
    await service.release_mix(GUILD, month)
    retry = await service.monthly_mix(GUILD)
    assert retry.fresh and retry.tracks == first.tracks


async def test_the_mix_is_a_server_setting_and_exports_through_spotify(
    service: SongService, catalogue: list[TrackInfo]
) -> None:
    assert await service.mix_guilds() == []
    default = await service.get_guild_settings(GUILD)
    assert (default.mix_enabled, default.mix_channel_id) == (False, None)
    await service.update_guild_settings(GUILD, mix_enabled=True, mix_channel_id=CHANNEL)
    on = await service.get_guild_settings(GUILD)
    assert (on.mix_enabled, on.mix_channel_id) == (True, CHANNEL)
    assert [g.guild_id for g in await service.mix_guilds()] == [GUILD]
    with pytest.raises(InvalidInput):
        await service.update_guild_settings(GUILD, mix_enabled="yes")
    with pytest.raises(InvalidInput, match="no mix"):
        await service.export_mix(ALICE, GUILD)
    await like_last_month(service, catalogue)
    assert (await service.monthly_mix(GUILD)).channel_id == CHANNEL, "posted where the server chose"
    with pytest.raises(SpotifyNotSetUp):
        await service.export_mix(ALICE, GUILD)


async def test_charts_rank_the_servers_likes_over_the_period(
    service: SongService, catalogue: list[TrackInfo]
) -> None:
    now = time.time()
    with voting_at(service, now - 20 * DAY):
        await service.like(ALICE, catalogue[5].track_id, guild_id=GUILD)
    with voting_at(service, now - 60 * DAY):
        await service.like(BOB, catalogue[6].track_id, guild_id=GUILD)
    for user in (ALICE, BOB, CAROL):
        await service.like(user, catalogue[1].track_id, guild_id=GUILD)
    for user in (ALICE, BOB):
        await service.like(user, catalogue[2].track_id, guild_id=GUILD)
    await service.dislike(CAROL, catalogue[3].track_id, guild_id=GUILD)
    await service.like(DAVE, catalogue[4].track_id, guild_id=999)
    week = await service.charts(GUILD)
    one, two = catalogue[1].track_id, catalogue[2].track_id
    assert [(t.track_id, n) for t, n in week.songs] == [(one, 3), (two, 2)]
    assert (week.listeners, week.likes, week.period) == (3, 5, "week")
    assert week.summary.startswith("Most liked here this week: 3 listeners, 5 likes")
    assert week.artists and week.artists[0][1] >= 3
    month = await service.charts(GUILD, "month")
    assert [t.track_id for t, _ in month.songs] == [one, two, catalogue[5].track_id]
    every = await service.charts(GUILD, "all")
    assert {t.track_id for t, _ in every.songs} == {one, two, catalogue[5].track_id, catalogue[6].track_id}
    assert len((await service.charts(GUILD, "all", limit=1)).songs) == 1
    await service.set_privacy(CAROL, "private")
    assert (await service.charts(GUILD)).songs[0][1] == 2, "an opted-out listener's votes leave the charts"
    empty = await service.charts(GUILD + 1)
    assert empty.songs == () and empty.likes == 0 and "Nobody here has liked a song" in empty.summary
    for period, limit in (("year", 10), ("week", 0), ("week", 26)):
        with pytest.raises(InvalidInput):
            await service.charts(GUILD, period, limit)


# ---------------------------------------------------------------------- finding the song, honest details


def _artists(tracks: list[TrackInfo] | list[Suggestion]) -> set[str]:
    return {a for t in tracks for a in (t.track if isinstance(t, Suggestion) else t).artists}


async def test_an_artist_alone_is_a_seed_and_none_of_their_songs_comes_back(
    service: SongService, catalogue: list[TrackInfo]
) -> None:
    artist = catalogue[5].artists[0]
    picks = await service.recommend(ALICE, artist=artist, k=6)
    assert len(picks) == 6 and artist not in _artists(picks)
    assert sum(p.kind == "content" for p in picks) >= 4, "songs like the artist's, not the taste's"
    typed = await service.recommend(BOB, [artist], k=6)  # an artist's name typed as the seed
    assert len(typed) == 6 and artist not in _artists(typed)
    with pytest.raises(TrackNotFound, match="don't have songs by"):
        await service.recommend(ALICE, artist="Zzyzx Qwfp Nobody", k=3)
    with pytest.raises(InvalidInput):
        await service.recommend(ALICE, artist="   ", k=3)


async def test_the_artist_narrows_a_title(service: SongService, catalogue: list[TrackInfo]) -> None:
    seed = catalogue[7]
    picks = await service.recommend(ALICE, [seed.name], artist=seed.artists[0], k=4)
    assert len(picks) == 4 and seed.track_id not in ids(picks)


async def test_search_ranks_the_title_typed_first_and_lists_each_song_once(
    service: SongService, catalogue: list[TrackInfo]
) -> None:
    seed = catalogue[12]
    found = await service.search(seed.name, limit=5)
    assert found and found[0].name == seed.name
    assert len({(t.name, t.artists) for t in found}) == len(found) <= 5
    for bad in ("", "   "):
        with pytest.raises(InvalidInput):
            await service.search(bad)
    with pytest.raises(InvalidInput):
        await service.search(seed.name, limit=0)


async def test_why_is_words_and_the_score_only_with_details(service: SongService) -> None:
    await service.recommend(ALICE, k=2, channel_id=CHANNEL)
    plain = await service.why(ALICE, None, CHANNEL)
    detailed = await service.why(ALICE, None, CHANNEL, details=True)
    assert "Score" not in plain and plain.endswith(".")
    assert detailed.startswith(plain) and "Score" in detailed
