"""Guild settings: defaults until chosen, partial updates, checks; against every backend."""

from __future__ import annotations

import pytest

from songrec.domain import DEFAULT_EXPLORE_RATE, GuildSettings, InvalidInput
from songrec.store import StoreBackend

ALICE = 666666666666666601
BOB = 666666666666666602
GUILD, CHANNEL, VOICE = 777777777777777701, 777777777777777702, 777777777777777703


async def test_guild_settings(store: StoreBackend) -> None:
    assert await store.get_guild_settings(GUILD) == GuildSettings(guild_id=GUILD)
    updated = await store.set_guild_settings(GUILD, explore_rate=0.25)
    assert (
        updated.explore_rate == 0.25 and updated.command_channel_id is None and updated.updated_at is not None
    )
    updated = await store.set_guild_settings(
        GUILD, command_channel_id=CHANNEL, session_strategy="least_misery"
    )
    assert (updated.explore_rate, updated.command_channel_id, updated.session_strategy) == (
        0.25,
        CHANNEL,
        "least_misery",
    )
    cleared = await store.set_guild_settings(GUILD, command_channel_id=None)
    assert cleared.command_channel_id is None and cleared.explore_rate == 0.25
    assert await store.get_guild_settings(GUILD) == cleared
    with pytest.raises(InvalidInput, match="explore_rate must be between 0 and 1"):
        await store.set_guild_settings(GUILD, explore_rate=1.5)
    with pytest.raises(InvalidInput, match="session strategy"):
        await store.set_guild_settings(GUILD, session_strategy="max")


async def test_a_guild_that_saved_something_else_keeps_the_one_default_explore_rate(
    store: StoreBackend,
) -> None:
    assert (await store.get_guild_settings(GUILD)).explore_rate == DEFAULT_EXPLORE_RATE
    saved = await store.set_guild_settings(GUILD, command_channel_id=CHANNEL)  # the row is created now
    assert saved.explore_rate == DEFAULT_EXPLORE_RATE and saved.updated_at is not None
    assert await store.get_guild_settings(GUILD) == saved


async def test_the_dj_role_is_kept_until_cleared_and_leaves_the_rest_alone(store: StoreBackend) -> None:
    role = 777777777777777704
    assert (await store.get_guild_settings(GUILD)).dj_role_id is None
    chosen = await store.set_guild_settings(GUILD, dj_role_id=role, command_channel_id=CHANNEL)
    assert (chosen.dj_role_id, chosen.command_channel_id) == (role, CHANNEL)
    assert await store.get_guild_settings(GUILD) == chosen
    other = await store.set_guild_settings(GUILD, session_strategy="least_misery")
    assert other.dj_role_id == role, "a change of another setting keeps the DJ role"
    cleared = await store.set_guild_settings(GUILD, dj_role_id=None)
    assert (cleared.dj_role_id, cleared.command_channel_id) == (None, CHANNEL)
    with pytest.raises(InvalidInput, match="dj_role_id"):
        await store.set_guild_settings(GUILD, dj_role_id=-3)
    assert (await store.get_guild_settings(GUILD)).dj_role_id is None
