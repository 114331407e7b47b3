"""Weighted concatenation of embedding blocks (audio AE code, text AE code, ...).

Each block is divided by its RMS distance to its own mean, so every block contributes the same
spread to a squared L2 distance before its weight is applied. Without that, whichever
autoencoder happens to produce larger numbers would decide the neighbours on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class FusionError(ValueError):
    """Blocks that cannot be fused (row counts differ, bad weights)."""


def block_scale(block: np.ndarray) -> float:
    """sqrt(mean squared distance to the block mean): the block's typical spread."""
    block = np.asarray(block, dtype=np.float64)
    centred = block - block.mean(axis=0, keepdims=True)
    scale = float(np.sqrt((centred**2).sum(axis=1).mean())) if len(block) else 0.0
    return scale if scale > 1e-12 else 1.0


@dataclass(frozen=True)
class Fusion:
    """Fitted per-block scales and weights; apply with :meth:`transform`."""

    weights: tuple[float, ...]
    scales: tuple[float, ...]
    dims: tuple[int, ...]

    @classmethod
    def fit(cls, blocks: list[np.ndarray], weights: list[float] | tuple[float, ...]) -> Fusion:
        if len(blocks) != len(weights) or not blocks:
            raise FusionError("give one weight per embedding block")
        if any(w < 0 for w in weights):
            raise FusionError(f"fusion weights must be >= 0, got {list(weights)}")
        if len({len(b) for b in blocks}) != 1:
            raise FusionError(f"blocks have different row counts: {[len(b) for b in blocks]}")
        return cls(
            weights=tuple(float(w) for w in weights),
            scales=tuple(block_scale(b) for b in blocks),
            dims=tuple(int(b.shape[1]) for b in blocks),
        )

    def transform(self, blocks: list[np.ndarray]) -> np.ndarray:
        if [b.shape[1] for b in blocks] != list(self.dims):
            raise FusionError(
                f"expected blocks of widths {list(self.dims)}, got {[b.shape[1] for b in blocks]}"
            )
        parts = [
            np.asarray(b, dtype=np.float32) * np.float32(w / s)
            for b, w, s in zip(blocks, self.weights, self.scales, strict=True)
        ]
        return np.hstack(parts).astype(np.float32)

    @property
    def dim(self) -> int:
        return sum(self.dims)

    def as_dict(self) -> dict[str, list[float] | list[int]]:
        return {"weights": list(self.weights), "scales": list(self.scales), "dims": list(self.dims)}


def fuse(blocks: list[np.ndarray], weights: list[float] | tuple[float, ...]) -> np.ndarray:
    """Fit and apply in one go (the catalogue is the only data ever fused)."""
    return Fusion.fit(blocks, weights).transform(blocks)
