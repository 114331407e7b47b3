"""Like/dislike classifier after the Spotify deep-learning paper, with a personal boundary per user.

Min-max scaled sonic features go through dense ReLU layers to a sigmoid (BCE, Adam, class weights).
One global network serves every user: a learned user embedding is concatenated to the input and a small
per-user linear term is added to the logit, so each user gets a personal decision boundary. Index 0 is a
reserved "global" user; during training user ids are randomly dropped to it so that it learns the
population's taste and serves users the model has never seen.

Optional artist taste signal: per (user, artist) and per artist, a smoothed like-rate and a log count,
computed from the training rows only. Training rows get out-of-fold values (their own label never
feeds their own feature); prediction uses the statistics of the whole training set.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from songrec.models.base import (
    ModelInputError,
    NotFittedError,
    as_2d_float,
    check_same_length,
    load_saved,
    pick_device,
    seed_everything,
)

GLOBAL_USER = 0
N_ARTIST_FEATURES = 4  # user-level like-rate, log count, population like-rate, log count


@dataclass
class ClassifierConfig:
    hidden: tuple[int, ...] = (64, 32)
    user_dim: int = 8
    dropout: float = 0.2
    lr: float = 2e-3
    weight_decay: float = 1e-4
    epochs: int = 120
    batch_size: int = 128
    global_drop: float = 0.25  # share of training rows whose user is replaced by the global index
    artist_smoothing: float = 1.0  # pseudo-count pulling an artist's like-rate to the prior
    artist_folds: int = 5  # out-of-fold encoding of the artist signal for training rows
    seed: int = 0
    device: str | None = None


@dataclass
class _ArtistStats:
    """Like counts per (user, artist) and per artist; user key '' is the population."""

    counts: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    user_prior: dict[str, float] = field(default_factory=dict)
    global_prior: float = 0.5

    @classmethod
    def build(cls, users: Sequence[str], artists: Sequence[str], y: np.ndarray) -> _ArtistStats:
        counts: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0])
        per_user: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
        for u, a, label in zip(users, artists, y, strict=True):
            for key in ((u, a), ("", a)):
                counts[key][0] += float(label)
                counts[key][1] += 1.0
            per_user[u][0] += float(label)
            per_user[u][1] += 1.0
        global_prior = float(np.mean(y)) if len(y) else 0.5
        # A user's prior is their like-rate shrunk towards the population's (pseudo-count 5).
        user_prior = {u: (p + 5.0 * global_prior) / (n + 5.0) for u, (p, n) in per_user.items()}
        return cls(dict(counts), user_prior, global_prior)

    def features(self, users: Sequence[str], artists: Sequence[str], smoothing: float) -> np.ndarray:
        out = np.empty((len(users), N_ARTIST_FEATURES), dtype=np.float32)
        for row, (u, a) in enumerate(zip(users, artists, strict=True)):
            gp, gn = self.counts.get(("", a), (0.0, 0.0))
            g_rate = (gp + smoothing * self.global_prior) / (gn + smoothing)
            if u == "":
                up, un, u_rate = gp, gn, g_rate
            else:
                prior = self.user_prior.get(u, self.global_prior)
                up, un = self.counts.get((u, a), (0.0, 0.0))
                u_rate = (up + smoothing * prior) / (un + smoothing)
            out[row] = (u_rate, np.log1p(un), g_rate, np.log1p(gn))
        return out


def oof_artist_features(
    users: Sequence[str],
    artists: Sequence[str],
    labels: np.ndarray,
    smoothing: float = 1.0,
    folds: int = 5,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Artist taste features for training rows from the other folds only: no row sees its own label.

    Users given as "" get population-level values. Public so benchmarks can hand the same signal to
    baseline models.
    """
    rng = rng or np.random.default_rng(0)
    n = len(users)
    k = max(2, min(folds, n))
    fold = rng.permutation(np.arange(n) % k)
    out = np.empty((n, N_ARTIST_FEATURES), dtype=np.float32)
    for f in range(k):
        tr, te = np.flatnonzero(fold != f), np.flatnonzero(fold == f)
        stats = _ArtistStats.build([users[i] for i in tr], [artists[i] for i in tr], labels[tr])
        out[te] = stats.features([users[i] for i in te], [artists[i] for i in te], smoothing)
    return out


def artist_features(
    train_users: Sequence[str],
    train_artists: Sequence[str],
    train_labels: np.ndarray,
    users: Sequence[str],
    artists: Sequence[str],
    smoothing: float = 1.0,
) -> np.ndarray:
    """Artist taste features for new rows from all training rows (what predict uses)."""
    stats = _ArtistStats.build(train_users, train_artists, train_labels)
    return stats.features(users, artists, smoothing)


class _LikeNet(nn.Module):
    def __init__(self, n_in: int, n_users: int, cfg: ClassifierConfig) -> None:
        super().__init__()
        self.user_emb = nn.Embedding(n_users, cfg.user_dim)
        self.user_w = nn.Embedding(n_users, n_in)  # personal linear tilt of the boundary
        self.user_b = nn.Embedding(n_users, 1)
        nn.init.normal_(self.user_emb.weight, std=0.1)
        nn.init.zeros_(self.user_w.weight)
        nn.init.zeros_(self.user_b.weight)
        layers: list[nn.Module] = []
        width = n_in + cfg.user_dim
        for h in cfg.hidden:
            layers += [nn.Linear(width, h), nn.ReLU(), nn.Dropout(cfg.dropout)]
            width = h
        layers.append(nn.Linear(width, 1))
        self.mlp = nn.Sequential(*layers)

    def forward(self, users: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        h = torch.cat([x, self.user_emb(users)], dim=1)
        personal = (self.user_w(users) * x).sum(dim=1) + self.user_b(users).squeeze(1)
        return self.mlp(h).squeeze(1) + personal


class LikeClassifier:
    """fit(user_ids, X, y[, artists]) then predict_proba(user_ids, X[, artists]) -> P(like)."""

    def __init__(self, config: ClassifierConfig | None = None) -> None:
        self.config = config or ClassifierConfig()
        self.device = pick_device(self.config.device)
        self._net: _LikeNet | None = None
        self._users: dict[str, int] = {}
        self._x_min: np.ndarray | None = None
        self._x_span: np.ndarray | None = None
        self._artists: _ArtistStats | None = None

    # ---- input handling -------------------------------------------------------------------------
    @staticmethod
    def _keys(name: str, values: Sequence[Hashable] | np.ndarray) -> list[str]:
        return [str(v) for v in (values.tolist() if isinstance(values, np.ndarray) else values)]

    def _scale(self, x: np.ndarray) -> np.ndarray:
        assert self._x_min is not None and self._x_span is not None
        if x.shape[1] != self._x_min.shape[0]:
            raise ModelInputError(
                f"X has {x.shape[1]} features but the model was trained on {self._x_min.shape[0]}"
            )
        return (x - self._x_min) / self._x_span

    def _user_index(self, users: list[str]) -> np.ndarray:
        return np.array([self._users.get(u, GLOBAL_USER) for u in users], dtype=np.int64)

    # ---- training -------------------------------------------------------------------------------
    def fit(
        self,
        user_ids: Sequence[Hashable] | np.ndarray,
        X: object,
        y: Sequence[int] | np.ndarray,
        artists: Sequence[Hashable] | np.ndarray | None = None,
    ) -> dict[str, float]:
        """Train from (user, features, label) rows; labels are 1 = like, 0 = dislike."""
        x = as_2d_float("X", X)
        labels = np.asarray(y, dtype=np.float32).reshape(-1)
        lengths: dict[str, Sequence[object] | np.ndarray] = {"user_ids": user_ids, "X": x, "y": labels}
        if artists is not None:
            lengths["artists"] = artists
        n = check_same_length(**lengths)
        if not np.isin(labels, (0.0, 1.0)).all():
            raise ModelInputError("y must hold only 0 (dislike) and 1 (like)")
        if labels.min() == labels.max():
            raise ModelInputError("y needs both likes and dislikes to learn a boundary")
        cfg = self.config
        gen = seed_everything(cfg.seed)
        rng = np.random.default_rng(cfg.seed)

        users = self._keys("user_ids", user_ids)
        self._users = {u: i + 1 for i, u in enumerate(sorted(set(users)))}
        self._x_min = x.min(axis=0)
        self._x_span = np.where(x.max(axis=0) > self._x_min, x.max(axis=0) - self._x_min, 1.0).astype(
            np.float32
        )
        xs = self._scale(x)
        u_idx = self._user_index(users)

        if artists is not None:
            arts = self._keys("artists", artists)
            own = oof_artist_features(users, arts, labels, cfg.artist_smoothing, cfg.artist_folds, rng)
            pop = oof_artist_features([""] * n, arts, labels, cfg.artist_smoothing, cfg.artist_folds, rng)
            self._artists = _ArtistStats.build(users, arts, labels)
            x_own, x_pop = np.hstack([xs, own]), np.hstack([xs, pop])
        else:
            self._artists = None
            x_own = x_pop = xs

        self._net = _LikeNet(x_own.shape[1], len(self._users) + 1, cfg).to(self.device)
        pos_rate = float(labels.mean())
        class_w = np.where(labels == 1.0, 0.5 / pos_rate, 0.5 / (1.0 - pos_rate)).astype(np.float32)

        t = lambda a: torch.as_tensor(a, device=self.device)  # noqa: E731
        tu, to, tp, ty, tw = t(u_idx), t(x_own), t(x_pop), t(labels), t(class_w)
        # Decoupled decay: a coupled L2 term reaches every user row each step while the data gradient
        # of a row shrinks as 1/(all rows), so with thousands of users it erased personal boundaries.
        opt = torch.optim.AdamW(self._net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        loss_fn = nn.BCEWithLogitsLoss(reduction="none")
        self._net.train()
        loss_sum = 0.0
        for _ in range(cfg.epochs):
            order = torch.randperm(n, generator=gen).to(self.device)
            loss_sum, seen = 0.0, 0
            for start in range(0, n, cfg.batch_size):
                b = order[start : start + cfg.batch_size]
                drop = torch.rand(len(b), generator=gen).to(self.device) < cfg.global_drop
                ub = torch.where(drop, torch.zeros_like(tu[b]), tu[b])
                xb = torch.where(drop[:, None], tp[b], to[b])
                loss = (loss_fn(self._net(ub, xb), ty[b]) * tw[b]).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
                loss_sum += loss.item() * len(b)
                seen += len(b)
            loss_sum /= max(seen, 1)
        proba = self.predict_proba(user_ids, x, artists)
        return {
            "train_loss": loss_sum,
            "train_accuracy": float(((proba >= 0.5) == (labels == 1.0)).mean()),
            "rows": float(n),
            "users": float(len(self._users)),
            "epochs": float(cfg.epochs),
        }

    # ---- inference ------------------------------------------------------------------------------
    def predict_proba(
        self,
        user_ids: Sequence[Hashable] | np.ndarray,
        X: object,
        artists: Sequence[Hashable] | np.ndarray | None = None,
    ) -> np.ndarray:
        """P(like) per row; users never seen in training get the global model."""
        if self._net is None:
            raise NotFittedError("the classifier is not trained yet: call fit() or load() first")
        x = as_2d_float("X", X)
        lengths: dict[str, Sequence[object] | np.ndarray] = {"user_ids": user_ids, "X": x}
        if artists is not None:
            lengths["artists"] = artists
        check_same_length(**lengths)
        users = self._keys("user_ids", user_ids)
        u_idx = self._user_index(users)
        xs = self._scale(x)
        if self._artists is not None:
            arts = self._keys("artists", artists) if artists is not None else [""] * len(users)
            known = ["" if i == GLOBAL_USER else u for u, i in zip(users, u_idx, strict=True)]
            xs = np.hstack([xs, self._artists.features(known, arts, self.config.artist_smoothing)])
        self._net.eval()
        with torch.no_grad():
            logits = self._net(
                torch.as_tensor(u_idx, device=self.device), torch.as_tensor(xs, device=self.device)
            )
        return torch.sigmoid(logits).cpu().numpy().astype(np.float64)

    def knows(self, user_id: Hashable) -> bool:
        return str(user_id) in self._users

    # ---- persistence ----------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        if self._net is None or self._x_min is None or self._x_span is None:
            raise NotFittedError("nothing to save: the classifier is not trained")
        cfg = asdict(self.config)
        cfg["hidden"] = list(cfg["hidden"])
        state = {
            "kind": "LikeClassifier",
            "config": cfg,
            "users": list(self._users),
            "x_min": self._x_min.tolist(),
            "x_span": self._x_span.tolist(),
            "net": {k: v.cpu() for k, v in self._net.state_dict().items()},
            "artists": None
            if self._artists is None
            else {
                "keys": [list(k) for k in self._artists.counts],
                "counts": [list(v) for v in self._artists.counts.values()],
                "user_prior": self._artists.user_prior,
                "global_prior": self._artists.global_prior,
            },
        }
        torch.save(state, Path(path))

    @classmethod
    def load(cls, path: str | Path, device: str | None = None) -> LikeClassifier:
        state = load_saved(path, "LikeClassifier", "classifier")
        cfg_dict = dict(state["config"])
        cfg_dict["hidden"] = tuple(cfg_dict["hidden"])
        cfg_dict["device"] = device
        model = cls(ClassifierConfig(**cfg_dict))
        model._users = {u: i + 1 for i, u in enumerate(state["users"])}
        model._x_min = np.asarray(state["x_min"], dtype=np.float32)
        model._x_span = np.asarray(state["x_span"], dtype=np.float32)
        art = state["artists"]
        if art is not None:
            model._artists = _ArtistStats(
                {(k[0], k[1]): list(v) for k, v in zip(art["keys"], art["counts"], strict=True)},
                dict(art["user_prior"]),
                float(art["global_prior"]),
            )
        n_in = model._x_min.shape[0] + (N_ARTIST_FEATURES if art is not None else 0)
        model._net = _LikeNet(n_in, len(model._users) + 1, model.config).to(model.device)
        model._net.load_state_dict(state["net"])
        model._net.eval()
        return model
