"""Honest years: a year no source states is never printed as one.

The Hit Predictor files give only a decade and the catalogue stores its middle (1965 for the 60s): the
flag travels from the catalogue build through the track table into TrackInfo, and every front end
prints "1960s" for those rows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from songrec.content.track_table import TrackTable
from songrec.domain import AmbiguousTrack, TrackInfo
from tests.support.factories import make_catalog


def catalogue(flags: list[tuple[int, bool, bool]]) -> pd.DataFrame:
    frame = make_catalog(len(flags))
    frame["year"] = [year for year, _, _ in flags]
    frame["year_imputed"] = [imputed for _, imputed, _ in flags]
    frame["decade_imputed"] = [no_decade for _, _, no_decade in flags]
    return frame


def test_the_label_says_a_decade_where_only_the_decade_is_known() -> None:
    exact = TrackInfo("a" * 22, "Song", ("Band",), 1969, 50.0)
    decade = TrackInfo("b" * 22, "Song", ("Band",), 1965, 50.0, year_exact=False)
    unknown = TrackInfo("c" * 22, "Song", ("Band",), None, 50.0)
    assert (exact.year_label, decade.year_label, unknown.year_label) == ("1969", "1960s", None)
    assert decade.decade == 1960 and unknown.decade is None
    listed = str(AmbiguousTrack("Song", [exact, decade, unknown]))
    assert "(1969)" in listed and "(1960s)" in listed and "1965" not in listed and "(None)" not in listed


def test_the_track_table_carries_the_flag_and_saves_it(tmp_path: Path) -> None:
    frame = catalogue([(1969, False, False), (1965, True, False), (2000, True, True)])
    table = TrackTable.from_catalog(frame)
    labels = [t.year_label for t in table]
    assert labels == ["1969", "1960s", None], "a median-filled year is no year at all"
    assert np.isnan(table.year[2]) and table.year[1] == 1965
    table.save(tmp_path / "tracks")
    loaded = TrackTable.load(tmp_path / "tracks", len(frame))
    assert loaded is not None and [t.year_label for t in loaded] == labels


def test_an_artifact_saved_before_the_flag_reads_it_from_its_catalogue(tmp_path: Path) -> None:
    frame = catalogue([(1969, False, False), (1965, True, False)])
    TrackTable.from_catalog(frame).save(tmp_path / "tracks")
    (tmp_path / "tracks" / "year_exact.npy").unlink()  # as an older training run saved it
    frame.to_parquet(tmp_path / "catalog.parquet", index=False)
    loaded = TrackTable.load(tmp_path / "tracks", len(frame), tmp_path / "catalog.parquet")
    assert loaded is not None and [t.year_label for t in loaded] == ["1969", "1960s"]
    # Without the catalogue's flag either, no year is claimed exact: each shows as its decade.
    bare = TrackTable.load(tmp_path / "tracks", len(frame))
    assert bare is not None and [t.year_label for t in bare] == ["1960s", "1960s"]


def test_a_catalogue_without_the_flag_claims_no_exact_year() -> None:
    frame = make_catalog(3).drop(columns=["year_imputed"])
    assert all(
        not t.year_exact and t.year_label and t.year_label.endswith("0s")
        for t in TrackTable.from_catalog(frame)
    )
