"""The quality protocol's metrics on planted data, and the rule that labels never reach a model."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from songrec.content.features import FeatureConfig, FeaturePipeline
from tests.support.factories import make_catalog
from training.quality import (
    LABEL_COLUMNS,
    EvalSet,
    Method,
    QualityError,
    comembership,
    evaluate,
    load_eval_set,
    ndcg_at_k,
    nearest,
    neighbour_metrics,
    playlist_seeds,
    r_precision,
    split_playlists,
)
from training.quality_report import best_baseline_ndcg, markdown_table
from training.text_embedding import TextConfig, TextFeaturizer, track_tokens


def planted(n_groups: int = 6, per_group: int = 30, seed: int = 0) -> tuple[EvalSet, np.ndarray]:
    """Tracks in groups; each group is one genre, subgenre, artist, decade and playlist."""
    n = n_groups * per_group
    group = np.repeat(np.arange(n_groups), per_group)
    rng = np.random.default_rng(seed)
    perfect = np.eye(n_groups)[group] * 10 + rng.normal(0, 0.01, (n, n_groups))
    playlists = {f"p{g}": np.flatnonzero(group == g) for g in range(n_groups)}
    data = EvalSet.from_labels(
        np.arange(n),
        genre=[f"g{g}" for g in group],
        subgenre=[f"s{g}" for g in group],
        artist=[f"a{g}" for g in group],
        decade=[1960 + 10 * g for g in group],
        playlists=playlists,
    )
    return data, perfect.astype(np.float32)


def test_ndcg_hand_example() -> None:
    # ranking: relevant, not, relevant; 2 relevant items in all.
    dcg = 1 / math.log2(2) + 1 / math.log2(4)
    ideal = 1 / math.log2(2) + 1 / math.log2(3)
    assert ndcg_at_k(np.array([True, False, True]), 2, k=3) == pytest.approx(dcg / ideal)
    assert ndcg_at_k(np.array([False, True, True]), 2, k=3) == pytest.approx((1 / math.log2(3) + 0.5) / ideal)
    assert ndcg_at_k(np.array([True, True, False]), 2, k=3) == pytest.approx(1.0)
    # more relevant items than k: the ideal is k hits.
    assert ndcg_at_k(np.array([True, True]), 5, k=2) == pytest.approx(1.0)
    assert ndcg_at_k(np.array([False, False]), 5, k=2) == 0.0
    assert math.isnan(ndcg_at_k(np.array([True]), 0))


def test_r_precision_hand_example() -> None:
    assert r_precision(np.array([True, False, True, True]), 3) == pytest.approx(2 / 3)
    assert r_precision(np.array([True, True, False]), 2) == 1.0


def test_nearest_excludes_self_and_is_exact() -> None:
    points = np.array([[0.0], [1.0], [3.0], [10.0]], dtype=np.float32)
    assert nearest(points, k=2).tolist() == [[1, 2], [0, 2], [1, 0], [2, 1]]


def test_perfect_embedding_scores_one() -> None:
    data, perfect = planted()
    result = evaluate(Method("perfect", vectors=perfect), data)
    for key in ("genre_p10", "subgenre_p10", "artist_hit10", "decade_p10", "r_precision", "ndcg100"):
        assert result[key] == pytest.approx(1.0), key
    assert result["playlists"] == 6


def test_random_embedding_scores_chance() -> None:
    data, _ = planted(n_groups=6, per_group=60)
    rng = np.random.default_rng(1)
    result = evaluate(Method("random", vectors=rng.standard_normal((data.n, 8)).astype(np.float32)), data)
    chance = 1 / 6
    assert abs(result["genre_p10"] - chance) < 0.05
    assert abs(result["r_precision"] - chance) < 0.06
    assert result["ndcg100"] < 0.35


def test_fixed_scores_rank_the_same_for_every_playlist() -> None:
    data, _ = planted(n_groups=3, per_group=20)
    scores = np.zeros(data.n)
    scores[data.playlists["p0"]] = 1.0  # "popular" = every track of playlist p0
    result = comembership(data, scores=scores)
    # p0 is ranked perfectly, the other two get nothing in their first 15 (their R).
    assert result["r_precision"] == pytest.approx(1 / 3)
    with pytest.raises(ValueError):
        comembership(data)


def test_mean_and_max_rules_agree_on_tight_clusters() -> None:
    data, perfect = planted()
    assert comembership(data, vectors=perfect, rule="mean")["ndcg100"] == pytest.approx(1.0)


def test_seeds_are_fixed_and_independent_of_the_subset() -> None:
    data, _ = planted()
    first = playlist_seeds(data)
    again = playlist_seeds(data)
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(first, again, strict=True))
    assert all(len(s) == 5 and len(r) == 25 and not set(s) & set(r) for s, r in first)
    sub = playlist_seeds(data.subset_playlists(["p3"]))
    assert np.array_equal(sub[0][0], first[3][0])


def test_split_playlists_is_disjoint_and_independent_of_the_universe() -> None:
    ids = [f"p{i}" for i in range(2000)]
    train, held = split_playlists(ids)
    assert 0.17 < len(held) / len(ids) < 0.23
    assert not set(train) & set(held) and set(train) | set(held) == set(ids)
    assert split_playlists(reversed(ids)) == (train, held)
    # A playlist's side never depends on which other playlists a run sees.
    _, held_subset = split_playlists(ids[:300])
    assert set(held_subset) == set(held) & set(ids[:300])


def test_neighbour_metrics_unknown_labels_and_lonely_artists() -> None:
    data = EvalSet.from_labels(
        [0, 1, 2],
        genre=["a", "a", None],
        subgenre=["x", "y", "x"],
        artist=["u", "v", "w"],
        decade=[1990, 1990, 2000],
    )
    neighbours = np.array([[1], [0], [0]])
    m = neighbour_metrics(neighbours, data)
    assert m["genre_p10"] == 1.0  # the track without a genre is not scored
    assert m["subgenre_p10"] == pytest.approx(1 / 3)
    assert math.isnan(m["artist_hit10"])  # no artist has two tracks


def test_load_eval_set_from_memberships() -> None:
    catalog = make_catalog(n=60, clusters=3)
    ids = catalog["track_id"].tolist()
    memberships = pd.DataFrame(
        {
            "track_id": ids[:30] + ids[:12] + ["not-in-catalogue"] * 3 + ids[40:45],
            "playlist_id": ["big"] * 30 + ["second"] * 12 + ["second"] * 3 + ["small"] * 5,
        }
    )
    data = load_eval_set(catalog, memberships)
    assert data.n == 35  # 30 + 5 distinct catalogue tracks
    assert sorted(data.playlists) == ["big", "second"]  # "small" has < 10 tracks
    assert np.array_equal(
        np.sort(catalog["track_id"].to_numpy()[data.rows[data.playlists["second"]]]), np.sort(ids[:12])
    )
    with pytest.raises(QualityError):
        load_eval_set(catalog, pd.DataFrame({"track_id": ["nope"], "playlist_id": ["x"]}))


def test_report_table_has_every_method_and_ratio() -> None:
    data, perfect = planted()
    rows = [(Method("perfect", vectors=perfect, note="fused"), evaluate(Method("p", vectors=perfect), data))]
    rows.append(
        (
            Method("half", vectors=perfect[:, :3], note="baseline"),
            evaluate(Method("h", vectors=perfect[:, :3]), data),
        )
    )
    table = markdown_table(rows, best_baseline_ndcg(rows))
    assert "| perfect | fused | 6 |" in table and "| half | baseline | 3 |" in table
    assert table.count("\n") == 3


# ----------------------------------------------------------------------------- no label leaks


def _relabelled(catalog: pd.DataFrame) -> pd.DataFrame:
    """The same tracks with every label column scrambled or added: model inputs must not move."""
    other = catalog.copy()
    rng = np.random.default_rng(3)
    for column in LABEL_COLUMNS:
        other[column] = rng.permutation([f"LEAK{column}{i % 7}" for i in range(len(other))])
    return other


def test_label_columns_never_reach_the_feature_pipeline() -> None:
    catalog = make_catalog(n=200)
    pipeline = FeaturePipeline.fit(catalog, FeatureConfig(artist_components=3))
    names = pipeline.feature_names
    assert not [n for n in names if any(label in n for label in ("genre", "playlist"))]
    relabelled = _relabelled(catalog)
    assert np.array_equal(
        pipeline.transform(catalog),
        FeaturePipeline.fit(relabelled, FeatureConfig(artist_components=3)).transform(relabelled),
    )


def test_label_columns_never_reach_the_text_branch() -> None:
    catalog = make_catalog(n=200)
    genres = {f"Artist {i}": ["dance pop", "indie rock"][i % 2 :] for i in range(37)}
    config = TextConfig(svd_dim=8)
    fitted, features = TextFeaturizer.fit(catalog, config, genres, progress=False)
    _, again = TextFeaturizer.fit(_relabelled(catalog), config, genres, progress=False)
    assert np.allclose(features, again)
    vocab = [t for vec in fitted.vectorizers.values() if vec is not None for t in vec.vocabulary_]
    assert vocab and not [t for t in vocab if "leak" in t.lower() or t in {"rock", "pop", "rap", "edm"}]
    # Artist genres (a separate source) do arrive, as whole names and as words.
    assert "g:dance_pop" in track_tokens("x", ["Artist 0"], genres)["genre"]


def test_sampled_queries_score_like_all_queries_on_a_perfect_embedding() -> None:
    data, perfect = planted(n_groups=4, per_group=40)
    result = evaluate(Method("perfect", vectors=perfect), data, sample=30)
    assert result["genre_p10"] == pytest.approx(1.0) and result["artist_hit10"] == pytest.approx(1.0)


def test_colisted_encoder_learns_playlists_from_features() -> None:
    from training.metric_learning import MetricConfig, embed, info_nce, train_colisted

    rng = np.random.default_rng(0)
    group = np.repeat(np.arange(32), 40)
    # 32 groups: group identity is 4 informative features among 12 louder noisy ones.
    centres = rng.normal(0, 2, (32, 4))
    features = np.hstack([centres[group], rng.normal(0, 1.5, (len(group), 12))]).astype(np.float32)
    # Two playlists per group: train on the first of each, score on the second only.
    playlists = {
        f"{half}-{g}": np.flatnonzero(group == g)[half * 20 : half * 20 + 20]
        for g in range(32)
        for half in (0, 1)
    }
    train = [p for k, p in playlists.items() if k.startswith("0")]
    config = MetricConfig(hidden=32, dim=8, steps=120, batch=64, lr=5e-3, weight_decay=1e-3)
    model, result = train_colisted(features, train, config, device="cpu", progress=False)
    assert np.mean(result.losses[-20:]) < np.mean(result.losses[:20])
    codes = embed(model, features)
    assert codes.shape == (len(group), 8) and np.allclose(np.linalg.norm(codes, axis=1), 1.0, atol=1e-5)
    data = EvalSet.from_labels(np.arange(len(group)), group, group, group, group, playlists)
    held = data.subset_playlists([k for k in playlists if k.startswith("1")])
    learned = comembership(held, vectors=codes)["ndcg100"]
    raw = comembership(held, vectors=features)["ndcg100"]
    assert learned > raw + 0.15
    eye = torch.eye(4)
    assert float(info_nce(eye, eye, 0.1)) < 0.01
    with pytest.raises(ValueError):
        train_colisted(features, [np.array([1])], config, device="cpu", progress=False)
