"""Merge priority, imputation flags, content hash and the parquet round trip."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from songrec.catalog import CatalogueBuild, RowIssue, merge_frames, read_catalogue, save_catalogue
from songrec.catalog.merge import content_hash, impute
from songrec.catalog.schema import AUDIO_FEATURES, COLUMNS, conform

IDS = [f"{i:02d}" + "abcdefghijABCDEFGHIJ" for i in range(10)]


def frame(rows: list[dict[str, object]], source: str) -> pd.DataFrame:
    """A loader-shaped frame: canonical columns, flags as a loader would set them."""
    full = []
    for row in rows:
        base: dict[str, object] = {
            "name": "Song",
            "artists": ["A"],
            "key": 1,
            "mode": 1,
            **{f: 0.5 for f in AUDIO_FEATURES},
            "duration_ms": 200000.0,
            "tempo": 120.0,
            "loudness": -5.0,
            "year": 2000,
            "popularity": np.nan,
            "explicit": 0,
            "year_imputed": False,
            "explicit_imputed": True,
            "sources": source,
        }
        base.update(row)
        base["popularity_imputed"] = bool(pd.isna(base["popularity"]))
        full.append(base)
    return conform(pd.DataFrame(full))


def test_priority_and_real_values_beat_imputed_ones() -> None:
    hit = frame(
        [{"track_id": IDS[0], "year": 1965, "year_imputed": True, "energy": 0.1, "name": "hp name"}],
        "hit_predictor",
    )
    tidy = frame(
        [
            {
                "track_id": IDS[0],
                "year": 1968,
                "popularity": 40.0,
                "energy": 0.2,
                "genre": "rock",
                "album": "LP",
            }
        ],
        "tidytuesday",
    )
    kaggle = frame(
        [
            {
                "track_id": IDS[0],
                "year": 1967,
                "popularity": 30.0,
                "explicit": 1,
                "explicit_imputed": False,
                "energy": 0.3,
                "name": "kaggle name",
            }
        ],
        "kaggle",
    )
    # Given lowest priority first: the order of the list must not matter, only the source names.
    merged = merge_frames([("hit_predictor", hit), ("tidytuesday", tidy), ("kaggle", kaggle)])
    assert len(merged) == 1
    row = merged.iloc[0]
    assert row["name"] == "kaggle name" and row["energy"] == 0.3
    assert (row["year"], row["popularity"], row["explicit"]) == (1967, 30.0, 1)
    assert not row["year_imputed"] and not row["popularity_imputed"] and not row["explicit_imputed"]
    assert row["genre"] == "rock" and row["album"] == "LP"  # only TidyTuesday knows them
    assert row["sources"] == "kaggle,tidytuesday,hit_predictor"


def test_a_real_value_from_a_lower_priority_source_beats_an_imputed_one() -> None:
    high = frame([{"track_id": IDS[1], "year": 1965, "year_imputed": True, "energy": 0.9}], "kaggle")
    low = frame([{"track_id": IDS[1], "year": 1971, "popularity": 12.0, "energy": 0.1}], "hit_predictor")
    row = merge_frames([("kaggle", high), ("hit_predictor", low)]).iloc[0]
    assert row["year"] == 1971 and not row["year_imputed"]
    assert row["popularity"] == 12.0 and not row["popularity_imputed"]
    assert row["energy"] == 0.9  # plain columns still follow the priority order
    assert row["explicit"] == 0 and row["explicit_imputed"]


def test_popularity_imputed_from_the_decade_median_then_global_median() -> None:
    tidy = frame(
        [
            {"track_id": IDS[0], "year": 1961, "popularity": 10.0},
            {"track_id": IDS[1], "year": 1962, "popularity": 20.0},
            {"track_id": IDS[2], "year": 1969, "popularity": 30.0},
            {"track_id": IDS[3], "year": 2011, "popularity": 60.0},
            {"track_id": IDS[4], "year": 2012, "popularity": 80.0},
        ],
        "tidytuesday",
    )
    hit = frame(
        [
            {"track_id": IDS[5], "year": 1965, "year_imputed": True},
            {"track_id": IDS[6], "year": 2015, "year_imputed": True},
            {"track_id": IDS[7], "year": 1985, "year_imputed": True},
        ],
        "hit_predictor",
    )
    merged = merge_frames([("tidytuesday", tidy), ("hit_predictor", hit)]).set_index("track_id")
    assert merged.loc[IDS[5], "popularity"] == 20.0
    assert merged.loc[IDS[6], "popularity"] == 70.0
    assert merged.loc[IDS[7], "popularity"] == 30.0  # no real value in the 80s: global median
    assert merged.loc[IDS[5:8], "popularity_imputed"].all()
    assert not merged.loc[IDS[0:5], "popularity_imputed"].any()
    assert merged.loc[IDS[5:8], "year_imputed"].all()
    # A Hit Predictor decade is known even where the year is not: only a wholly missing date says so.
    assert not merged["decade_imputed"].any()


def test_fallbacks_when_no_source_knows_popularity_or_year() -> None:
    only = frame([{"track_id": IDS[0], "year": pd.NA, "year_imputed": True}], "generic")
    row = merge_frames([("generic", only)]).iloc[0]
    assert row["popularity"] == 50.0 and row["popularity_imputed"]
    assert row["year"] == 2000 and row["year_imputed"]
    both = pd.concat([frame([{"track_id": IDS[1], "year": 1990}], "g"), only], ignore_index=True)
    filled = impute(both)
    assert list(filled["year"]) == [1990, 1990] and list(filled["year_imputed"]) == [False, True]
    assert list(filled["decade_imputed"]) == [False, True]  # 1990 is a guess, not even its decade known


def test_merged_frame_has_the_schema_and_no_duplicates() -> None:
    a = frame([{"track_id": IDS[0]}, {"track_id": IDS[1]}, {"track_id": IDS[0]}], "tidytuesday")
    b = frame([{"track_id": IDS[1]}, {"track_id": IDS[2]}], "high_low")
    merged = merge_frames([("tidytuesday", a), ("high_low", b)])
    assert {c: str(t) for c, t in merged.dtypes.items()} == COLUMNS
    assert list(merged["track_id"]) == sorted(IDS[:3])
    assert list(merged["sources"]) == ["tidytuesday", "tidytuesday,high_low", "high_low"]
    assert merge_frames([]).empty


def test_content_hash_ignores_row_order_but_not_values() -> None:
    merged = merge_frames([("tidytuesday", frame([{"track_id": i} for i in IDS[:4]], "tidytuesday"))])
    shuffled = merged.sample(frac=1.0, random_state=1)
    assert content_hash(shuffled) == content_hash(merged)
    changed = merged.copy()
    changed.loc[2, "tempo"] = 121.0
    assert content_hash(changed) != content_hash(merged)
    renamed = merged.copy()
    renamed.loc[0, "track_id"] = "zz" + IDS[0][2:]
    assert content_hash(renamed) != content_hash(merged)


def test_parquet_round_trip(tmp_path) -> None:
    merged = merge_frames(
        [
            (
                "tidytuesday",
                frame(
                    [
                        {
                            "track_id": IDS[0],
                            "artists": ["Guns N' Roses", "Earth, Wind & Fire"],
                            "genre": "rock",
                        },
                        {"track_id": IDS[1], "artists": ["Solo"], "popularity": 10.0},
                    ],
                    "tidytuesday",
                ),
            )
        ]
    )
    issue = RowIssue("data.csv", 3, "tempo", "fast", "not a number")
    build = CatalogueBuild(merged, [issue], content_hash(merged), ["data.csv"])
    path = save_catalogue(build, tmp_path / "sub" / "cat.parquet")
    assert [p.name for p in path.parent.iterdir()] == ["cat.parquet"]  # no temp file left
    back, ours = read_catalogue(path)
    assert ours
    pd.testing.assert_frame_equal(back.frame, merged)
    assert back.frame.loc[0, "artists"] == ["Guns N' Roses", "Earth, Wind & Fire"]
    assert isinstance(back.frame.loc[0, "artists"], list)
    assert back.issues == [issue] and back.content_hash == build.content_hash
    assert back.inputs == ["data.csv"]
    assert content_hash(back.frame) == build.content_hash


def test_external_parquet_without_columns_is_refused(tmp_path) -> None:
    from songrec.domain import CatalogError

    path = tmp_path / "x.parquet"
    pd.DataFrame({"a": [1]}).to_parquet(path)
    with pytest.raises(CatalogError, match="not a songrec catalogue"):
        read_catalogue(path)
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 nope")
    with pytest.raises(CatalogError, match="Could not read"):
        read_catalogue(tmp_path / "broken.parquet")
