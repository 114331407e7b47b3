"""Argument checks every part of the service shares: each returns the clean value or raises InvalidInput."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from songrec.domain import Filters, InvalidInput

MAX_ID = 2**63 - 1
SONG_AS_TEXT = "Tell me a song as text: a title, 'title - artist' or a Spotify link."


def user(user_id: Any) -> int:
    if isinstance(user_id, bool) or not isinstance(user_id, int | np.integer) or not 0 < user_id <= MAX_ID:
        raise InvalidInput(f"That isn't a valid user id ({str(user_id)[:40]!r}).")
    return int(user_id)


def guild(guild_id: Any) -> int:
    if isinstance(guild_id, bool) or not isinstance(guild_id, int | np.integer) or not 0 < guild_id <= MAX_ID:
        raise InvalidInput(f"That isn't a valid server id ({str(guild_id)[:40]!r}).")
    return int(guild_id)


def count(k: Any, max_k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= max_k:
        raise InvalidInput(f"Ask for between 1 and {max_k} songs.")
    return int(k)


def rate(value: Any, *, optional: bool = False) -> None:
    """An explore rate: a number from 0 to 1 (None allowed when `optional`)."""
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
        raise InvalidInput("The explore rate must be between 0 and 1.")


def filters(given: Filters | None) -> Filters | None:
    if given is None:
        return None
    if not isinstance(given, Filters):
        raise InvalidInput("Filters must be a songrec Filters record.")
    for name in ("max_popularity", "min_popularity"):
        value = getattr(given, name)
        if value is not None and (
            isinstance(value, bool) or not (isinstance(value, int | float) and 0 <= value <= 100)
        ):
            raise InvalidInput("Popularity limits go from 0 to 100.")
    if (
        given.max_popularity is not None
        and given.min_popularity is not None
        and given.min_popularity > given.max_popularity
    ):
        raise InvalidInput("The minimum popularity is above the maximum: nothing could match.")
    rate(given.explore_rate, optional=True)
    return given


def seed_texts(seeds: Sequence[str] | str | None, max_seeds: int) -> list[str]:
    if seeds is None:
        return []
    if isinstance(seeds, str):
        seeds = [seeds]
    texts = list(seeds)
    if len(texts) > max_seeds:
        raise InvalidInput(f"Give me at most {max_seeds} songs to start from.")
    for text in texts:
        if not isinstance(text, str):
            raise InvalidInput(SONG_AS_TEXT)
    return texts
