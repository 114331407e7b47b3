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
    rows = (engine.row_of(t) for t in track_ids)
    return tuple(dict.fromkeys(r for r in rows if r is not None))
