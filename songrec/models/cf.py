"""Collaborative-filtering baseline after the content-based deep-learning paper.

User and item embeddings (64-d by default); their dot product, concatenated with optional item
features, goes through dense 128 ReLU -> dropout 0.5 -> one logit. A per-item bias and the raw dot
product are added to that logit so that ranking keeps the full resolution of the factor model.

Feedback semantics for ``value``: > 0 is a like (its size is a confidence, e.g. a play count, scaled
by log1p), < 0 is an explicit dislike, and unobserved items sampled at random each epoch are weak
negatives with a lower weight. Users unseen at training time are handled by fold-in: a fresh user
vector is optimised against the frozen item side and head.

The factors come from weighted ALS with frequency-scaled regularisation (``songrec.models.als``); the
head starts at zero, so training begins from the factor model's ranking exactly, and then learns the
head and item biases with the weighted BCE objective (calibrated logits for the hybrid ranker; item
features such as audio can shift a song up or down). On Last.fm, letting BCE also move the factors,
or starting them from PureSVD or at random, ranked worse (see bench/cf.py). Fold-in for a new user is
the same least-squares solve against the trained item factors.

With ``ease_weight`` > 0 the logit also gets ``ease_weight`` times an EASE score (Steck 2019, see
``songrec.models.ease``) computed from the user's profile: their likes (log1p of the value), their
dislikes (``-ease_dislike``) and, at fit time only, any side evidence the caller has (tags a user gave
an item, what their friends play). The factor model and the item-item model make different mistakes,
so on Last.fm the sum ranks better than either (bench/cf.py). A folded-in user's vector then carries
their profile over EASE's items after the factor part.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from songrec.models.als import ALSConfig, solve_rows, weighted_als
from songrec.models.base import (
    ModelInputError,
    NotFittedError,
    as_2d_float,
    check_same_length,
    load_saved,
    pick_device,
    seed_everything,
)
from songrec.models.ease import EASE, EASEConfig, fit_ease, kept_items

UserRef = int | np.ndarray  # a trained user's index, or a vector returned by fold_in()


@dataclass
class CFConfig:
    """Defaults are the ones tuned on a Last.fm validation hold-out (see bench/cf.py).

    The ALS penalty and confidence were chosen there by a grid over (reg, exponent, alpha); BCE on top
    only calibrates the head. For small feedback sets raise epochs and lower batch_size so that the
    optimiser takes enough steps.
    """

    dim: int = 64
    hidden: int = 128
    dropout: float = 0.5
    epochs: int = 3
    batch_size: int = 16384
    lr: float = 2e-3
    l2: float = 1e-4  # penalty on the embeddings and biases touched by a batch
    neg_ratio: int = 8  # sampled unobserved items per positive, per epoch
    neg_weight: float = 4.0  # weight of a sampled (weak) negative; explicit dislikes weigh dislike_weight
    dislike_weight: float = 4.0
    confidence_alpha: float = 0.5  # positive weight = 1 + alpha * log1p(value), normalised to mean 1
    residual_dot: bool = True
    init: str = "als"  # "als" (weighted ALS solution), "svd" (PureSVD) or "random"
    als_reg: float = 1.8
    als_reg_exponent: float = 0.5  # a row's ALS penalty grows as (1 + its interactions)^exponent
    als_iters: int = 15
    train_factors: bool = False  # False: keep the warm-start factors, learn only the head and item biases
    fold_in_steps: int = 150
    fold_in_lr: float = 0.05
    fold_in_l2: float = 1e-3
    ease_weight: float = 0.0  # 0: the factor model alone; > 0: logit += ease_weight * EASE score
    ease_lambda: float = 2000.0
    ease_min_users: int = 2
    ease_max_items: int = 4000
    ease_dislike: float = 0.0  # a dislike's (negative) entry in the EASE profile; 0 ignores dislikes
    seed: int = 0
    device: str | None = None


class _CFNet(nn.Module):
    def __init__(self, n_users: int, n_items: int, n_feat: int, cfg: CFConfig) -> None:
        super().__init__()
        self.user = nn.Embedding(n_users, cfg.dim)
        self.item = nn.Embedding(n_items, cfg.dim)
        self.item_bias = nn.Embedding(n_items, 1)
        nn.init.normal_(self.user.weight, std=0.1)
        nn.init.normal_(self.item.weight, std=0.1)
        nn.init.zeros_(self.item_bias.weight)
        self.head = nn.Sequential(
            nn.Linear(1 + n_feat, cfg.hidden), nn.ReLU(), nn.Dropout(cfg.dropout), nn.Linear(cfg.hidden, 1)
        )
        self.register_buffer("features", torch.zeros(n_items, n_feat))
        self.residual_dot = cfg.residual_dot

    def logits(self, u: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """u: (B, dim) user vectors; items: (B,) item indices -> (B,) logits."""
        dot = (u * self.item(items)).sum(dim=1, keepdim=True)
        out = self.head(torch.cat([dot, self.features[items]], dim=1)).squeeze(1)
        out = out + self.item_bias(items).squeeze(1)
        return out + dot.squeeze(1) if self.residual_dot else out

    def all_logits(self, u: torch.Tensor) -> torch.Tensor:
        """u: (U, dim) -> (U, n_items) logits over every item, in user chunks to bound memory."""
        first, rest = self.head[0], self.head[1:]
        assert isinstance(first, nn.Linear)
        item_part = self.features @ first.weight[:, 1:].T + first.bias  # (n_items, hidden), shared by users
        w_dot = first.weight[:, 0]
        n_items = item_part.shape[0]
        step = max(1, 2**25 // max(n_items * item_part.shape[1], 1))
        outs = []
        for s in range(0, u.shape[0], step):
            dot = u[s : s + step] @ self.item.weight.T  # (chunk, n_items)
            out = rest(dot.unsqueeze(2) * w_dot + item_part).squeeze(2) + self.item_bias.weight.T
            outs.append(out + dot if self.residual_dot else out)
        return torch.cat(outs, dim=0)


class CFModel:
    """fit(user_idx, item_idx, value[, item_features]) then score / recommend / fold_in / similar_items."""

    def __init__(self, config: CFConfig | None = None) -> None:
        self.config = config or CFConfig()
        self.device = pick_device(self.config.device)
        self._net: _CFNet | None = None
        self._ease: EASE | None = None
        self._profile: sp.csr_matrix | None = None  # trained users' EASE profiles over EASE's items
        self.n_users = 0
        self.n_items = 0

    # ---- helpers --------------------------------------------------------------------------------
    def _fitted(self) -> _CFNet:
        if self._net is None:
            raise NotFittedError("the CF model is not trained yet: call fit() or load() first")
        return self._net

    @staticmethod
    def _indices(name: str, values: object) -> np.ndarray:
        arr = np.asarray(values)
        if arr.ndim != 1:
            arr = arr.reshape(-1)
        integral = np.issubdtype(arr.dtype, np.integer) or (
            np.issubdtype(arr.dtype, np.floating) and bool(np.all(np.mod(arr, 1) == 0))
        )
        if arr.size and not integral:
            raise ModelInputError(f"{name} must hold integer indices")
        arr = arr.astype(np.int64)
        if arr.size and arr.min() < 0:
            raise ModelInputError(f"{name} must hold non-negative indices")
        return arr

    def _check_items(self, items: np.ndarray) -> None:
        if items.size and items.max() >= self.n_items:
            raise ModelInputError(
                f"item index {int(items.max())} is out of range: the model knows {self.n_items} items"
            )

    def _weights(self, value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Labels and loss weights for observed feedback."""
        cfg = self.config
        label = (value > 0).astype(np.float32)
        w = np.where(value > 0, 1.0 + cfg.confidence_alpha * np.log1p(np.abs(value)), cfg.dislike_weight)
        pos = value > 0
        if pos.any():
            w[pos] /= w[pos].mean()
        return label, w.astype(np.float32)

    @property
    def _ease_size(self) -> int:
        return 0 if self._ease is None else len(self._ease.items)

    def _user_parts(self, user: UserRef) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(1, dim) factor vector and (1, k) EASE profile (None without EASE) of a user."""
        net = self._fitted()
        dim = self.config.dim
        if isinstance(user, np.ndarray | torch.Tensor) and np.ndim(user) == 1:
            if len(user) != dim + self._ease_size:
                raise ModelInputError(
                    f"a user vector has {dim + self._ease_size} entries (from fold_in()), got {len(user)}"
                )
            vec = torch.as_tensor(np.asarray(user, dtype=np.float32), device=self.device).unsqueeze(0)
            return vec[:, :dim], (vec[:, dim:] if self._ease is not None else None)
        idx = int(user)  # type: ignore[arg-type]
        if not 0 <= idx < self.n_users:
            raise ModelInputError(
                f"unknown user {idx}: the model knows users 0..{self.n_users - 1}; use fold_in()"
            )
        return net.user.weight[idx : idx + 1].detach(), self._profile_rows(np.array([idx]))

    def _profile_rows(self, users: np.ndarray) -> torch.Tensor | None:
        if self._profile is None:
            return None
        return torch.as_tensor(self._profile[users].toarray(), device=self.device)

    def _ease_profile(
        self, users: np.ndarray, items: np.ndarray, vals: np.ndarray, n_rows: int
    ) -> sp.csr_matrix:
        """(n_rows, n_items) EASE input: log1p of a pair's summed likes, -ease_dislike for a dislike."""
        uniq, inv = np.unique(users * self.n_items + items, return_inverse=True)
        merged = np.bincount(inv, weights=vals)
        entry = np.where(merged > 0, np.log1p(np.abs(merged)), -self.config.ease_dislike)
        nz = entry != 0
        return sp.csr_matrix(
            (entry[nz].astype(np.float32), (uniq[nz] // self.n_items, uniq[nz] % self.n_items)),
            shape=(n_rows, self.n_items),
        )

    def _fit_ease(self, users: np.ndarray, items: np.ndarray, vals: np.ndarray, side: object | None) -> None:
        cfg = self.config
        profile = self._ease_profile(users, items, vals, self.n_users)
        if side is not None:
            extra = sp.csr_matrix(side, dtype=np.float32)
            if extra.shape != profile.shape:
                raise ModelInputError(
                    f"side has shape {extra.shape}; it must be (users, items) = {profile.shape}"
                )
            profile = (profile + extra).tocsr()
        coo = profile.tocoo()
        liked = coo.data > 0
        ease_cfg = EASEConfig(cfg.ease_lambda, cfg.ease_min_users, cfg.ease_max_items)
        keep = kept_items(coo.row[liked], coo.col[liked], self.n_items, ease_cfg)
        if len(keep) == 0:
            self._ease, self._profile = None, None
            return
        self._ease = fit_ease(profile, keep, ease_cfg, self.device)
        self._profile = profile[:, keep].tocsr()

    def _add_ease(
        self, logits: torch.Tensor, profile: torch.Tensor | None, items: torch.Tensor | None
    ) -> torch.Tensor:
        if profile is None or self._ease is None:
            return logits
        return logits + self.config.ease_weight * self._ease.scores(profile, items)

    # ---- training -------------------------------------------------------------------------------
    def fit(
        self,
        user_idx: object,
        item_idx: object,
        value: object,
        item_features: object | None = None,
        n_users: int | None = None,
        n_items: int | None = None,
        on_epoch: Callable[[int, float], None] | None = None,
        side: object | None = None,
    ) -> dict[str, float]:
        """Train from feedback rows; returns the final epoch's mean loss and the sizes seen.

        on_epoch(epoch, loss), if given, is called after each epoch (progress logs, learning curves).
        side, if given, is a (users, items) sparse matrix of extra evidence added to the EASE profile
        (used only when ease_weight > 0).
        """
        users = self._indices("user_idx", user_idx)
        items = self._indices("item_idx", item_idx)
        vals = np.asarray(value, dtype=np.float32).reshape(-1)
        n = check_same_length(user_idx=users, item_idx=items, value=vals)
        if not np.isfinite(vals).all() or (vals == 0).any():
            raise ModelInputError(
                "value must be finite and non-zero: > 0 for a like/play count, < 0 for a dislike"
            )
        if not (vals > 0).any():
            raise ModelInputError("no positive feedback: at least one like is needed to learn from")
        self.n_users = max(int(users.max()) + 1, n_users or 0)
        self.n_items = max(int(items.max()) + 1, n_items or 0)
        feats = np.zeros((self.n_items, 0), dtype=np.float32)
        if item_features is not None:
            feats = as_2d_float("item_features", item_features)
            if feats.shape[0] < self.n_items:
                raise ModelInputError(
                    f"item_features has {feats.shape[0]} rows but item indices reach {self.n_items - 1}"
                )
            self.n_items = feats.shape[0]
        cfg = self.config
        gen = seed_everything(cfg.seed)
        rng = np.random.default_rng(cfg.seed)
        net = _CFNet(self.n_users, self.n_items, feats.shape[1], cfg).to(self.device)
        net.features.copy_(torch.as_tensor(feats))
        self._net = net
        if cfg.init == "svd":
            self._svd_init(users[vals > 0], items[vals > 0])
        elif cfg.init == "als":
            self._als_init(users, items, vals)
        elif cfg.init != "random":
            raise ModelInputError(f"unknown init {cfg.init!r}: use 'als', 'svd' or 'random'")
        if cfg.init != "random":  # start from the factor model's ranking exactly; the head learns on top
            last = net.head[-1]
            assert isinstance(last, nn.Linear)
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)

        label, weight = self._weights(vals)
        observed = np.unique(users * self.n_items + items)
        pos_users = users[vals > 0]
        n_neg = cfg.neg_ratio * len(pos_users)
        params = (
            net.parameters() if cfg.train_factors else [*net.head.parameters(), *net.item_bias.parameters()]
        )
        opt = torch.optim.Adam(params, lr=cfg.lr)
        loss_fn = nn.BCEWithLogitsLoss(reduction="none")
        frozen = [] if cfg.train_factors else [net.user.weight, net.item.weight]
        for p in frozen:  # no gradient for factors that do not move (a dense one per step otherwise)
            p.requires_grad_(False)
        t = lambda a: torch.as_tensor(a, device=self.device)  # noqa: E731
        epoch_loss = 0.0
        for epoch in range(cfg.epochs):
            neg_u = pos_users[rng.integers(0, len(pos_users), n_neg)] if n_neg else users[:0]
            neg_i = rng.integers(0, self.n_items, len(neg_u))
            pair = neg_u * self.n_items + neg_i
            at = np.minimum(np.searchsorted(observed, pair), len(observed) - 1)
            keep = observed[at] != pair  # not an observed pair (observed is sorted: no isin sort)
            small = np.int32 if max(self.n_users, self.n_items) < 2**31 else np.int64  # half the bytes
            all_u = t(np.concatenate([users, neg_u[keep]]).astype(small))
            all_i = t(np.concatenate([items, neg_i[keep]]).astype(small))
            del pair, at, neg_i
            all_y = t(np.concatenate([label, np.zeros(keep.sum(), np.float32)]))
            all_w = t(np.concatenate([weight, np.full(keep.sum(), cfg.neg_weight, np.float32)]))
            order = torch.randperm(len(all_u), generator=gen).to(self.device)
            net.train()
            total, seen = 0.0, 0
            for start in range(0, len(order), cfg.batch_size):
                b = order[start : start + cfg.batch_size]
                ub, ib = all_u[b], all_i[b]
                uvec = net.user(ub)
                loss = (loss_fn(net.logits(uvec, ib), all_y[b]) * all_w[b]).mean()
                reg = (
                    uvec.pow(2).sum(1) + net.item(ib).pow(2).sum(1) + net.item_bias(ib).pow(2).squeeze(1)
                ).mean()
                opt.zero_grad()
                (loss + cfg.l2 * reg).backward()
                opt.step()
                total += loss.item() * len(b)
                seen += len(b)
            epoch_loss = total / max(seen, 1)
            del all_u, all_i, all_y, all_w, order  # before the next epoch's copies are made
            if on_epoch is not None:
                net.eval()
                on_epoch(epoch + 1, epoch_loss)
        for p in frozen:
            p.requires_grad_(True)
        net.eval()
        self._ease, self._profile = None, None
        if cfg.ease_weight > 0:
            self._fit_ease(users, items, vals, side)
        return {
            "train_loss": epoch_loss,
            "rows": float(n),
            "users": float(self.n_users),
            "items": float(self.n_items),
        }

    def _als_inputs(
        self, users: np.ndarray, items: np.ndarray, vals: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(users, items, confidence, preference) with repeated pairs merged.

        Likes are preference 1 with confidence 1 + alpha log1p(value), dislikes preference 0 with
        confidence 1 + dislike_weight; everything unobserved is 0 with weight 1.
        """
        cfg = self.config
        uniq, inv = np.unique(users * self.n_items + items, return_inverse=True)
        merged = np.bincount(inv, weights=vals).astype(np.float32)  # repeated rows of a pair add up
        merged[merged == 0] = -1.0  # a like and a dislike that cancel count as doubt
        conf = np.where(
            merged > 0, 1.0 + cfg.confidence_alpha * np.log1p(np.abs(merged)), 1.0 + cfg.dislike_weight
        )
        return uniq // self.n_items, uniq % self.n_items, conf, (merged > 0).astype(np.float32)

    def _als_config(self) -> ALSConfig:
        cfg = self.config
        return ALSConfig(
            dim=cfg.dim,
            reg=cfg.als_reg,
            reg_exponent=cfg.als_reg_exponent,
            iters=cfg.als_iters,
            seed=cfg.seed,
        )

    def _als_init(self, users: np.ndarray, items: np.ndarray, vals: np.ndarray) -> None:
        net = self._fitted()
        u, i, conf, pref = self._als_inputs(users, items, vals)
        x, y = weighted_als(
            u, i, conf, pref, self.n_users, self.n_items, self._als_config(), device=self.device
        )
        with torch.no_grad():
            net.user.weight.copy_(x)
            net.item.weight.copy_(y)

    def _svd_init(self, users: np.ndarray, items: np.ndarray) -> None:
        """Warm start: user = U sqrt(S), item = V sqrt(S) of the binary like matrix (a PureSVD solution).

        SGD then only has to refine a good low-rank solution, which converges in few epochs and
        overfits less than starting from noise.
        """
        net = self._fitted()
        q = min(self.config.dim, self.n_users, self.n_items)
        idx = torch.as_tensor(np.vstack([users, items]))
        m = torch.sparse_coo_tensor(
            idx, torch.ones(len(users)), (self.n_users, self.n_items), check_invariants=True
        ).coalesce()
        m = torch.sparse_coo_tensor(m.indices(), torch.ones_like(m.values()), m.shape, check_invariants=True)
        u, s, v = torch.svd_lowrank(m, q=q, niter=4)
        root = s.clamp_min(0).sqrt()
        with torch.no_grad():
            net.user.weight.zero_()
            net.item.weight.zero_()
            net.user.weight[:, :q] = (u * root).to(self.device)
            net.item.weight[:, :q] = (v * root).to(self.device)

    # ---- inference ------------------------------------------------------------------------------
    def score(self, user: UserRef, items: object | None = None) -> np.ndarray:
        """Logits (higher = more likely liked) of one user for the given items, or for all items."""
        net = self._fitted()
        u, profile = self._user_parts(user)
        with torch.no_grad():
            if items is None:
                return self._add_ease(net.all_logits(u), profile, None)[0].cpu().numpy()
            idx = self._indices("items", items)
            self._check_items(idx)
            ti = torch.as_tensor(idx, device=self.device)
            logits = net.logits(u.expand(len(idx), -1), ti)
            return self._add_ease(logits[None, :], profile, ti)[0].cpu().numpy()

    def score_users(self, users: object, batch: int = 256) -> np.ndarray:
        """Logits of many trained users over all items: (len(users), n_items)."""
        net = self._fitted()
        idx = self._indices("users", users)
        if idx.size and idx.max() >= self.n_users:
            raise ModelInputError(
                f"user index {int(idx.max())} is out of range: the model knows {self.n_users} users"
            )
        out = np.empty((len(idx), self.n_items), dtype=np.float32)
        with torch.no_grad():
            for s in range(0, len(idx), batch):
                rows = idx[s : s + batch]
                u = net.user(torch.as_tensor(rows, device=self.device))
                out[s : s + batch] = (
                    self._add_ease(net.all_logits(u), self._profile_rows(rows), None).cpu().numpy()
                )
        return out

    def score_pairs(self, users: object, items: object, chunk: int = 16384) -> tuple[np.ndarray, np.ndarray]:
        """(factor logits, EASE scores) of trained users' (user, item) pairs, vectorised.

        The model's logit is factor + ease_weight * EASE; the parts are apart so that a caller can
        tune ease_weight on held-out pairs without refitting (EASE is 0 without EASE).
        """
        net = self._fitted()
        us, its = self._indices("users", users), self._indices("items", items)
        check_same_length(users=us, items=its)
        self._check_items(its)
        if us.max() >= self.n_users:
            raise ModelInputError(f"user index {int(us.max())} is out of range: use fold_in()")
        logits = np.empty(len(us), dtype=np.float32)
        ease = np.zeros(len(us), dtype=np.float32)
        column = self._ease.column_of() if self._ease is not None else None
        with torch.no_grad():
            for s in range(0, len(us), chunk):
                tu = torch.as_tensor(us[s : s + chunk], device=self.device)
                ti = torch.as_tensor(its[s : s + chunk], device=self.device)
                logits[s : s + chunk] = net.logits(net.user(tu), ti).cpu().numpy()
                if column is not None:
                    ease[s : s + chunk] = self._pair_ease(us[s : s + chunk], column[ti])
        return logits, ease

    def _pair_ease(self, users: np.ndarray, pos: torch.Tensor) -> np.ndarray:
        """sum_j profile[u, j] * B[j, pos] per pair, over each user's stored entries only."""
        assert self._profile is not None and self._ease is not None
        prof = self._profile
        counts = prof.indptr[users + 1] - prof.indptr[users]
        pair = np.repeat(np.arange(len(users)), counts)
        offset = np.arange(len(pair)) - np.repeat(np.cumsum(counts) - counts, counts)
        entry = np.repeat(prof.indptr[users], counts) + offset
        t = lambda a: torch.as_tensor(a, device=self.device)  # noqa: E731
        tp = t(pair)
        col = pos[tp]
        known = col >= 0
        contrib = (
            t(prof.data[entry])
            * self._ease.weights[t(prof.indices[entry].astype(np.int64)), col.clamp_min(0)]
        )
        out = torch.zeros(len(users), device=self.device).index_add_(0, tp[known], contrib[known])
        return out.cpu().numpy()

    def recommend(
        self, user: UserRef, k: int = 10, exclude: object | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (items, logits) for a user, skipping the items in exclude (e.g. already rated)."""
        if k <= 0:
            raise ModelInputError("k must be a positive number of items")
        scores = self.score(user).astype(np.float64)
        if exclude is not None:
            ex = self._indices("exclude", exclude)
            self._check_items(ex)
            scores[ex] = -np.inf
        k = min(k, int(np.isfinite(scores).sum()))
        top = np.argpartition(-scores, k - 1)[:k] if k else np.array([], dtype=np.int64)
        top = top[np.argsort(-scores[top], kind="stable")]
        return top, scores[top]

    def fold_in(self, item_idx: object, value: object, steps: int | None = None) -> np.ndarray:
        """A user vector for someone unseen at training time, fitted to their feedback with items frozen."""
        net = self._fitted()
        items = self._indices("item_idx", item_idx)
        vals = np.asarray(value, dtype=np.float32).reshape(-1)
        check_same_length(item_idx=items, value=vals)
        self._check_items(items)
        if not np.isfinite(vals).all() or (vals == 0).any():
            raise ModelInputError(
                "value must be finite and non-zero: > 0 for a like/play count, < 0 for a dislike"
            )
        cfg = self.config
        rng = np.random.default_rng(cfg.seed)
        label, weight = self._weights(vals)
        seen = set(items.tolist())
        n_neg = max(cfg.neg_ratio * int((vals > 0).sum()), 1)
        if cfg.init == "als":  # the same least-squares solve that made the trained users' vectors
            _, i, conf, pref = self._als_inputs(np.zeros_like(items), items, vals)
            start = solve_rows(
                net.item.weight.detach(), np.zeros_like(i), i, conf, pref, 1, self._als_config()
            )
            if not cfg.train_factors:
                return self._with_profile(start.cpu().numpy()[0], items, vals)
        else:
            start = net.user.weight.detach().mean(0, keepdim=True)
        for p in net.parameters():
            p.requires_grad_(False)
        u = start.clone().requires_grad_(True)
        opt = torch.optim.Adam([u], lr=cfg.fold_in_lr)
        loss_fn = nn.BCEWithLogitsLoss(reduction="none")
        ti, ty, tw = (torch.as_tensor(a, device=self.device) for a in (items, label, weight))
        try:
            for _ in range(steps or cfg.fold_in_steps):
                neg = rng.integers(0, self.n_items, n_neg)
                neg = neg[[j not in seen for j in neg.tolist()]]
                all_i = torch.cat([ti, torch.as_tensor(neg, device=self.device)])
                all_y = torch.cat([ty, torch.zeros(len(neg), device=self.device)])
                all_w = torch.cat([tw, torch.full((len(neg),), cfg.neg_weight, device=self.device)])
                logits = net.logits(u.expand(len(all_i), -1), all_i)
                loss = (loss_fn(logits, all_y) * all_w).sum() / len(ti) + cfg.fold_in_l2 * u.pow(2).sum()
                opt.zero_grad()
                loss.backward()
                opt.step()
        finally:
            for p in net.parameters():
                p.requires_grad_(True)
        return self._with_profile(u.detach().cpu().numpy()[0], items, vals)

    def _with_profile(self, vector: np.ndarray, items: np.ndarray, vals: np.ndarray) -> np.ndarray:
        """The factor vector, followed by the user's EASE profile over EASE's items when there is one."""
        if self._ease is None:
            return vector
        row = self._ease_profile(np.zeros_like(items), items, vals, 1)
        profile = row[:, self._ease.items.cpu().numpy()].toarray()[0]
        return np.concatenate([vector, profile]).astype(np.float32)

    def user_vector(self, user: int) -> np.ndarray:
        """A trained user's factor vector (the EASE profile is not part of it)."""
        return self._user_parts(user)[0].cpu().numpy()[0]

    def item_vectors(self) -> np.ndarray:
        return self._fitted().item.weight.detach().cpu().numpy()

    def similar_items(self, item: int, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (items, cosine similarity) by item embedding, the item itself left out."""
        net = self._fitted()
        self._check_items(np.array([item]))
        if k <= 0:
            raise ModelInputError("k must be a positive number of items")
        with torch.no_grad():
            emb = nn.functional.normalize(net.item.weight, dim=1)
            sims = (emb @ emb[item]).cpu().numpy().astype(np.float64)
        sims[item] = -np.inf
        k = min(k, self.n_items - 1)
        top = np.argsort(-sims, kind="stable")[:k]
        return top, sims[top]

    # ---- persistence ----------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        net = self._fitted()
        state = {
            "kind": "CFModel",
            "config": asdict(self.config),
            "n_users": self.n_users,
            "n_items": self.n_items,
            "n_feat": int(net.features.shape[1]),
            "net": {k: v.cpu() for k, v in net.state_dict().items()},
        }
        if self._ease is not None and self._profile is not None:
            prof = self._profile
            state["ease"] = {
                "items": self._ease.items.cpu(),
                "weights": self._ease.weights.cpu(),
                "indptr": torch.as_tensor(prof.indptr.astype(np.int64)),
                "indices": torch.as_tensor(prof.indices.astype(np.int64)),
                "data": torch.as_tensor(prof.data.astype(np.float32)),
            }
        torch.save(state, Path(path))

    @classmethod
    def load(cls, path: str | Path, device: str | None = None) -> CFModel:
        state = load_saved(path, "CFModel", "CF model")
        cfg = dict(state["config"])
        cfg["device"] = device
        if "svd_init" in cfg:  # saved before the ALS start existed
            cfg["init"] = "svd" if cfg.pop("svd_init") else "random"
        model = cls(CFConfig(**cfg))
        model.n_users, model.n_items = int(state["n_users"]), int(state["n_items"])
        net = _CFNet(model.n_users, model.n_items, int(state["n_feat"]), model.config).to(model.device)
        net.load_state_dict(state["net"])
        net.eval()
        model._net = net
        ease = state.get("ease")
        if ease is not None:
            items = ease["items"].to(model.device)
            model._ease = EASE(items, ease["weights"].to(model.device), model.n_items)
            model._profile = sp.csr_matrix(
                (ease["data"].numpy(), ease["indices"].numpy(), ease["indptr"].numpy()),
                shape=(model.n_users, len(items)),
            )
        return model
