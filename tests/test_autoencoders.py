from __future__ import annotations

import numpy as np
import pytest
import torch

from songrec.models.autoencoders import (
    MSD_PRESET,
    CAEConfig,
    ContractiveAutoencoder,
    DeepAEConfig,
    DeepAutoencoder,
    build_autoencoder,
)
from training.autoencoder import TrainConfig, encode, evaluate_mse, split, train_autoencoder


def jacobian_norm_autograd(model: ContractiveAutoencoder, x: torch.Tensor) -> torch.Tensor:
    total = torch.zeros(())
    for sample in x:
        jac = torch.autograd.functional.jacobian(model.encode, sample)
        total = total + (jac**2).sum()
    return total / len(x)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_closed_form_penalty_equals_autograd_jacobian(seed: int) -> None:
    torch.manual_seed(seed)
    model = ContractiveAutoencoder(CAEConfig(hidden=10))
    x = torch.rand(16, 26)
    _, h = model(x)
    assert torch.allclose(
        model.contractive_penalty(h), jacobian_norm_autograd(model, x), rtol=1e-5, atol=1e-6
    )


def test_cae_shapes_and_loss_parts() -> None:
    model = ContractiveAutoencoder()
    x = torch.rand(8, 26)
    recon, h = model(x)
    assert recon.shape == (8, 26) and h.shape == (8, 10)
    assert (recon > 0).all() and (recon < 1).all()  # sigmoid decoder
    loss, mse = model.loss(x)
    assert loss >= mse


def test_deep_ae_is_configurable_and_mirrored() -> None:
    model = DeepAutoencoder(DeepAEConfig(encoder=(32, 16), activations=("tanh", "relu"), latent=4))
    x = torch.rand(5, 26)
    recon, z = model(x)
    assert z.shape == (5, 4) and recon.shape == (5, 26)
    linear = [m for m in model.decoder if isinstance(m, torch.nn.Linear)]
    assert [m.out_features for m in linear] == [16, 32, 26]
    assert MSD_PRESET.encoder == (128, 64) and MSD_PRESET.latent == 3


def test_activity_regulariser_adds_to_the_loss() -> None:
    torch.manual_seed(0)
    plain = DeepAutoencoder(DeepAEConfig(latent=6))
    reg = DeepAutoencoder(DeepAEConfig(latent=6, l1_activity=1.0, l2_activity=1.0))
    reg.load_state_dict(plain.state_dict())
    x = torch.rand(10, 26)
    assert reg.loss(x)[0] > plain.loss(x)[0]
    assert torch.allclose(reg.loss(x)[1], plain.loss(x)[1])


def test_bad_configs_are_refused() -> None:
    with pytest.raises(ValueError, match="activation"):
        DeepAutoencoder(DeepAEConfig(activations=("nope",)))
    with pytest.raises(ValueError):
        DeepAutoencoder(DeepAEConfig(encoder=(8, 8, 8), activations=("relu", "tanh")))


def test_build_from_saved_dict_round_trips() -> None:
    from dataclasses import asdict

    deep = DeepAEConfig(encoder=(20, 10), latent=5)
    assert build_autoencoder(asdict(deep)).config == deep
    assert build_autoencoder(asdict(CAEConfig(hidden=7))).config.hidden == 7


def test_short_training_lowers_validation_loss() -> None:
    rng = np.random.default_rng(0)
    latent = rng.random((600, 3))
    x = (1 / (1 + np.exp(-(latent @ rng.normal(size=(3, 26)))))).astype(np.float32)
    model = ContractiveAutoencoder()
    _, val_rows = split(len(x), 0.2, 0)
    before = evaluate_mse(model, torch.as_tensor(x[val_rows]))
    result = train_autoencoder(
        model, x, TrainConfig(epochs=15, batch_size=32, lr=1e-2), device="cpu", progress=False
    )
    assert result.best_val_mse < 0.5 * before
    assert len(result.val_mse) == len(result.train_loss) <= 15
    assert encode(model, x).shape == (600, 10)


def test_early_stopping_stops() -> None:
    x = np.full((50, 26), 0.5, dtype=np.float32)
    result = train_autoencoder(
        ContractiveAutoencoder(),
        x,
        TrainConfig(epochs=200, patience=2, lr=5e-2, batch_size=10, min_delta=1e-3),
        device="cpu",
        progress=False,
    )
    assert result.stopped_early and len(result.val_mse) < 200


def test_training_needs_data() -> None:
    with pytest.raises(ValueError, match="two"):
        train_autoencoder(
            ContractiveAutoencoder(), np.zeros((1, 26), np.float32), device="cpu", progress=False
        )
