"""Input checks for every store backend: each turns a bad argument into InvalidInput with a message a user can act on."""

from __future__ import annotations

import math
import numbers
import operator
from typing import Any

from songrec.domain import InvalidInput
from songrec.store._json import dumps

#: Marks "argument not given" where None is a meaningful value (e.g. clearing a channel).
UNSET: Any = object()
MAX_SNOWFLAKE = 2**63 - 1


def integer(value: Any) -> int | None:
    """The value as an int if it is an integer type (int, numpy integer), else None; bool is not."""
    if isinstance(value, bool):
        return None
    try:
        return operator.index(value)
    except TypeError:
        return None


def finite_or_none(value: Any, what: str) -> float | None:
    if type(value) is float and math.isfinite(value):  # the common case, without the ABC check below
        return value
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidInput(f"{what} must be a number, got {value!r}")
    result = float(value)
    if not math.isfinite(result):
        raise InvalidInput(f"{what} must be a finite number, got {value!r}")
    return result


def snowflake(value: Any, what: str) -> int:
    """Discord ids arrive as int (discord.py) or str (slash-command options); store them as INTEGER."""
    number = int(value.strip()) if isinstance(value, str) and value.strip().isdigit() else integer(value)
    if number is None or not 0 < number <= MAX_SNOWFLAKE:
        raise InvalidInput(f"{what} must be a Discord id (a positive integer), got {value!r}")
    return number


def opt_snowflake(value: Any, what: str) -> int | None:
    return None if value is None else snowflake(value, what)


def row_id(value: Any, what: str) -> int:
    number = integer(value)
    if number is None or number <= 0:
        raise InvalidInput(f"{what} must be a positive integer id, got {value!r}")
    return number


def non_negative(value: Any, what: str) -> int:
    number = integer(value)
    if number is None or number < 0:
        raise InvalidInput(f"{what} must be a non-negative integer, got {value!r}")
    return number


def track(value: Any) -> str:
    # split() == [value]: non-empty and no whitespace anywhere (str.split uses isspace's definition), in C.
    if not isinstance(value, str) or len(value) > 200 or value.split() != [value]:
        raise InvalidInput(
            f"track_id must be a non-empty id without spaces (e.g. a Spotify track id), got {value!r}"
        )
    return value


def vote(value: Any) -> int:
    number = integer(value)
    if number not in (1, -1):
        raise InvalidInput(f"feedback value must be +1 (like) or -1 (dislike), got {value!r}")
    return number


def choice(value: Any, allowed: frozenset[str], what: str) -> str:
    if value not in allowed:
        raise InvalidInput(f"{what} must be one of {', '.join(sorted(allowed))}; got {value!r}")
    return str(value)


def json_object(value: Any, what: str) -> str:
    if not isinstance(value, dict):
        raise InvalidInput(f"{what} must be a dict, got {type(value).__name__}")
    return dumps(value, what)


def positive_limit(value: Any, what: str = "limit") -> int:
    number = integer(value)
    if number is None or number <= 0:
        raise InvalidInput(f"{what} must be a positive integer, got {value!r}")
    return number
