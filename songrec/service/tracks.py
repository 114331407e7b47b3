"""Track ids to engine rows and records, for ids the store keeps (which may outlive the catalogue)."""

from __future__ import annotations

from collections.abc import Sequence

from songrec.content.engine import Engine
from songrec.domain import TrackInfo

GONE_TRACK = "a song no longer in the catalogue"


def track_info(engine: Engine, track_id: str) -> TrackInfo:
    row = engine.row_of(track_id)
    if row is not None:
        return engine.info(row)
    return TrackInfo(track_id, GONE_TRACK, (), None, None)


def rows_of(engine: Engine, track_ids: Sequence[str]) -> tuple[int, ...]:
    """The rows of the ids still in the catalogue, first occurrence order, without repeats."""
    found = dict.fromkeys(map(engine.titles.row_of_id.get, track_ids))  # in C: a recent list is long
    found.pop(None, None)
    return tuple(found)
