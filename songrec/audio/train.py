"""Training the spectrogram networks on cached spectrograms: GPU when there is one, CPU otherwise.

Tracks (not crops) are split into training and validation, so the validation loss says how the model
does on songs it never saw. `group` is what two tracks share when they belong together (an album or
artist tag, a soundtrack); tracks without one are only ever paired with themselves.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from songrec.audio.hybrid import fitted_config, mfcc_stats
from songrec.audio.models import (
    AudioModelConfig,
    ContrastiveEncoder,
    PaperPairNet,
    build,
    fit_frames,
    network_vectors,
)
from songrec.audio.pairs import pictures_of, standardised_config, train_paper
from songrec.ops.progress import progress_bar

log = logging.getLogger(__name__)

TEMPERATURE = 0.1


@dataclass(frozen=True)
class TrainItem:
    spec: np.ndarray  # (N_MELS, frames) decibels
    group: str | None = None


@dataclass(frozen=True)
class TrainOptions:
    epochs: int = 30
    batch: int = 32
    lr: float = 2e-3
    val_share: float = 0.15
    seed: int = 0
    device: str | None = None  # None: cuda when available
    pairs_per_track: int = 60  # paper: pairs drawn per training track each epoch
    weight_decay: float = 1e-2  # contrastive: AdamW's (1e-4 overfit the 42 bench tracks more)
    strong_augment: bool = True  # contrastive: larger gain, two frequency and two time masks
    early_stop: bool = False  # contrastive: keep the weights of the epoch with the lowest validation loss
    progress: bool = True


@dataclass
class TrainResult:
    model: nn.Module
    config: AudioModelConfig
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    seconds: float = 0.0
    device: str = "cpu"
    tracks: int = 0
    val_accuracy: float | None = None  # paper: balanced accuracy of the pair classifier on held-out pairs
    val_auc: float | None = None  # paper: its ROC AUC on the same pairs
    hybrid_scores: dict[str, float] = field(default_factory=dict)  # MFCC weight -> validation precision@5

    def metrics(self) -> dict[str, object]:
        out: dict[str, object] = {
            "train_loss": self.train_loss[-1] if self.train_loss else None,
            "val_loss": self.val_loss[-1] if self.val_loss else None,
            "first_val_loss": self.val_loss[0] if self.val_loss else None,
            "epochs": len(self.train_loss),
            "seconds": round(self.seconds, 1),
            "device": self.device,
            "tracks": self.tracks,
        }
        if self.val_accuracy is not None:
            out["val_balanced_accuracy"] = self.val_accuracy
        if self.val_auc is not None:
            out["val_auc"] = self.val_auc
        if self.hybrid_scores:
            out["hybrid_val_precision_at_5"] = self.hybrid_scores
            out["mfcc_weight"] = self.config.mfcc_weight
        return out


def pick_device(wanted: str | None = None) -> torch.device:
    return torch.device(wanted or ("cuda" if torch.cuda.is_available() else "cpu"))


def split_tracks(n: int, share: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Shuffled (train, validation) track numbers; at least two of each when there are four tracks."""
    order = rng.permutation(n)
    val = max(2, int(round(n * share))) if n >= 4 else 0
    return order[val:], (order[:val] if val else order)


def labels_for(items: Sequence[TrainItem], rows: np.ndarray) -> np.ndarray:
    """One integer label per row: shared by rows of one group, unique for rows without a group."""
    names: dict[str, int] = {}
    out = []
    for i in rows:
        group = items[int(i)].group
        key = f"g:{group}" if group else f"t:{int(i)}"
        out.append(names.setdefault(key, len(names)))
    return np.asarray(out, dtype=np.int64)


def train_model(
    items: Sequence[TrainItem], config: AudioModelConfig | None = None, options: TrainOptions | None = None
) -> TrainResult:
    config = config or AudioModelConfig()
    options = options or TrainOptions()
    if len(items) < 2:
        raise ValueError("training needs at least two readable audio files")
    torch.manual_seed(options.seed)
    rng = np.random.default_rng(options.seed)
    device = pick_device(options.device)
    train_rows, val_rows = split_tracks(len(items), options.val_share, rng)
    if config.preset == "paper":
        config = standardised_config(config, pictures_of([items[int(i)].spec for i in train_rows]))
    model = build(config).to(device)
    result = TrainResult(model=model, config=config, device=str(device), tracks=len(items))
    started = time.monotonic()
    if isinstance(model, PaperPairNet):
        labels, val_labels = labels_for(items, train_rows), labels_for(items, val_rows)
        train_paper(model, items, labels, val_labels, train_rows, val_rows, options, rng, result)
    else:
        assert isinstance(model, ContrastiveEncoder)
        _train_contrastive(model, items, train_rows, val_rows, options, rng, device, result)
        if config.hybrid:
            _fit_hybrid(model, items, val_rows, result)
    result.seconds = time.monotonic() - started
    model.eval()
    return result


def _fit_hybrid(
    model: ContrastiveEncoder, items: Sequence[TrainItem], val_rows: np.ndarray, result: TrainResult
) -> None:
    """Standardisation statistics from the training tracks, the MFCC weight from their validation part."""
    specs = [item.spec for item in items]
    cnn = network_vectors(model, specs)
    mfcc = np.stack([mfcc_stats(s) for s in specs])
    labels = labels_for(items, np.arange(len(items)))
    fitted, scores = fitted_config(model.config, cnn, mfcc, labels, val_rows)
    model.config = fitted
    result.config = fitted
    result.hybrid_scores = scores


# Contrastive ------------------------------------------------------------------------------------


def random_crop(
    spec: np.ndarray, frames: int, rng: np.random.Generator, augment: bool, strong: bool = False
) -> np.ndarray:
    """A crop from anywhere in the (first-minute) spectrogram; augmented: a random gain and a masked
    mel band and time span (strong: a larger gain, two of each, wider)."""
    start = int(rng.integers(0, max(spec.shape[1] - frames, 0) + 1))
    crop = fit_frames(np.asarray(spec[:, start:], dtype=np.float32), frames).copy()
    if augment:
        crop = np.clip(crop + float(rng.normal(0, 6.0 if strong else 3.0)), -80.0, 0.0)
        for _ in range(2 if strong else 1):
            band = int(rng.integers(0, crop.shape[0] // (6 if strong else 8) + 1))
            low = int(rng.integers(0, crop.shape[0] - band + 1))
            crop[low : low + band] = -80.0
            span = int(rng.integers(0, frames // (6 if strong else 8) + 1))
            at = int(rng.integers(0, frames - span + 1))
            crop[:, at : at + span] = -80.0
    return crop


def supervised_nt_xent(
    z: torch.Tensor, labels: torch.Tensor, temperature: float = TEMPERATURE
) -> torch.Tensor:
    """NT-Xent where every other view with the same label is a positive (SupCon's L_out)."""
    sim = z @ z.T / temperature
    eye = torch.eye(len(z), dtype=torch.bool, device=z.device)
    sim = sim.masked_fill(eye, -1e9)
    positive = (labels[:, None] == labels[None, :]) & ~eye
    log_prob = sim - torch.logsumexp(sim, dim=1, keepdim=True)
    per_anchor = -(log_prob * positive).sum(1) / positive.sum(1).clamp(min=1)
    return per_anchor[positive.any(1)].mean()


def _views(
    items: Sequence[TrainItem],
    rows: np.ndarray,
    frames: int,
    rng: np.random.Generator,
    augment: bool,
    strong: bool = False,
) -> np.ndarray:
    return np.stack(
        [random_crop(items[int(i)].spec, frames, rng, augment, strong) for i in rows for _ in range(2)]
    )


def _train_contrastive(
    model: ContrastiveEncoder,
    items: Sequence[TrainItem],
    train_rows: np.ndarray,
    val_rows: np.ndarray,
    options: TrainOptions,
    rng: np.random.Generator,
    device: torch.device,
    result: TrainResult,
) -> None:
    frames = model.config.crop_frames
    optimiser = torch.optim.AdamW(model.parameters(), lr=options.lr, weight_decay=options.weight_decay)
    val_rng = np.random.default_rng(options.seed + 1)
    val_x = torch.as_tensor(_views(items, val_rows, frames, val_rng, augment=False)).to(device)
    val_y = torch.as_tensor(np.repeat(labels_for(items, val_rows), 2)).to(device)
    train_labels = labels_for(items, train_rows)
    batch = max(2, min(options.batch, len(train_rows)))
    best: dict[str, torch.Tensor] | None = None
    bar = progress_bar(range(options.epochs), desc="audio training", unit="epoch", enabled=options.progress)
    for _ in bar:
        model.train()
        order = rng.permutation(len(train_rows))
        losses = []
        for i in range(0, len(order) - 1, batch):
            picked = order[i : i + batch]
            if len(picked) < 2:
                continue
            x = torch.as_tensor(
                _views(items, train_rows[picked], frames, rng, augment=True, strong=options.strong_augment)
            ).to(device)
            y = torch.as_tensor(np.repeat(train_labels[picked], 2)).to(device)
            loss = supervised_nt_xent(model(x), y)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            losses.append(loss.item())
        model.eval()
        with torch.no_grad():
            val = float(supervised_nt_xent(model(val_x), val_y))
        result.train_loss.append(float(np.mean(losses)) if losses else float("nan"))
        result.val_loss.append(val)
        bar.set_postfix(loss=f"{result.train_loss[-1]:.3f}", val=f"{val:.3f}")
        if options.early_stop and val <= min(result.val_loss):
            best = {k: v.detach().clone() for k, v in model.state_dict().items()}
    if options.early_stop and best is not None:
        model.load_state_dict(best)
