"""Users and their settings, against every backend."""

from __future__ import annotations

import pytest

from songrec.domain import InvalidInput
from songrec.store import StoreBackend

ALICE = 666666666666666601
BOB = 666666666666666602
GUILD, CHANNEL, VOICE = 777777777777777701, 777777777777777702, 777777777777777703


async def test_users_and_settings(store: StoreBackend) -> None:
    assert await store.get_user(ALICE) is None
    assert await store.get_user_settings(ALICE) == {}
    user = await store.ensure_user(ALICE)
    assert user.user_id == ALICE and user.settings == {}
    assert await store.ensure_user(ALICE) == user  # idempotent
    assert await store.set_user_settings(ALICE, {"dm": True, "explore_rate": 0.2}) == {
        "dm": True,
        "explore_rate": 0.2,
    }
    assert await store.set_user_settings(ALICE, {"dm": False}) == {"dm": False, "explore_rate": 0.2}  # merge
    assert await store.set_user_settings(ALICE, {"x": [1, 2]}, replace=True) == {"x": [1, 2]}
    assert await store.get_user_settings(ALICE) == {"x": [1, 2]}
    with pytest.raises(InvalidInput, match="settings must be a dict"):
        await store.set_user_settings(ALICE, ["no"])  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="JSON-serialisable"):
        await store.set_user_settings(ALICE, {"bad": object()})
    with pytest.raises(InvalidInput, match="JSON-serialisable"):
        await store.set_user_settings(ALICE, {"nan": float("nan")})


async def test_users_with_a_setting_are_listed_with_its_value(store: StoreBackend) -> None:
    assert await store.users_with_setting("privacy") == {}
    await store.ensure_user(BOB)  # empty settings: never listed
    await store.set_user_settings(ALICE, {"privacy": "off", "dm": True})
    await store.set_user_settings(BOB, {"dm": False})
    assert await store.users_with_setting("privacy") == {ALICE: "off"}
    assert await store.users_with_setting("dm") == {ALICE: True, BOB: False}
    await store.set_user_settings(BOB, {"privacy": "private"})
    assert await store.users_with_setting("privacy") == {ALICE: "off", BOB: "private"}
    with pytest.raises(InvalidInput):
        await store.users_with_setting("")


async def test_a_listeners_own_explore_share_is_kept_until_cleared(store: StoreBackend) -> None:
    assert await store.get_explore_rate(ALICE) is None  # never seen
    assert await store.set_explore_rate(ALICE, 0.35) == 0.35  # creates the user
    assert await store.get_explore_rate(ALICE) == pytest.approx(0.35)
    user = await store.get_user(ALICE)
    assert user is not None and user.explore_rate == pytest.approx(0.35) and user.settings == {}
    await store.set_user_settings(ALICE, {"dm": True})  # settings do not touch it
    assert await store.get_explore_rate(ALICE) == pytest.approx(0.35)
    assert await store.get_explore_rate(BOB) is None
    assert await store.set_explore_rate(ALICE, 0) == 0.0  # "never explore" is a choice, not "unset"
    assert await store.get_explore_rate(ALICE) == 0.0
    assert await store.set_explore_rate(ALICE, None) is None
    assert await store.get_explore_rate(ALICE) is None
    for bad in (-0.1, 1.5, float("nan"), "half", True):
        with pytest.raises(InvalidInput, match="explore_rate"):
            await store.set_explore_rate(ALICE, bad)  # type: ignore[arg-type]
    await store.set_explore_rate(BOB, 0.1)
    assert (await store.export_user(BOB))["user"]["explore_rate"] == pytest.approx(0.1)
    await store.forget_user(BOB)
    assert await store.get_explore_rate(BOB) is None
