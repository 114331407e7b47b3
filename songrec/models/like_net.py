"""The seed's dense like/dislike network: sonic (+ artist) features and a user embedding to a sigmoid.

After the Spotify deep-learning paper: dense ReLU layers, BCE with class weights, Adam. A learned user
embedding is concatenated to the input and a small per-user linear term is added to the logit, so each
user gets a personal decision boundary. Index 0 is the reserved global user; during training a share
of rows is dropped to it (with population-level artist features) so that it serves strangers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn


@dataclass(frozen=True)
class NetSettings:
    hidden: tuple[int, ...]
    user_dim: int
    dropout: float
    lr: float
    weight_decay: float
    epochs: int
    batch_size: int
    global_drop: float


class LikeNet(nn.Module):
    def __init__(
        self, n_in: int, n_users: int, hidden: tuple[int, ...], user_dim: int, dropout: float
    ) -> None:
        super().__init__()
        self.user_emb = nn.Embedding(n_users, user_dim)
        self.user_w = nn.Embedding(n_users, n_in)  # personal linear tilt of the boundary
        self.user_b = nn.Embedding(n_users, 1)
        nn.init.normal_(self.user_emb.weight, std=0.1)
        nn.init.zeros_(self.user_w.weight)
        nn.init.zeros_(self.user_b.weight)
        layers: list[nn.Module] = []
        width = n_in + user_dim
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU(), nn.Dropout(dropout)]
            width = h
        layers.append(nn.Linear(width, 1))
        self.mlp = nn.Sequential(*layers)

    def forward(self, users: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        h = torch.cat([x, self.user_emb(users)], dim=1)
        personal = (self.user_w(users) * x).sum(dim=1) + self.user_b(users).squeeze(1)
        return self.mlp(h).squeeze(1) + personal


def train_net(
    net: LikeNet,
    u_idx: np.ndarray,
    x_own: np.ndarray,
    x_pop: np.ndarray,
    labels: np.ndarray,
    cfg: NetSettings,
    gen: torch.Generator,
    device: torch.device,
) -> float:
    """Train in place; returns the last epoch's mean weighted loss."""
    n = len(labels)
    pos_rate = float(labels.mean())
    class_w = np.where(labels == 1.0, 0.5 / pos_rate, 0.5 / (1.0 - pos_rate)).astype(np.float32)
    t = lambda a: torch.as_tensor(a, device=device)  # noqa: E731
    tu, to, tp, ty, tw = t(u_idx), t(x_own), t(x_pop), t(labels), t(class_w)
    # Decoupled decay: a coupled L2 term reaches every user row each step while the data gradient
    # of a row shrinks as 1/(all rows), so with thousands of users it erased personal boundaries.
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    loss_fn = nn.BCEWithLogitsLoss(reduction="none")
    net.train()
    loss_sum = 0.0
    for _ in range(cfg.epochs):
        order = torch.randperm(n, generator=gen).to(device)
        loss_sum, seen = 0.0, 0
        for start in range(0, n, cfg.batch_size):
            b = order[start : start + cfg.batch_size]
            drop = torch.rand(len(b), generator=gen).to(device) < cfg.global_drop
            ub = torch.where(drop, torch.zeros_like(tu[b]), tu[b])
            xb = torch.where(drop[:, None], tp[b], to[b])
            loss = (loss_fn(net(ub, xb), ty[b]) * tw[b]).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(b)
            seen += len(b)
        loss_sum /= max(seen, 1)
    net.eval()
    return loss_sum
