"""Autoencoders that turn a track's feature vector into the embedding the index searches.

Pure torch modules: no I/O and no training loop (that lives in `training/`), so the serving
side can load weights without pulling in training code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "elu": nn.ELU,
    "leaky_relu": nn.LeakyReLU,
    "gelu": nn.GELU,
}


def activation(name: str | None) -> nn.Module:
    if name is None or name == "none":
        return nn.Identity()
    try:
        return ACTIVATIONS[name]()
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}") from None


@dataclass(frozen=True)
class CAEConfig:
    n_inputs: int = 26
    hidden: int = 10
    lam: float = 1e-4  # weight of the contractive penalty

    kind: str = "cae"


class ContractiveAutoencoder(nn.Module):
    """The paper's 26->10 ReLU encoder and 10->26 sigmoid decoder.

    The contractive penalty ||J||_F^2 of a one-layer ReLU encoder has a closed form:
    dh_j/dx = 1[h_j > 0] * W_j, so ||J||_F^2 = sum_j 1[h_j > 0] * ||W_j||^2. That costs one
    matrix-vector product instead of a Jacobian per sample.
    """

    def __init__(self, config: CAEConfig | None = None) -> None:
        super().__init__()
        self.config = config or CAEConfig()
        self.encoder_linear = nn.Linear(self.config.n_inputs, self.config.hidden)
        self.decoder = nn.Sequential(nn.Linear(self.config.hidden, self.config.n_inputs), nn.Sigmoid())

    @property
    def latent_dim(self) -> int:
        return self.config.hidden

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.encoder_linear(x))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.encode(x)
        return self.decoder(h), h

    def contractive_penalty(self, h: torch.Tensor) -> torch.Tensor:
        """Mean over the batch of ||J||_F^2, in closed form."""
        row_norms = (self.encoder_linear.weight**2).sum(dim=1)  # ||W_j||^2, shape (hidden,)
        return ((h > 0).to(h.dtype) @ row_norms).mean()

    def loss(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(training loss, reconstruction MSE): the MSE alone is what validation compares."""
        recon, h = self(x)
        mse = nn.functional.mse_loss(recon, x)
        return mse + self.config.lam * self.contractive_penalty(h), mse


@dataclass(frozen=True)
class DeepAEConfig:
    n_inputs: int = 26
    encoder: tuple[int, ...] = (64, 32)
    activations: tuple[str, ...] = ("relu",)  # one per encoder layer, or one for all
    latent: int = 10
    latent_activation: str | None = None
    l1_activity: float = 0.0
    l2_activity: float = 0.0
    dropout: float = 0.0

    kind: str = "deep"

    def activation_for(self, layer: int) -> str:
        return self.activations[layer] if len(self.activations) > 1 else self.activations[0]


#: The MSD paper's 128-64-3-64-128 shape.
MSD_PRESET = DeepAEConfig(encoder=(128, 64), latent=3, activations=("relu",))


class DeepAutoencoder(nn.Module):
    """Configurable encoder, mirrored decoder, sigmoid output (inputs live in [0, 1])."""

    def __init__(self, config: DeepAEConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or DeepAEConfig()
        if len(config.activations) not in (1, len(config.encoder)):
            raise ValueError("give one activation, or one per encoder layer")
        sizes = [config.n_inputs, *config.encoder]
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(sizes, sizes[1:], strict=False)):
            layers += [nn.Linear(a, b), activation(config.activation_for(i))]
            if config.dropout:
                layers.append(nn.Dropout(config.dropout))
        layers += [nn.Linear(sizes[-1], config.latent), activation(config.latent_activation)]
        self.encoder = nn.Sequential(*layers)
        back = [config.latent, *reversed(config.encoder)]
        dec: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(back, back[1:], strict=False)):
            dec += [nn.Linear(a, b), activation(config.activation_for(len(config.encoder) - 1 - i))]
        dec += [nn.Linear(back[-1], config.n_inputs), nn.Sigmoid()]
        self.decoder = nn.Sequential(*dec)

    @property
    def latent_dim(self) -> int:
        return self.config.latent

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.encode(x)
        return self.decoder(z), z

    def loss(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        recon, z = self(x)
        mse = nn.functional.mse_loss(recon, x)
        reg = torch.zeros((), device=x.device)
        if self.config.l1_activity:
            reg = reg + self.config.l1_activity * z.abs().sum(dim=1).mean()
        if self.config.l2_activity:
            reg = reg + self.config.l2_activity * (z**2).sum(dim=1).mean()
        return mse + reg, mse


Autoencoder = ContractiveAutoencoder | DeepAutoencoder
AEConfig = CAEConfig | DeepAEConfig


def build_autoencoder(config: AEConfig | dict[str, Any]) -> Autoencoder:
    if isinstance(config, dict):
        config = dict(config)
        kind = config.pop("kind", "cae")
        if kind == "cae":
            config = CAEConfig(**config)
        else:
            for key in ("encoder", "activations"):
                if key in config:
                    config[key] = tuple(config[key])
            config = DeepAEConfig(**config)
    if isinstance(config, CAEConfig):
        return ContractiveAutoencoder(config)
    return DeepAutoencoder(config)
