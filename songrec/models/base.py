"""Shared plumbing for the learning-loop models: input checks, seeding, device choice."""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch


class ModelInputError(ValueError):
    """Raised for data a model cannot learn from or score; the message says what to fix."""


class NotFittedError(RuntimeError):
    """Raised when a model is asked to predict before fit() or load()."""


def pick_device(requested: str | None = None) -> torch.device:
    """cuda when available (or when asked for), else cpu."""
    if requested:
        return torch.device(requested)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def seed_everything(seed: int) -> torch.Generator:
    """Seed python, numpy and torch; return a torch generator for sampling on cpu."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def as_2d_float(name: str, x: object) -> np.ndarray:
    """A finite float32 matrix, or a ModelInputError naming the argument."""
    try:
        arr = np.asarray(x, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise ModelInputError(f"{name} must be numeric: {exc}") from exc
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ModelInputError(f"{name} must be a 2-D array (rows x features), got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ModelInputError(f"{name} is empty: at least one row is needed")
    if not np.isfinite(arr).all():
        raise ModelInputError(f"{name} contains NaN or infinite values; fill or drop those rows first")
    return arr


def check_same_length(**arrays: Sequence[object] | np.ndarray) -> int:
    """All arguments must have the same, non-zero number of rows; return it."""
    lengths = {name: len(a) for name, a in arrays.items()}
    if any(n == 0 for n in lengths.values()):
        empty = ", ".join(name for name, n in lengths.items() if n == 0)
        raise ModelInputError(f"no data: {empty} is empty")
    if len(set(lengths.values())) > 1:
        detail = ", ".join(f"{name}={n}" for name, n in lengths.items())
        raise ModelInputError(f"inputs must have one entry per row, but lengths differ: {detail}")
    return next(iter(lengths.values()))


def load_saved(path: str | Path, kind: str, what: str) -> dict[str, Any]:
    """A saved model's state dict, checked to be the kind the caller expects."""
    try:
        state = torch.load(Path(path), map_location="cpu", weights_only=True)
    except FileNotFoundError as exc:
        raise ModelInputError(f"no {what} saved at {path}") from exc
    if not isinstance(state, dict) or state.get("kind") != kind:
        raise ModelInputError(f"{path} is not a saved {kind}")
    return state
