"""A short training run on synthesised styles lowers validation loss; the artifact round-trips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("soundfile")

from songrec.audio.artifact import embedding_frame, load_artifact, save_artifact
from songrec.audio.cache import SpectrogramCache
from songrec.audio.hybrid import HYBRID_WEIGHTS, MFCC_COEFFICIENTS, combine, mfcc_stats
from songrec.audio.library import LibraryEntry
from songrec.audio.models import (
    PAPER_SHAPE,
    AudioModelConfig,
    PaperPairNet,
    build,
    embed_spectrograms,
    network_vectors,
    output_dims,
)
from songrec.audio.pairs import balanced_accuracy, roc_auc, sample_pairs
from songrec.audio.train import TrainItem, TrainOptions, random_crop, supervised_nt_xent, train_model
from tests.support.audio_files import style_library

SMALL = AudioModelConfig(dims=16, channels=(8, 16, 16, 16), crop_frames=48, crops_per_file=4)


@pytest.fixture(scope="module")
def items(tmp_path_factory: pytest.TempPathFactory) -> list[TrainItem]:
    folder = tmp_path_factory.mktemp("styles")
    cache = SpectrogramCache(folder / "cache")
    files = style_library(folder, per_style=6, seconds=4.0)
    return [TrainItem(cache.get(p), None) for p in files]


def test_the_paper_network_has_the_studys_shape() -> None:
    net = build(AudioModelConfig(preset="paper"))
    assert isinstance(net, PaperPairNet)
    activations = [type(m).__name__ for m in net.tower]
    assert activations.count("Sigmoid") == 3 and activations.count("MaxPool2d") == 3
    dense = [m for m in net.judge if isinstance(m, torch.nn.Linear)]
    assert [d.out_features for d in dense] == [100, 30, 1]
    assert dense[0].in_features == 2 * net.flat + 1  # both towers and their dot product
    x = torch.zeros(3, *PAPER_SHAPE) - 40
    assert net(x, x).shape == (3,)


def test_the_loss_prefers_views_of_one_track() -> None:
    a = torch.nn.functional.normalize(torch.randn(4, 8), dim=1)
    labels = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    aligned = a.repeat_interleave(2, dim=0)
    scrambled = torch.nn.functional.normalize(torch.randn(8, 8), dim=1)
    assert supervised_nt_xent(aligned, labels) < supervised_nt_xent(scrambled, labels)


def test_short_contrastive_training_lowers_validation_loss(items: list[TrainItem]) -> None:
    result = train_model(items, SMALL, TrainOptions(epochs=8, batch=12, val_share=0.3, progress=False))
    assert result.device in ("cpu", "cuda", "cuda:0")
    assert len(result.val_loss) == 8
    assert min(result.val_loss[-3:]) < result.val_loss[0]
    vectors = embed_spectrograms(result.model, [i.spec for i in items])
    assert (
        vectors.shape
        == (len(items), SMALL.dims + 2 * MFCC_COEFFICIENTS)
        == (
            len(items),
            output_dims(result.model),
        )
    )
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_the_paper_pair_classifier_learns_two_styles(items: list[TrainItem]) -> None:
    """It used to answer 0.5 for every pair (balanced accuracy 0.500): the study's sigmoid network must
    tell pairs of unseen tracks apart once its input is standardised and its layers start unit-scaled."""
    grouped = [TrainItem(it.spec, "low" if i % 2 == 0 else "click") for i, it in enumerate(items)]
    options = TrainOptions(epochs=5, val_share=0.35, pairs_per_track=30, progress=False)
    result = train_model(grouped, AudioModelConfig(preset="paper"), options)
    assert result.val_auc is not None and result.val_auc > 0.8
    assert result.val_accuracy is not None and result.val_accuracy > 0.6
    assert result.val_loss[-1] < result.val_loss[0]
    metrics = result.metrics()
    assert (metrics["val_balanced_accuracy"], metrics["val_auc"]) == (result.val_accuracy, result.val_auc)
    assert len(result.config.input_mean) == PAPER_SHAPE[0]  # per mel band, kept with the model


def test_pair_scores() -> None:
    truth = np.asarray([1, 0, 0, 0, 1, 0])
    assert balanced_accuracy(np.asarray([2.0, -1, -1, 3, 0.5, -2]), truth) == pytest.approx((1 + 0.75) / 2)
    assert balanced_accuracy(np.zeros(6), truth) == 0.5  # one answer for every pair: chance
    assert roc_auc(np.asarray([0.9, 0.1, 0.2, 0.3, 0.8, 0.0]), truth) == 1.0
    assert roc_auc(np.zeros(6), truth) == 0.5  # all tied
    pairs = sample_pairs(np.asarray([0, 0, 1, 1, 2]), np.random.default_rng(0), per_track=10)
    assert pairs[:, 2].mean() == pytest.approx(0.1)
    alone = pairs[pairs[:, 0] == 4]
    assert not any(p[0] == p[1] for p in pairs if p[0] != 4 and p[2] == 1)  # partners, not itself
    assert all(p[1] == 4 for p in alone if p[2] == 1)  # a track alone in its group: itself


def test_the_artifact_round_trips_weights_and_library(tmp_path: Path, items: list[TrainItem]) -> None:
    result = train_model(items, SMALL, TrainOptions(epochs=1, progress=False))
    entries = [
        LibraryEntry(f"/music/{i}.ogg", f"T{i}", None, None, False, None, 100) for i in range(len(items))
    ]
    vectors = embed_spectrograms(result.model, [i.spec for i in items])
    version = save_artifact(result, embedding_frame(entries, vectors), b"png", root=tmp_path)
    loaded = load_artifact(tmp_path)
    assert loaded.version == version and loaded.config == result.config and result.config.hybrid_ready
    np.testing.assert_allclose(loaded.vectors, vectors, atol=1e-6)
    again = embed_spectrograms(loaded.model, [i.spec for i in items])
    np.testing.assert_allclose(again, vectors, atol=1e-5)
    assert (tmp_path / "audio" / version / "loss.png").read_bytes() == b"png"


def test_the_served_embedding_is_the_hybrid_fitted_on_training_tracks(items: list[TrainItem]) -> None:
    """Two styles as groups: training fits the [CNN | MFCC] statistics and picks the MFCC weight on its
    validation tracks; a config without statistics (an older artifact) serves the CNN alone."""
    grouped = [TrainItem(it.spec, "low" if i % 2 == 0 else "click") for i, it in enumerate(items)]
    result = train_model(grouped, SMALL, TrainOptions(epochs=2, val_share=0.35, progress=False))
    config = result.config
    assert config.hybrid_ready and result.model.config == config
    assert config.mfcc_weight in HYBRID_WEIGHTS and set(result.hybrid_scores) == {
        f"{w:g}" for w in HYBRID_WEIGHTS
    }
    assert len(config.cnn_mean) == SMALL.dims and len(config.mfcc_std) == 2 * MFCC_COEFFICIENTS
    specs = [i.spec for i in items]
    served = embed_spectrograms(result.model, specs)
    cnn = network_vectors(result.model, specs)
    mfcc = np.stack([mfcc_stats(s) for s in specs])
    stats = (config.cnn_mean, config.cnn_std, config.mfcc_mean, config.mfcc_std)
    np.testing.assert_allclose(served, combine(cnn, mfcc, config.mfcc_weight, stats), atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(served, axis=1), 1.0, atol=1e-5)
    # the MFCC block carries weight w against the CNN block's 1
    w = config.mfcc_weight
    np.testing.assert_allclose(
        np.linalg.norm(served[:, SMALL.dims :], axis=1), w / np.sqrt(1 + w * w), atol=1e-5
    )
    result.model.config = SMALL  # no fitted statistics: the network's own vector
    np.testing.assert_allclose(embed_spectrograms(result.model, specs), cnn, atol=1e-6)


def test_mfcc_stats_of_an_empty_or_constant_spectrogram() -> None:
    assert mfcc_stats(np.zeros((64, 0), np.float32)).shape == (2 * MFCC_COEFFICIENTS,)
    flat = mfcc_stats(np.full((64, 10), -80.0, np.float32))
    assert np.allclose(flat[MFCC_COEFFICIENTS:], 0.0) and flat[0] < 0  # no spread; energy in c0 only
    assert np.allclose(flat[1:MFCC_COEFFICIENTS], 0.0, atol=1e-4)


def test_crops_come_from_anywhere_and_strong_augmentation_masks_more() -> None:
    spec = np.linspace(-60.0, -10.0, 64 * 600, dtype=np.float32).reshape(64, 600)
    rng = np.random.default_rng(0)
    starts = {float(random_crop(spec, 48, rng, augment=False)[0, 0]) for _ in range(40)}
    assert len(starts) > 20  # many different starts across the minute
    plain = [random_crop(spec, 48, np.random.default_rng(s), True) for s in range(200)]
    strong = [random_crop(spec, 48, np.random.default_rng(s), True, strong=True) for s in range(200)]
    assert np.mean([(c == -80.0).mean() for c in strong]) > np.mean([(c == -80.0).mean() for c in plain])
    assert all(c.shape == (64, 48) and c.min() >= -80.0 and c.max() <= 0.0 for c in strong)
