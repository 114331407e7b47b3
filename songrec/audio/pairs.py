"""Training the study's song-pair network (`paper` preset) and scoring its pair classifier.

What makes the sigmoid network learn at all: input standardised by the training pictures' own mean and
spread (raw decibels saturate every sigmoid), Glorot initialisation (models.PaperPairNet), enough pairs
per epoch to take real optimiser steps (each epoch draws TrainOptions.pairs_per_track pairs a track, 9 dissimilar
for every similar one, weighted 1:10 as the study did), and each track's tower computed once per step.
A track is never paired with itself while its group has another member: an identical picture says
nothing about similarity.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from songrec.audio.models import AudioModelConfig, PaperPairNet, pair_standardise, paper_picture
from songrec.ops.progress import progress_bar

if TYPE_CHECKING:
    from songrec.audio.train import TrainItem, TrainOptions, TrainResult

#: The study's pair mix and class weights: nine dissimilar pairs per similar one, weighted 1:10.
NEGATIVES_PER_POSITIVE = 9
POSITIVE_WEIGHT = 10.0
PAIR_BATCH = 128
PAPER_LR = 1e-3


def sample_pairs(labels: np.ndarray, rng: np.random.Generator, per_track: int = 10) -> np.ndarray:
    """(i, j, similar) rows, NEGATIVES_PER_POSITIVE dissimilar pairs for every similar one.

    A track whose group has no other member is paired with itself for its similar pairs."""
    out = []
    for i in range(len(labels)):
        same = np.flatnonzero(labels == labels[i])
        partners = same[same != i]
        if len(partners) == 0:
            partners = same
        other = np.flatnonzero(labels != labels[i])
        for k in range(per_track):
            if k % (NEGATIVES_PER_POSITIVE + 1) == 0 or len(other) == 0:
                out.append((i, int(rng.choice(partners)), 1))
            else:
                out.append((i, int(rng.choice(other)), 0))
    return np.asarray(out, dtype=np.int64)


def balanced_accuracy(logits: np.ndarray, truth: np.ndarray) -> float:
    """Mean recall of both classes, "similar" meaning a sigmoid above 0.5 (a logit above 0)."""
    said = np.asarray(logits) > 0
    truth = np.asarray(truth).astype(bool)
    rates = [float((said[truth == c] == c).mean()) for c in (False, True) if (truth == c).any()]
    return float(np.mean(rates)) if rates else float("nan")


def roc_auc(scores: np.ndarray, truth: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney, ties counted half): threshold-free pair ranking quality."""
    scores = np.asarray(scores, dtype=np.float64)
    truth = np.asarray(truth).astype(bool)
    pos, neg = scores[truth], scores[~truth]
    if not len(pos) or not len(neg):
        return float("nan")
    order = np.argsort(np.concatenate([pos, neg]), kind="mergesort")
    ranks = np.empty(len(order))
    ranks[order] = np.arange(1, len(order) + 1)
    joined = np.concatenate([pos, neg])
    for value in np.unique(joined):  # average ranks of ties
        tied = joined == value
        if tied.sum() > 1:
            ranks[tied] = ranks[tied].mean()
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def pictures_of(specs: Sequence[np.ndarray]) -> torch.Tensor:
    return torch.as_tensor(np.stack([paper_picture(s) for s in specs]))


def standardised_config(config: AudioModelConfig, pictures: torch.Tensor) -> AudioModelConfig:
    """The config with the training pictures' mean and spread per mel band: the per-dataset input
    normalisation."""
    mean = pictures.mean(dim=(0, 2))
    std = pictures.std(dim=(0, 2)).clamp(min=1e-3)
    return replace(config, input_mean=tuple(mean.tolist()), input_std=tuple(std.tolist()))


def _standardise_unit(layer: nn.Conv2d | nn.Linear, pre: torch.Tensor, dims: tuple[int, ...]) -> None:
    """Rescale a layer so its pre-activation has zero mean and unit spread per unit on this batch."""
    mean, std = pre.mean(dim=dims), pre.std(dim=dims).clamp(min=1e-3)
    shape = (-1,) + (1,) * (layer.weight.dim() - 1)
    layer.weight.div_(std.view(shape))
    layer.bias.sub_(mean).div_(std)


@torch.no_grad()
def data_dependent_init(model: PaperPairNet, pictures: torch.Tensor, pairs: np.ndarray) -> None:
    """LSUV-style start: every sigmoid/ReLU layer begins centred and unit-scaled on the training data.

    Sigmoid outputs are all positive, so each next layer's input carries a large shared offset: without
    this the dense layer's sigmoids start saturated on that offset (about 2.7 against a spread of 0.2
    between pairs), the pair signal never gets through and training settles on one answer for all."""
    x = model.standardise(pictures).unsqueeze(1)
    for layer, act, pool in zip(model.tower[0:9:3], model.tower[1:9:3], model.tower[2:9:3], strict=True):
        _standardise_unit(layer, layer(x), (0, 2, 3))
        x = pool(act(layer(x)))
    towers = model.tower[9](x)
    index = torch.as_tensor(pairs)
    a, b = towers[index[:, 0]], towers[index[:, 1]]
    h = torch.cat([a, b, (pair_standardise(a) * pair_standardise(b)).mean(dim=1, keepdim=True)], dim=1)
    for layer, act in ((model.judge[0], model.judge[1]), (model.judge[2], model.judge[3])):
        _standardise_unit(layer, layer(h), (0,))
        h = act(layer(h))
    # The similarity starts at exactly 0.5 for every pair: the first steps then move the output along
    # what the features say, instead of first undoing a random confident guess by killing the ReLUs.
    nn.init.zeros_(model.judge[4].weight)
    nn.init.zeros_(model.judge[4].bias)


@torch.no_grad()
def pair_logits(model: PaperPairNet, pictures: torch.Tensor, pairs: np.ndarray) -> np.ndarray:
    model.eval()
    device = next(model.parameters()).device
    towers = model.embed(pictures.to(device))
    index = torch.as_tensor(pairs, device=device)
    return model.judge_embedded(towers[index[:, 0]], towers[index[:, 1]]).cpu().numpy()


def train_paper(
    model: PaperPairNet,
    items: Sequence[TrainItem],
    labels: np.ndarray,
    val_labels: np.ndarray,
    train_rows: np.ndarray,
    val_rows: np.ndarray,
    options: TrainOptions,
    rng: np.random.Generator,
    result: TrainResult,
) -> None:
    """Weighted BCE on freshly drawn pairs each epoch; validation loss, balanced accuracy and AUC on
    fixed pairs of the held-out tracks."""
    device = next(model.parameters()).device
    pictures = pictures_of([items[int(i)].spec for i in train_rows]).to(device)
    val_pictures = pictures_of([items[int(i)].spec for i in val_rows]).to(device)
    val_pairs = sample_pairs(val_labels, np.random.default_rng(options.seed + 1), per_track=20)
    val_target = torch.as_tensor(val_pairs[:, 2], dtype=torch.float32, device=device)
    data_dependent_init(model, pictures, sample_pairs(labels, np.random.default_rng(options.seed + 2)))
    optimiser = torch.optim.Adam(model.parameters(), lr=PAPER_LR)
    weight = torch.tensor(POSITIVE_WEIGHT, device=device)
    bar = progress_bar(
        range(options.epochs), desc="audio training (paper)", unit="epoch", enabled=options.progress
    )
    for _ in bar:
        model.train()
        pairs = torch.as_tensor(sample_pairs(labels, rng, options.pairs_per_track), device=device)
        pairs = pairs[torch.randperm(len(pairs), device=device)]
        losses = []
        for i in range(0, len(pairs), PAIR_BATCH):
            batch = pairs[i : i + PAIR_BATCH]
            tracks, where = torch.unique(batch[:, :2], return_inverse=True)
            towers = model.embed(pictures[tracks])  # each track of the batch once
            logits = model.judge_embedded(towers[where[:, 0]], towers[where[:, 1]])
            loss = F.binary_cross_entropy_with_logits(logits, batch[:, 2].float(), pos_weight=weight)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            losses.append(loss.item())
        logits = pair_logits(model, val_pictures, val_pairs)
        val = F.binary_cross_entropy_with_logits(
            torch.as_tensor(logits, device=device), val_target, pos_weight=weight
        )
        result.train_loss.append(float(np.mean(losses)))
        result.val_loss.append(float(val))
        result.val_accuracy = balanced_accuracy(logits, val_pairs[:, 2])
        result.val_auc = roc_auc(logits, val_pairs[:, 2])
        bar.set_postfix(loss=f"{result.train_loss[-1]:.3f}", val=f"{float(val):.3f}")
