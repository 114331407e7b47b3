"""The served audio embedding: [CNN vector | MFCC mean+std vector], each block standardised, unit length
and weighted, the whole a unit vector.

Why: with a few dozen training tracks the contrastive CNN alone beats MFCC statistics on the tracks of
soundtracks it saw, but only narrowly on music it never heard; the two describe different things (learnt
texture vs timbre summary), and their blend wins both columns of bench/audio.py. The standardisation
statistics and the MFCC block's weight are fitted on the training tracks only (the weight by a split
inside them: validation tracks as queries against all training tracks), stored in the model's config,
and applied by every path that embeds audio (training's library, `songrec audio embed`, fusion, seeds).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
from scipy.fft import dct

if TYPE_CHECKING:
    from songrec.audio.models import AudioModelConfig

#: MFCC block weights training chooses from (0: the CNN alone).
HYBRID_WEIGHTS = (0.0, 0.5, 0.75, 1.0, 1.5, 2.0)
#: The weight used when the training tracks give no basis to choose (no two share a group).
DEFAULT_HYBRID_WEIGHT = 1.0
MFCC_COEFFICIENTS = 20


def mfcc_stats(spec: np.ndarray, coefficients: int = MFCC_COEFFICIENTS) -> np.ndarray:
    """Mean and spread over time of the first `coefficients` DCT-II coefficients of the log-mel."""
    spec = np.asarray(spec, dtype=np.float64)
    if spec.shape[1] == 0:
        return np.zeros(2 * coefficients, dtype=np.float32)
    mfcc = dct(spec, type=2, axis=0, norm="ortho")[:coefficients]
    return np.concatenate([mfcc.mean(axis=1), mfcc.std(axis=1)]).astype(np.float32)


def spreads(x: np.ndarray) -> np.ndarray:
    """Per-dimension spread, floored at 5% of the mean spread: a dimension (nearly) constant on a few
    training tracks must not dominate a new file's vector once divided by it."""
    std = x.std(axis=0)
    return np.maximum(std, 0.05 * float(std.mean()) + 1e-9)


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def _block(x: np.ndarray, mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    return _unit((x - np.asarray(mean)) / np.maximum(np.asarray(std), 1e-9))


def combine(
    cnn: np.ndarray,
    mfcc: np.ndarray,
    weight: float,
    stats: tuple[Sequence[float], Sequence[float], Sequence[float], Sequence[float]],
) -> np.ndarray:
    """Unit vectors [standardised unit CNN block | weight x standardised unit MFCC block]."""
    cnn_mean, cnn_std, mfcc_mean, mfcc_std = stats
    joined = np.hstack([_block(cnn, cnn_mean, cnn_std), weight * _block(mfcc, mfcc_mean, mfcc_std)])
    return _unit(joined).astype(np.float32)


def _precision_at_k(vectors: np.ndarray, labels: np.ndarray, queries: np.ndarray, k: int = 5) -> float:
    sim = vectors @ vectors.T
    np.fill_diagonal(sim, -np.inf)
    k = min(k, len(labels) - 1)
    return float(np.mean([(labels[np.argsort(-sim[q])[:k]] == labels[q]).mean() for q in queries]))


def choose_hybrid_weight(
    cnn: np.ndarray,
    mfcc: np.ndarray,
    labels: np.ndarray,
    queries: np.ndarray,
    stats: tuple[Sequence[float], Sequence[float], Sequence[float], Sequence[float]],
) -> tuple[float, dict[str, float]]:
    """The MFCC weight with the best same-group precision@5 of the validation tracks (`queries`) among
    all training tracks (ties: the lighter weight), and every weight's score."""
    usable = [q for q in queries if (labels == labels[q]).sum() > 1]
    if not usable:
        return DEFAULT_HYBRID_WEIGHT, {}
    scores = {
        f"{w:g}": _precision_at_k(combine(cnn, mfcc, w, stats), labels, np.asarray(usable))
        for w in HYBRID_WEIGHTS
    }
    best = max(HYBRID_WEIGHTS, key=lambda w: (round(scores[f"{w:g}"], 9), -w))
    return best, scores


def fitted_config(
    config: AudioModelConfig, cnn: np.ndarray, mfcc: np.ndarray, labels: np.ndarray, queries: np.ndarray
) -> tuple[AudioModelConfig, dict[str, float]]:
    """`config` with the hybrid's statistics (from these training tracks) and its chosen MFCC weight."""
    stats = (
        tuple(float(v) for v in cnn.mean(0)),
        tuple(float(v) for v in spreads(cnn)),
        tuple(float(v) for v in mfcc.mean(0)),
        tuple(float(v) for v in spreads(mfcc)),
    )
    weight, scores = choose_hybrid_weight(cnn, mfcc, np.asarray(labels), np.asarray(queries), stats)
    fitted = replace(
        config,
        cnn_mean=stats[0],
        cnn_std=stats[1],
        mfcc_mean=stats[2],
        mfcc_std=stats[3],
        mfcc_weight=weight,
    )
    return fitted, scores
