"""A file's tags -> a catalogue row: fuzzy title + artist through the catalogue's own TitleIndex.

Both are needed: a title alone ("Intro", "Theme") names too many songs to trust. The artist must fit the
row's credit by songrec.content.artist_match's rule, so a fuzzy title never lands on another act.
"""

from __future__ import annotations

from songrec.audio.tags import Tags
from songrec.content.artist_match import artist_matches
from songrec.content.lookup import Query, TitleIndex
from songrec.content.songkey import normalise
from songrec.domain import AmbiguousTrack, InvalidInput, TrackNotFound


def match_track(titles: TitleIndex, tags: Tags) -> int | None:
    """The catalogue row these tags name, or None (no artist, nothing close, or several equally close)."""
    if not tags.tagged or not tags.artist or not normalise(tags.title) or not normalise(tags.artist):
        return None
    try:
        row = titles.resolve(Query(tags.title), tags.artist)
    except (InvalidInput, AmbiguousTrack, TrackNotFound):
        return None
    return row if artist_matches(normalise(tags.artist), titles.artists[row]) else None
