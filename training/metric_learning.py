"""The co-listing encoder: pull tracks that people list together closer.

A small MLP maps a track's model inputs (the 26 audio features and the text features; never
genre, subgenre or playlist ids) to a unit-length code, trained with an in-batch contrastive
(InfoNCE) loss on pairs of tracks drawn from the same *training* playlist (training/colisting.py
holds playlists, and their tracks, out first; they are only ever used to score the result).
Because the MLP reads only features, it embeds every catalogue track, listed in a playlist or not;
the default embedding fuses its code with the audio and text autoencoders' codes.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from songrec.ops.progress import progress_bar
from songrec.settings import device as default_device
from training.autoencoder import fused_if_supported, lr_schedule
from training.parallel import seeded, torch_threads

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MetricConfig:
    hidden: int = 128
    dim: int = 32
    steps: int = 1500
    batch: int = 512  # playlists per step (distinct, at most all of them), one (anchor, positive) pair each
    lr: float = 2e-3  # the peak of the one-cycle schedule (the constant rate with schedule="constant")
    temperature: float = 0.1
    weight_decay: float = 1e-5
    seed: int = 0
    schedule: str = "constant"  # or "onecycle": warm up to lr, then anneal to ~0 (fewer steps, same loss)
    warmup: float = 0.1  # share of the steps spent warming up (one-cycle only)
    # A 154->128->32 MLP on a few hundred pairs: on a shared 2-core box a second thread costs
    # more in synchronisation than it computes (measured 32 vs 488 ms a step, loaded).
    cpu_threads: int = 1


class CoListedEncoder(nn.Module):
    """features -> hidden (ReLU) -> dim, L2-normalised (so serving's L2 ranks like cosine)."""

    def __init__(self, n_inputs: int, config: MetricConfig) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(n_inputs, config.hidden), nn.ReLU(), nn.Linear(config.hidden, config.dim)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.normalize(self.net(x), dim=1)


@dataclass
class MetricResult:
    losses: list[float]
    seconds: float

    @property
    def final_loss(self) -> float | None:
        """Mean of the last 50 steps' losses (None when nothing was trained)."""
        return round(float(np.mean(self.losses[-50:])), 4) if self.losses else None


def info_nce(anchor: torch.Tensor, positive: torch.Tensor, temperature: float) -> torch.Tensor:
    """Symmetric in-batch InfoNCE: each anchor must pick its own positive among the batch."""
    logits = anchor @ positive.T / temperature
    target = torch.arange(len(anchor), device=anchor.device)
    return 0.5 * (nn.functional.cross_entropy(logits, target) + nn.functional.cross_entropy(logits.T, target))


@dataclass(frozen=True)
class PairSampler:
    """Playlists as one flat array of rows plus offsets, so a step's pairs are drawn with array
    operations instead of a Python loop over the batch (same draws as the loop it replaced)."""

    members: np.ndarray
    starts: np.ndarray
    sizes: np.ndarray

    @classmethod
    def of(cls, playlists: list[np.ndarray]) -> PairSampler:
        sizes = np.array([len(p) for p in playlists], dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        return cls(np.concatenate(playlists).astype(np.int64), starts, sizes)

    def draw(self, rng: np.random.Generator, batch: int) -> tuple[np.ndarray, np.ndarray]:
        """(anchors, positives): two different tracks from each of ``batch`` distinct playlists."""
        # Distinct playlists per batch: a second pair from the same playlist would be a false negative.
        chosen = rng.choice(len(self.sizes), size=batch, replace=False)
        sizes = self.sizes[chosen]
        i = (rng.random(batch) * sizes).astype(np.int64)
        j = (i + 1 + (rng.random(batch) * (sizes - 1)).astype(np.int64)) % sizes
        base = self.starts[chosen]
        return self.members[base + i], self.members[base + j]


def train_colisted(
    features: np.ndarray,
    playlists: list[np.ndarray],
    config: MetricConfig | None = None,
    device: str | None = None,
    progress: bool = True,
) -> tuple[CoListedEncoder, MetricResult]:
    """Train on ``playlists`` (arrays of row numbers into ``features``; training playlists only)."""
    config = config or MetricConfig()
    playlists = [np.unique(p) for p in playlists if len(np.unique(p)) >= 2]
    if not playlists:
        raise ValueError("need at least one playlist with two tracks to learn from")
    device = device or default_device()
    with torch_threads(device, config.cpu_threads):
        return _train(features, PairSampler.of(playlists), config, device, progress)


def _train(
    features: np.ndarray, sampler: PairSampler, config: MetricConfig, device: str, progress: bool
) -> tuple[CoListedEncoder, MetricResult]:
    rng = np.random.default_rng(config.seed)
    x = torch.as_tensor(features, dtype=torch.float32, device=device)
    with seeded(config.seed):
        model = CoListedEncoder(features.shape[1], config)
    model.to(device)
    optimiser = torch.optim.AdamW(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay, **fused_if_supported(device)
    )
    scheduler = lr_schedule(optimiser, config.schedule, config.lr, config.steps, config.warmup)
    batch = min(config.batch, len(sampler.sizes))
    losses: list[float] = []
    started = time.perf_counter()
    bar = progress_bar(
        range(config.steps), desc="co-listing encoder", unit="step", enabled=progress, mininterval=1.0
    )
    model.train()
    for _ in bar:
        a, b = sampler.draw(rng, batch)
        # One forward pass over anchors and positives together: half the per-call overhead.
        codes = model(x[torch.as_tensor(np.concatenate([a, b]), device=device)])
        loss = info_nce(codes[:batch], codes[batch:], config.temperature)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        if scheduler is not None:
            scheduler.step()
        losses.append(float(loss.detach()))
        if len(losses) % 50 == 0:
            bar.set_postfix(loss=f"{np.mean(losses[-50:]):.3f}")
    model.eval()
    return model, MetricResult(losses, time.perf_counter() - started)


@torch.no_grad()
def embed(model: CoListedEncoder, features: np.ndarray, batch: int = 16384) -> np.ndarray:
    device = next(model.parameters()).device
    out = [
        model(torch.as_tensor(features[s : s + batch], dtype=torch.float32, device=device)).cpu().numpy()
        for s in range(0, len(features), batch)
    ]
    return np.concatenate(out).astype(np.float32)
