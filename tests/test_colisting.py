"""The co-listing stage: a leak-free playlist split, its training data, and its place in the default job."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.support.factories import make_catalog, small_text_config
from training.autoencoder import TrainConfig
from training.colisting import CoListingError, is_heldout, load_colistings, training_colistings
from training.embedding import EmbeddingJob, build_embedding_artifact, fit_job
from training.metric_learning import MetricConfig

QUICK = TrainConfig(epochs=3, batch_size=64, patience=3)
SMALL_METRIC = MetricConfig(hidden=16, dim=4, steps=40, batch=8)


def memberships(catalog: pd.DataFrame, n_playlists: int = 40, size: int = 12) -> pd.DataFrame:
    """Playlists that mix sonic styles 0 and 1, or 2 and 3 (the catalogue's styles are rows i % 4):
    only the co-listings, not the audio features, say that styles 0 and 1 belong together."""
    rng = np.random.default_rng(0)
    ids = catalog["track_id"].to_numpy()
    rows = []
    for p in range(n_playlists):
        style = np.flatnonzero(np.arange(len(ids)) % 4 // 2 == p % 2)
        for r in rng.choice(style, size, replace=False):
            rows.append({"track_id": ids[r], "playlist_id": f"pl{p:03d}"})
    return pd.DataFrame(rows)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SONGREC_HOME", str(tmp_path / "home"))
    (tmp_path / "data_w_genres.csv").write_text("artists,genres\nArtist 1,\"['dance pop', 'pop']\"\n")
    return tmp_path


def job(home: Path, **kw: object) -> EmbeddingJob:
    text = small_text_config(home / "data_w_genres.csv")
    base = EmbeddingJob(train=QUICK, text=text, text_weight=1.0, colisted=SMALL_METRIC, colisted_weight=2.0)
    return replace(base, **kw)  # type: ignore[arg-type]


def test_heldout_rule_is_stable_and_near_its_share() -> None:
    ids = [f"37i9dQZF1DX{i:05d}" for i in range(5000)]
    flags = [is_heldout(p) for p in ids]
    assert 0.18 < np.mean(flags) < 0.22
    assert flags == [is_heldout(p) for p in ids]
    assert is_heldout("x", share=1.0) and not is_heldout("x", share=0.0)


def test_training_playlists_never_contain_a_heldout_track() -> None:
    catalog = make_catalog(n=400)
    members = memberships(catalog)
    listings = training_colistings(catalog, members)
    held_ids = {p for p in members["playlist_id"] if is_heldout(p)}
    assert held_ids and listings.heldout_playlists == len(held_ids)
    row_of = {t: i for i, t in enumerate(catalog["track_id"])}
    held_rows = {row_of[t] for t in members.loc[members["playlist_id"].isin(held_ids), "track_id"]}
    trained_rows = set(np.concatenate(listings.playlists).tolist())
    assert trained_rows and not trained_rows & held_rows
    assert listings.heldout_tracks == len(held_rows)
    assert all(len(p) >= 2 for p in listings.playlists)
    assert listings.summary()["train_playlists"] == len(listings.playlists)


def test_no_overlap_and_missing_file_are_reported(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    catalog = make_catalog(n=50)
    with pytest.raises(CoListingError, match="no catalogue track"):
        training_colistings(catalog, pd.DataFrame({"track_id": ["nope"], "playlist_id": ["p"]}))
    with caplog.at_level(logging.WARNING):
        assert load_colistings(catalog, tmp_path / "absent.csv.gz") is None
    assert "skipping the co-listing stage" in caplog.text
    broken = tmp_path / "broken.csv"
    broken.write_text("not,a,playlist\nfile,at,all\n")
    assert load_colistings(catalog, broken) is None


def test_default_job_fuses_the_colisting_block_and_records_it(home: Path) -> None:
    from songrec.content.engine import Engine

    catalog = make_catalog(n=240)
    playlists = home / "songs.csv"
    memberships(catalog, n_playlists=30).to_csv(playlists, index=False)
    build = build_embedding_artifact(
        catalog, home / "artifacts", job(home), progress=False, playlists=playlists
    )
    served = np.load(build.path / "index" / "embeddings.npy")
    assert served.shape == (240, 10 + 4 + 4)
    engine = Engine.load(home / "artifacts")
    assert engine.manifest.config["fusion"]["dims"] == [10, 4, 4]
    assert engine.manifest.config["fusion"]["weights"] == [1.0, 1.0, 2.0]
    info = engine.manifest.info["colisted"]
    assert info["train_playlists"] > 0 and info["heldout_playlists"] > 0
    assert (build.path / "colisted.pt").is_file() and build.metrics["colisted_seconds"] >= 0


def test_without_playlists_the_job_still_builds_audio_and_text(home: Path) -> None:
    catalog = make_catalog(n=120)
    fitted = fit_job(catalog, job(home), progress=False, playlists=home / "absent.csv")
    assert fitted.colisted is None and fitted.embeddings.shape == (120, 10 + 4)


def test_colisting_block_pulls_colisted_styles_together(home: Path) -> None:
    catalog = make_catalog(n=240)
    playlists = home / "songs.csv"
    memberships(catalog, n_playlists=30).to_csv(playlists, index=False)
    style = np.arange(len(catalog)) % 4

    def gap(steps: int) -> float:
        """Mean cosine of style 0 with style 1 (co-listed) minus with style 2 (never co-listed)."""
        config = MetricConfig(hidden=32, dim=8, steps=steps, batch=16, lr=5e-3)
        fitted = fit_job(catalog, job(home, colisted=config), progress=False, playlists=playlists)
        assert fitted.colisted is not None
        codes = fitted.colisted.embeddings
        return float(
            (codes[style == 0] @ codes[style == 1].T).mean()
            - (codes[style == 0] @ codes[style == 2].T).mean()
        )

    untrained, trained = gap(0), gap(200)
    assert trained > 0.3 and trained > untrained + 0.3


def test_cli_colisting_options() -> None:
    import argparse

    from training.cli import add_embedding_options, job_from_args

    parser = argparse.ArgumentParser()
    add_embedding_options(parser)
    assert job_from_args(parser.parse_args([])).colisted is not None
    assert job_from_args(parser.parse_args(["--colisted", "off"])).colisted is None
    paper = job_from_args(parser.parse_args(["--model", "cae", "--hidden", "10", "--text", "none"]))
    assert paper.colisted is None and paper.text is None  # the paper recipe stays audio-only
    on = job_from_args(parser.parse_args(["--text", "none", "--colisted", "on", "--colisted-weight", "3"]))
    assert on.colisted is not None and on.colisted_weight == 3.0
