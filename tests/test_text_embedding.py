"""The text branch (tokens, TF-IDF/SVD features, cache, text AE), fusion weights and the fused artifact."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.support.factories import make_catalog, small_text_config
from training.autoencoder import TrainConfig
from training.embedding import EmbeddingJob, build_embedding_artifact
from training.fusion import Fusion, FusionError, block_scale, fuse
from training.text_embedding import (
    TextConfig,
    TextEmbeddingError,
    TextFeaturizer,
    fit_text_embedding,
    text_features,
    track_sentence,
    track_tokens,
)

QUICK = TrainConfig(epochs=3, batch_size=64, patience=3)
GENRES = {"Artist 1": ["dance pop", "pop"], "Artist 2": ["indie rock"]}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SONGREC_HOME", str(tmp_path / "home"))
    genres = tmp_path / "data_w_genres.csv"
    genres.write_text("artists,genres\nArtist 1,\"['dance pop', 'pop']\"\nArtist 2,['indie rock']\n")
    return tmp_path


def small_config(home: Path, **kw: object) -> TextConfig:
    return small_text_config(home / "data_w_genres.csv", **kw)


def test_track_tokens_per_field() -> None:
    tokens = track_tokens("Blinding Lights (feat. Someone)", ["Artist 1", "The Weeknd"], GENRES)
    assert tokens["title"] == ["blinding", "lights", "feat", "someone"]
    assert tokens["artist"] == ["artist_1", "the_weeknd"]
    assert tokens["genre"] == ["g:dance_pop", "w:dance", "w:pop", "g:pop", "w:pop"]
    assert track_tokens(None, None, GENRES) == {"title": [], "artist": [], "genre": []}
    assert track_sentence("Song", ["Artist 2"], GENRES) == "Song by Artist 2. Genres: indie rock"


def test_featurizer_shapes_and_range(home: Path) -> None:
    catalog = make_catalog(n=120)
    featurizer, features = TextFeaturizer.fit(catalog, small_config(home), GENRES, progress=False)
    assert features.shape == (120, 8) and features.dtype == np.float32
    assert features.min() >= 0.0 and features.max() <= 1.0
    again = featurizer.transform(catalog, GENRES, batch=50)
    assert np.allclose(again, features, atol=1e-5)
    featurizer.save(home / "f.joblib")
    assert np.allclose(
        TextFeaturizer.load(home / "f.joblib").transform(catalog.head(5), GENRES), features[:5], atol=1e-5
    )


def test_text_features_are_cached(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    catalog = make_catalog(n=100)
    config = small_config(home)
    _, first = text_features(catalog, config, progress=False)
    assert len(list((home / "home" / "cache" / "text").iterdir())) == 1

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("refitted although cached")

    monkeypatch.setattr(TextFeaturizer, "fit", boom)
    _, second = text_features(catalog, config, progress=False)
    assert np.array_equal(first, second)
    with pytest.raises(AssertionError):  # a different catalogue is a different cache entry
        text_features(catalog.head(50), config, progress=False)


def test_text_autoencoder_codes(home: Path) -> None:
    catalog = make_catalog(n=100)
    text = fit_text_embedding(catalog, small_config(home), progress=False)
    assert text.embeddings.shape == (100, 4)
    assert np.isfinite(text.embeddings).all()
    assert len(text.result.val_mse) >= 1


def test_unknown_text_kind_is_a_clear_error(home: Path) -> None:
    with pytest.raises(TextEmbeddingError, match="tfidf"):
        TextFeaturizer.fit(make_catalog(n=20), small_config(home, kind="bert"), GENRES, progress=False)


def test_fusion_weights_set_block_spread() -> None:
    rng = np.random.default_rng(0)
    audio = rng.normal(0, 5.0, (500, 10)) + 3
    text = rng.normal(0, 0.01, (500, 4))
    fused = fuse([audio, text], [1.0, 2.0])
    assert fused.shape == (500, 14) and fused.dtype == np.float32
    assert block_scale(fused[:, :10]) == pytest.approx(1.0, rel=1e-4)
    assert block_scale(fused[:, 10:]) == pytest.approx(2.0, rel=1e-4)
    assert np.allclose(fuse([audio, text], [1.0, 0.0])[:, 10:], 0.0)
    fusion = Fusion.fit([audio, text], [1.0, 0.5])
    assert fusion.dim == 14 and fusion.as_dict()["weights"] == [1.0, 0.5]
    with pytest.raises(FusionError):
        Fusion.fit([audio, text[:10]], [1.0, 1.0])
    with pytest.raises(FusionError):
        Fusion.fit([audio, text], [1.0, -1.0])
    with pytest.raises(FusionError):
        fusion.transform([audio, audio])


def test_fused_artifact_serves_the_fused_embedding(home: Path) -> None:
    from songrec.content.engine import Engine

    catalog = make_catalog(n=150)
    job = EmbeddingJob(train=QUICK, text=small_config(home), text_weight=1.0)
    build = build_embedding_artifact(catalog, home / "artifacts", job, progress=False)
    served = np.load(build.path / "index" / "embeddings.npy")
    assert served.shape == (150, 10 + 4)
    assert (build.path / "text" / "text_model.pt").is_file()
    assert build.metrics["text_best_val_mse"] > 0
    engine = Engine.load(home / "artifacts")
    assert np.array_equal(engine.embeddings, served)
    assert engine.manifest.config["fusion"]["dims"] == [10, 4]


def test_cli_text_options_build_the_job() -> None:
    import argparse

    from training.cli import add_embedding_options, job_from_args
    from training.embedding import DEFAULT_JOB

    parser = argparse.ArgumentParser()
    add_embedding_options(parser)
    default = job_from_args(parser.parse_args([]))
    assert default.text == DEFAULT_JOB.text and default.model == DEFAULT_JOB.model
    assert default.text_weight == DEFAULT_JOB.text_weight
    assert job_from_args(parser.parse_args(["--text", "none"])).text is None
    custom = job_from_args(parser.parse_args(["--text-dim", "8", "--text-weight", "2.5"]))
    assert custom.text is not None and custom.text.model.latent == 8 and custom.text_weight == 2.5
    assert job_from_args(parser.parse_args(["--model", "cae", "--hidden", "12"])).model.hidden == 12  # type: ignore[union-attr]
    assert job_from_args(parser.parse_args(["--hidden", "12"])).model.hidden == 12  # type: ignore[union-attr]
    assert job_from_args(parser.parse_args(["--model", "deep"])).model.kind == "deep"
