from __future__ import annotations

import numpy as np
import pytest

from songrec.content.features import N_BASE_FEATURES, FeatureConfig, FeaturePipeline
from tests.support.factories import make_catalog


def test_pipeline_gives_the_papers_26_inputs_in_unit_range() -> None:
    catalog = make_catalog(200)
    pipeline = FeaturePipeline.fit(catalog)
    x = pipeline.transform(catalog)
    assert x.shape == (200, N_BASE_FEATURES) == (200, 26)
    assert x.dtype == np.float32
    assert x.min() >= 0.0 and x.max() <= 1.0
    names = pipeline.feature_names
    assert names[:12] == [
        "acousticness",
        "danceability",
        "energy",
        "duration_ms",
        "instrumentalness",
        "valence",
        "popularity",
        "tempo",
        "liveness",
        "loudness",
        "speechiness",
        "year",
    ]
    assert names[12:14] == ["mode", "explicit"]
    # Each numeric column spans exactly [0, 1] on the data it was fitted on.
    assert np.allclose(x[:, :12].min(axis=0), 0) and np.allclose(x[:, :12].max(axis=0), 1)


def test_key_is_one_hot_and_no_key_is_all_zero() -> None:
    catalog = make_catalog(52)
    x = FeaturePipeline.fit(catalog).transform(catalog)
    keys = x[:, 14:]
    assert keys.shape[1] == 12
    for row, key in zip(keys, catalog["key"], strict=True):
        if key == -1:
            assert row.sum() == 0
        else:
            assert row.sum() == 1 and row[key] == 1


def test_out_of_range_queries_are_clipped() -> None:
    catalog = make_catalog(100)
    pipeline = FeaturePipeline.fit(catalog)
    odd = catalog.head(1).copy()
    odd["tempo"] = 10_000.0
    assert pipeline.transform(odd).max() <= 1.0


def test_artist_embedding_adds_components_and_round_trips(tmp_path) -> None:
    catalog = make_catalog(300)
    pipeline = FeaturePipeline.fit(catalog, FeatureConfig(artist_components=4))
    x = pipeline.transform(catalog)
    assert x.shape == (300, 30) and pipeline.n_features == 30
    assert x[:, 26:].min() >= 0 and x[:, 26:].max() <= 1
    # Songs by the same first artist share their artist block.
    same = catalog.index[catalog["artists"].map(lambda a: a[0]) == "Artist 3"]
    assert np.allclose(x[same, 26:], x[same[0], 26:])
    pipeline.save(tmp_path / "p.joblib")
    again = FeaturePipeline.load(tmp_path / "p.joblib")
    assert np.array_equal(again.transform(catalog), x)
    unseen = catalog.head(1).copy()
    unseen["artists"] = [["Nobody Known"]]
    assert np.allclose(again.transform(unseen)[0, 26:], 0.5)


def test_missing_columns_are_reported() -> None:
    catalog = make_catalog(20).drop(columns=["tempo"])
    with pytest.raises(ValueError, match="tempo"):
        FeaturePipeline.fit(catalog)
