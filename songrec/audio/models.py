"""The spectrogram networks: the study's song-pair CNN (`paper`) and the contrastive encoder (`contrastive`).

`paper` is the "Content based music recommendation with deep learning" network: a 40x120 picture of
the first minute, three convolutions with sigmoid activations and 2x2 max-pooling per song, the two
flattened outputs concatenated with their dot product, dense 100 (sigmoid) and 30 (relu) units and a
sigmoid similarity, trained with binary cross-entropy on 9:1 imbalanced pairs weighted 1:10
(songrec/audio/pairs.py). Two changes make it learn here: the input is standardised per mel band by the
training set's statistics, and the "dot product" is of the two towers' outputs standardised (their
correlation), since the raw dot of all-positive sigmoid outputs is about the same for every pair.

`contrastive` (the default; bench/audio.py chose it) embeds short crops with batch-normalised
convolutions pooled over time and frequency, trained so two crops of one track (and tracks sharing an
album or artist tag) are nearer than any other pair in the batch (NT-Xent). The network's vector of a file
is the mean over crops covering the excerpt, L2-normalised; the served embedding appends an MFCC mean+std
block to it (songrec/audio/hybrid.py), which bench/audio.py found ahead of either alone.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from songrec.audio.spectrogram import N_MELS, downscale

PRESETS = ("contrastive", "paper")
DEFAULT_PRESET = "contrastive"
PAPER_SHAPE = (40, 120)
SIGMOID_GAIN = 4.0


@dataclass(frozen=True)
class AudioModelConfig:
    preset: str = DEFAULT_PRESET
    dims: int = 64  # contrastive: the embedding size
    channels: tuple[int, ...] = (16, 32, 64, 128)
    crop_frames: int = 128  # ~4 s at 31.25 frames a second
    crops_per_file: int = 8  # crops averaged into a file's embedding
    paper_channels: tuple[int, int, int] = (8, 16, 16)
    #: paper: the training pictures' mean and spread in decibels per mel band (set by training; one
    #: value is every band's), so the sigmoid convolutions see unit-scale input, not raw decibels.
    input_mean: tuple[float, ...] = (-40.0,)
    input_std: tuple[float, ...] = (20.0,)
    #: contrastive: serve the hybrid [CNN | MFCC mean+std] embedding (songrec/audio/hybrid.py). Training
    #: sets the statistics below from the training tracks and picks mfcc_weight (0: the CNN alone); a
    #: config without statistics (an older artifact) serves the CNN alone.
    hybrid: bool = True
    mfcc_weight: float = 1.0
    cnn_mean: tuple[float, ...] = ()
    cnn_std: tuple[float, ...] = ()
    mfcc_mean: tuple[float, ...] = ()
    mfcc_std: tuple[float, ...] = ()

    @property
    def hybrid_ready(self) -> bool:
        return self.preset == "contrastive" and self.hybrid and bool(self.cnn_mean) and bool(self.mfcc_mean)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> AudioModelConfig:
        values = dict(data)
        for name in (
            "channels",
            "paper_channels",
            "input_mean",
            "input_std",
            "cnn_mean",
            "cnn_std",
            "mfcc_mean",
            "mfcc_std",
        ):
            if name in values:
                values[name] = tuple(values[name])  # type: ignore[arg-type]
        return cls(**values)  # type: ignore[arg-type]


def normalise_db(spec: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Decibels in [-80, 0] to roughly unit scale around 0."""
    return (torch.as_tensor(spec, dtype=torch.float32) + 40.0) / 20.0


class ContrastiveEncoder(nn.Module):
    """(batch, N_MELS, frames) -> (batch, dims) unit vectors."""

    def __init__(self, config: AudioModelConfig) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        previous = 1
        for width in config.channels:
            layers += [
                nn.Conv2d(previous, width, 3, padding=1, bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
            ]
            previous = width
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.Linear(2 * previous, 128), nn.ReLU(inplace=True), nn.Linear(128, config.dims)
        )
        self.config = config

    def pooled(self, x: torch.Tensor) -> torch.Tensor:
        h = self.features(normalise_db(x).unsqueeze(1))
        h = h.mean(dim=2)  # over frequency
        return torch.cat([h.mean(dim=2), h.amax(dim=2)], dim=1)  # over time: mean and max

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.head(self.pooled(x)), dim=1)


def pair_standardise(x: torch.Tensor) -> torch.Tensor:
    return (x - x.mean(dim=1, keepdim=True)) / x.std(dim=1, keepdim=True).clamp(min=1e-6)


class PaperPairNet(nn.Module):
    """The study's song-pair network; `tower` alone is the embedding of one song."""

    def __init__(self, config: AudioModelConfig) -> None:
        super().__init__()
        a, b, c = config.paper_channels
        self.tower = nn.Sequential(
            nn.Conv2d(1, a, 3, padding=1),
            nn.Sigmoid(),
            nn.MaxPool2d(2),
            nn.Conv2d(a, b, 3, padding=1),
            nn.Sigmoid(),
            nn.MaxPool2d(2),
            nn.Conv2d(b, c, 3, padding=1),
            nn.Sigmoid(),
            nn.MaxPool2d(2),
            nn.Flatten(),
        )
        flat = c * (PAPER_SHAPE[0] // 8) * (PAPER_SHAPE[1] // 8)
        self.judge = nn.Sequential(
            nn.Linear(2 * flat + 1, 100), nn.Sigmoid(), nn.Linear(100, 30), nn.ReLU(), nn.Linear(30, 1)
        )
        self.config = config
        self.flat = flat
        # Glorot's uniform init, 4x for the layers feeding a sigmoid (its slope is 1/4 at 0), so the signal
        # and the gradient neither vanish through three sigmoid convolutions nor all ReLUs start dead.
        layers = [m for m in self.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
        for layer, gain in zip(
            layers, (SIGMOID_GAIN, SIGMOID_GAIN, SIGMOID_GAIN, SIGMOID_GAIN, 1.0, 1.0), strict=True
        ):
            nn.init.xavier_uniform_(layer.weight, gain=gain)
            nn.init.constant_(layer.bias, 0.0 if gain != 1.0 else 0.01)

    def embed(self, pictures: torch.Tensor) -> torch.Tensor:
        return self.tower(self.standardise(pictures).unsqueeze(1))

    def standardise(self, pictures: torch.Tensor) -> torch.Tensor:
        x = torch.as_tensor(pictures, dtype=torch.float32)
        mean = torch.tensor(self.config.input_mean, dtype=torch.float32, device=x.device)[:, None]
        std = torch.tensor(self.config.input_std, dtype=torch.float32, device=x.device)[:, None]
        return (x - mean) / std

    def judge_embedded(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Logits of "similar" for two towers' outputs (training embeds each track once per step).

        The dot product is of the two outputs standardised (their correlation): the raw dot of two
        all-positive sigmoid outputs is nearly the same for every pair and drowned among 2x1200 inputs."""
        dot = (pair_standardise(a) * pair_standardise(b)).mean(dim=1, keepdim=True)
        return self.judge(torch.cat([a, b, dot], dim=1)).squeeze(1)

    def forward(self, left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
        """Logits of "similar" (the sigmoid is in the loss, BCEWithLogits, for stability)."""
        return self.judge_embedded(self.embed(left), self.embed(right))


def build(config: AudioModelConfig) -> nn.Module:
    if config.preset == "paper":
        return PaperPairNet(config)
    if config.preset == "contrastive":
        return ContrastiveEncoder(config)
    raise ValueError(f"unknown audio preset {config.preset!r}; choose one of {', '.join(PRESETS)}")


def crop_starts(frames: int, crop: int, count: int) -> list[int]:
    """`count` crop starts evenly covering `frames` (one at 0 when the clip is shorter than a crop)."""
    if frames <= crop:
        return [0]
    return sorted({int(round(s)) for s in np.linspace(0, frames - crop, count)})


def fit_frames(spec: np.ndarray, frames: int) -> np.ndarray:
    """The spectrogram cut or padded (with silence) to exactly `frames` columns."""
    if spec.shape[1] >= frames:
        return spec[:, :frames]
    pad = np.full((spec.shape[0], frames - spec.shape[1]), -80.0, dtype=np.float32)
    return np.concatenate([spec, pad], axis=1)


def paper_picture(spec: np.ndarray) -> np.ndarray:
    """The study's input: the whole (first-minute) spectrogram down-scaled to 40x120."""
    return downscale(fit_frames(spec, max(spec.shape[1], PAPER_SHAPE[1])), PAPER_SHAPE)


def output_dims(model: nn.Module) -> int:
    """How many numbers embed_spectrograms gives a file with this model."""
    if isinstance(model, PaperPairNet):
        return model.flat
    config: AudioModelConfig = model.config  # type: ignore[assignment]
    return config.dims + (len(config.mfcc_mean) if config.hybrid_ready else 0)


def embed_spectrograms(model: nn.Module, specs: list[np.ndarray], batch: int = 64) -> np.ndarray:
    """The served audio embedding: the hybrid [CNN | MFCC] unit vector when the model carries its
    fitted statistics, else the network's own vector."""
    from songrec.audio.hybrid import combine, mfcc_stats

    cnn = network_vectors(model, specs, batch)
    config = getattr(model, "config", None)
    if not isinstance(config, AudioModelConfig) or not config.hybrid_ready or not len(specs):
        return cnn
    mfcc = np.stack([mfcc_stats(s) for s in specs])
    stats = (config.cnn_mean, config.cnn_std, config.mfcc_mean, config.mfcc_std)
    return combine(cnn, mfcc, config.mfcc_weight, stats)


@torch.no_grad()
def network_vectors(model: nn.Module, specs: list[np.ndarray], batch: int = 64) -> np.ndarray:
    """One float32 vector per spectrogram from the network alone, in eval mode on its own device."""
    model.eval()
    device = next(model.parameters()).device
    if isinstance(model, PaperPairNet):
        out = []
        for i in range(0, len(specs), batch):
            pictures = torch.as_tensor(np.stack([paper_picture(s) for s in specs[i : i + batch]]))
            out.append(model.embed(pictures.to(device)).cpu().numpy())
        flat = model.flat
        return np.concatenate(out).astype(np.float32) if out else np.zeros((0, flat), np.float32)
    config: AudioModelConfig = model.config  # type: ignore[assignment]
    crops: list[np.ndarray] = []
    owner: list[int] = []
    for i, spec in enumerate(specs):
        spec = np.asarray(spec, dtype=np.float32)
        for start in crop_starts(spec.shape[1], config.crop_frames, config.crops_per_file):
            crops.append(fit_frames(spec[:, start:], config.crop_frames))
            owner.append(i)
    vectors = np.zeros((len(specs), config.dims), dtype=np.float64)
    for i in range(0, len(crops), batch):
        x = torch.as_tensor(np.stack(crops[i : i + batch])).to(device)
        got = model(x).cpu().numpy()
        np.add.at(vectors, np.asarray(owner[i : i + batch]), got)
    norms = np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return (vectors / norms).astype(np.float32)


assert N_MELS % 16 == 0, "four 2x2 poolings need a mel count divisible by 16"
