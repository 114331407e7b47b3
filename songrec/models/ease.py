"""EASE, the closed-form item-item model of Steck (2019), "Embarrassingly Shallow Autoencoders".

B = I - P / diag(P) with P = (X'X + lambda I)^-1 and a zero diagonal, so an item is predicted from the
other items a user has, never from itself. On Last.fm it ranks as well as the tuned factor model, and
the CF model adds its score to the factor logit (see ``songrec.models.cf``). The inverse costs
O(items^3) time and O(items^2) memory, so only the ``max_items`` most-used items take part; the others
score 0 from this part.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch

from songrec.models.base import ModelInputError


@dataclass(frozen=True)
class EASEConfig:
    lam: float = 2000.0  # L2 on B; Last.fm's validation hold-out liked 1000-4000 on log1p play counts
    min_users: int = 2  # an item needs this many users in the profile matrix to take part
    max_items: int = 4000  # the most-used items kept: B is max_items^2 floats, its inverse max_items^3


@dataclass
class EASE:
    """The item-item weights over the kept items (``items``: their indices in the full catalogue)."""

    items: torch.Tensor  # (k,) int64, ascending
    weights: torch.Tensor  # (k, k) float32, zero diagonal
    n_items: int

    def __post_init__(self) -> None:
        self._column = torch.full((self.n_items,), -1, dtype=torch.int64, device=self.items.device)
        self._column[self.items] = torch.arange(len(self.items), device=self.items.device)

    def column_of(self) -> torch.Tensor:
        """Full item index -> position among the kept items, -1 for items left out."""
        return self._column

    def scores(self, profile: torch.Tensor, items: torch.Tensor | None = None) -> torch.Tensor:
        """profile: (U, k) rows over the kept items -> (U, n_items) scores, or (U, len(items)).

        Only the rows of B that some profile uses are read: a few users' likes touch a small part of B.
        """
        active = (profile != 0).any(dim=0).nonzero().squeeze(1)
        sub, weights = profile[:, active], self.weights[active]
        if items is None:
            out = torch.zeros(profile.shape[0], self.n_items, dtype=profile.dtype, device=profile.device)
            out[:, self.items] = sub @ weights
            return out
        pos = self._column[items]
        known = pos >= 0
        out = torch.zeros(profile.shape[0], len(items), dtype=profile.dtype, device=profile.device)
        out[:, known] = sub @ weights[:, pos[known]]
        return out


def kept_items(rows: np.ndarray, cols: np.ndarray, n_items: int, cfg: EASEConfig) -> np.ndarray:
    """Items with >= min_users distinct rows, the max_items most-used of them, ascending."""
    pairs = np.unique(rows.astype(np.int64) * n_items + cols.astype(np.int64))
    users = np.bincount(pairs % n_items, minlength=n_items)
    eligible = np.flatnonzero(users >= cfg.min_users)
    if len(eligible) > cfg.max_items:
        eligible = eligible[np.argsort(-users[eligible], kind="stable")[: cfg.max_items]]
    return np.sort(eligible)


def fit_ease(profile: sp.csr_matrix, items: np.ndarray, cfg: EASEConfig, device: torch.device) -> EASE:
    """EASE from a (users, n_items) sparse profile matrix, restricted to the kept ``items``.

    The Gram matrix is a sparse product on the host; the Cholesky inverse (the O(k^3) part) runs on
    ``device``, float32 (lambda keeps the system well conditioned).
    """
    sub = profile[:, items].astype(np.float32)  # float32 from the start: the dense Gram is k^2 floats
    gram = torch.as_tensor((sub.T @ sub).toarray(), device=device)
    del sub
    gram.diagonal().add_(cfg.lam)
    # In place: one k x k matrix alive, not three (this was the peak of a million-vote retrain's memory).
    info = torch.empty((), dtype=torch.int32, device=device)
    torch.linalg.cholesky_ex(gram, out=(gram, info))
    if int(info) != 0:
        raise ModelInputError(f"EASE: the Gram matrix is not positive definite (lambda {cfg.lam})")
    p = torch.cholesky_inverse(gram, out=gram)
    weights = p.div_(-p.diagonal().clone()[None, :])
    weights.diagonal().zero_()
    return EASE(torch.as_tensor(items, dtype=torch.int64, device=device), weights, profile.shape[1])
