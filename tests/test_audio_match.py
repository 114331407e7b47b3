"""Tags -> catalogue tracks: fuzzy title and artist, never a title alone or another act's song."""

from __future__ import annotations

import pandas as pd

from songrec.audio.match import match_track
from songrec.audio.tags import Tags
from songrec.content.lookup import TitleIndex


def titles() -> TitleIndex:
    catalog = pd.DataFrame(
        {
            "track_id": ["a" * 22, "b" * 22, "c" * 22, "d" * 22],
            "name": ["Ring of Fire", "Ring of Fire", "Hurt", "Blinding Lights"],
            "artists": [["Johnny Cash"], ["Blondie"], ["Johnny Cash"], ["The Weeknd"]],
            "popularity": [70.0, 30.0, 60.0, 90.0],
            "year": [1963, 1980, 2002, 2019],
        }
    )
    return TitleIndex.build(catalog)


def test_title_and_artist_pick_the_right_version_even_with_typos() -> None:
    index = titles()
    assert match_track(index, Tags("Ring of Fire", "Johnny Cash", None, True)) == 0
    assert match_track(index, Tags("ring of fire", "blondie", None, True)) == 1
    assert match_track(index, Tags("Blindng Lights", "Weeknd", "After Hours", True)) == 3


def test_no_artist_no_match_and_no_match_across_acts() -> None:
    index = titles()
    assert match_track(index, Tags("Hurt", None, None, True)) is None
    assert match_track(index, Tags("Hurt", "Nine Inch Nails", None, True)) is None
    assert match_track(index, Tags("Some Local Demo", "My Band", None, True)) is None
    assert match_track(index, Tags("Hurt", "Johnny Cash", None, tagged=False)) is None  # a file name
