"""JSON for the store's JSON columns (settings, score parts, metrics, payloads): the same on every backend."""

from __future__ import annotations

import json
from typing import Any

from songrec.domain import InvalidInput

#: One encoder for every write: json.dumps with options builds a new encoder on each call (every suggestion
#: stores its score parts).
_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False, ensure_ascii=False)


def dumps(value: Any, what: str) -> str:
    """JSON-encode for a JSON column; refuses NaN/inf and non-JSON values with a clear message."""
    try:
        return _ENCODER.encode(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"{what} must be JSON-serialisable (plain dicts, lists, str, finite numbers): {exc}"
        ) from exc


def loads(text: str | None) -> Any:
    return json.loads(text) if text is not None else None


#: Values that come back from a JSON column as they went in (a finite float's repr reads back exactly).
_PLAIN = (str, int, float, bool, type(None))


def as_read(text: str, written: Any) -> Any:
    """What a read of this JSON text gives: `written` copied when it is the flat dict of str keys and plain
    values the text was made from (an answer's score parts: decoding them again costs more), else decoded."""
    if (
        type(written) is dict
        and all(type(key) is str for key in written)
        and all(type(value) in _PLAIN for value in written.values())
    ):
        return dict(written)
    return loads(text)
