"""The real shared datasets (SONGREC_DATA) merge into one clean catalogue of about 70k tracks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from songrec import settings as config
from songrec.catalog import (
    CatalogueBuild,
    build_catalogue,
    load_artist_genres,
    load_tidytuesday,
    read_catalogue,
    save_catalogue,
)
from songrec.catalog.merge import content_hash
from songrec.catalog.schema import COLUMNS, NUMERIC_FEATURES
from songrec.catalog.validate import NUMERIC_RULES
from songrec.spotify.links import is_spotify_id

TIDY = "spotify-tidytuesday-2020-01-21"


def data_dir() -> Path:
    data = config.data_dir()
    if data is None or not (data / TIDY).is_dir():
        pytest.skip("SONGREC_DATA with the shared Spotify datasets is not available")
    return data


@pytest.fixture(scope="module")
def build() -> CatalogueBuild:
    return build_catalogue(data_dir())


def test_real_catalogue_size_and_uniqueness(build: CatalogueBuild) -> None:
    frame = build.frame
    assert 65_000 <= len(frame) <= 75_000, len(frame)  # 70,117 when written
    assert frame["track_id"].is_unique
    assert frame["track_id"].map(is_spotify_id).all()
    assert {c: str(t) for c, t in frame.dtypes.items()} == COLUMNS
    sources = frame["sources"].str.split(",").explode()
    assert set(sources) == {"tidytuesday", "hit_predictor", "high_low"}
    assert 28_000 <= (sources == "tidytuesday").sum() <= 28_356


def test_real_catalogue_values_in_range(build: CatalogueBuild) -> None:
    frame = build.frame
    for column in (*NUMERIC_FEATURES, "key", "mode", "explicit"):
        values = frame[column].astype("float64")
        assert values.notna().all(), column
        assert NUMERIC_RULES[column].ok(values).all(), column
    assert frame["name"].str.len().gt(0).all()
    assert all(
        isinstance(a, list) and a and all(isinstance(n, str) and n for n in a) for a in frame["artists"]
    )


def test_real_catalogue_flags(build: CatalogueBuild) -> None:
    frame = build.frame
    only_hit = frame["sources"] == "hit_predictor"
    assert frame.loc[only_hit, "year_imputed"].all()
    assert (frame.loc[only_hit, "year"] % 10 == 5).all()
    assert frame.loc[only_hit, "popularity_imputed"].all()
    tidy = frame["sources"].str.contains("tidytuesday")
    assert not frame.loc[tidy, "year_imputed"].any() and not frame.loc[tidy, "popularity_imputed"].any()
    assert frame["explicit_imputed"].all()  # no Kaggle data.csv in the shared set
    assert frame.loc[tidy, "genre"].notna().all()


def test_real_issues_are_the_known_bad_rows(build: CatalogueBuild) -> None:
    rows = {(Path(i.file).name, i.row) for i in build.issues}
    assert ("low_popularity_spotify_data.csv.gz", 264) in rows  # the row without audio features
    tidy_rows = {r for f, r in rows if f == "spotify_songs.csv.gz"}
    assert len(tidy_rows) == 5  # the five rows with NA names
    assert len(rows) == 6


def test_real_parquet_round_trip(build: CatalogueBuild, tmp_path: Path) -> None:
    path = save_catalogue(build, tmp_path / "catalogue.parquet")
    back, ours = read_catalogue(path)
    assert ours and back.content_hash == build.content_hash == content_hash(back.frame)
    pd.testing.assert_frame_equal(back.frame, build.frame)
    assert back.issues == build.issues


def test_tidytuesday_genre_is_the_most_frequent_playlist_genre() -> None:
    path = data_dir() / TIDY / "spotify_songs.csv.gz"
    frame, _ = load_tidytuesday(path)
    raw = pd.read_csv(path, usecols=["track_id", "playlist_genre"])
    counts = raw.groupby(["track_id", "playlist_genre"]).size()
    top = counts.groupby(level=0).max()
    chosen = frame.set_index("track_id")["genre"]
    picked = counts.reindex(pd.MultiIndex.from_arrays([chosen.index, chosen.to_numpy()]))
    assert np.array_equal(picked.to_numpy(), top.reindex(chosen.index).to_numpy())
    assert len(frame) == frame["track_id"].nunique()


def test_real_artist_genres() -> None:
    path = data_dir() / "spotify-1921-2020-yamaerenay-aggregates" / "tt-dspt-200_song-suggester"
    genres = load_artist_genres(path / "data_w_genres.csv.zip")
    assert len(genres) == 32_537  # 32,539 rows; two names differ from another only by trailing spaces
    assert sum(1 for g in genres.values() if g) == 18_976
    assert genres['"Cats" 1981 Original London Cast'] == ["show tunes"]
