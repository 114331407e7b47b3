"""Like/dislike classifier with a personal boundary per user and a global fall-back for strangers.

Three families behind one interface (fit / predict_proba / save / load):

- "ensemble" (the default, ENSEMBLE): each known user's ridge logistic regression on the scaled
  sonic features gives a personal logit (approximate leave-one-out for training rows) and a vote
  count; shared histogram-boosted trees and ExtraTrees see those beside the sonic and artist
  features, and their probabilities are averaged with equal weight (songrec/models/like_trees.py).
  It leads bench/classifier.py on ROC-AUC, ahead of a random forest and gradient boosting on the same
  in-fold features (reports/classifier.md), and at a million votes / 10k users it fits in ~30 s on
  one thread with a higher validation AUC than the dense net (~140 s). The fitted trees are served
  as one ONNX graph through onnxruntime (songrec/models/tree_onnx.py): predict_proba on 120 candidate
  rows takes ~5 ms (~3 ms of it the trees; ~50 ms through scikit-learn), the dense net ~1.5 ms.
- "boosted" (BOOSTED): the boosted trees alone, with k-fold personal logits, as first shipped.
- "dense" (DENSE): the seed's dense network after the Spotify deep-learning paper, a learned user
  embedding and a per-user linear term (songrec/models/like_net.py). Old saved models load as dense.

Index 0 is the reserved "global" user. A share of training rows (global_drop) is shown with the
population's artist features, so the shared part learns to serve users it has never seen.

Optional artist taste signal (songrec/models/taste.py): per (user, artist) and per artist, a smoothed
like-rate and a log count from the training rows only; training rows get out-of-fold values.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from songrec.models.base import (
    ModelInputError,
    NotFittedError,
    as_2d_float,
    check_same_length,
    load_saved,
    pick_device,
    seed_everything,
)
from songrec.models.like_net import LikeNet, NetSettings, train_net
from songrec.models.like_trees import (
    ForestSettings,
    TreeSettings,
    fit_forest,
    fit_trees,
    held_out_user_logits,
    personal_features,
    user_logits,
)
from songrec.models.taste import N_ARTIST_FEATURES, ArtistStats, artist_features, oof_artist_features
from songrec.models.tree_onnx import TreeScorer, ensemble_graph

__all__ = [
    "BOOSTED",
    "DENSE",
    "ENSEMBLE",
    "GLOBAL_USER",
    "N_ARTIST_FEATURES",
    "ClassifierConfig",
    "ForestSettings",
    "LikeClassifier",
    "TreeSettings",
    "artist_features",
    "oof_artist_features",
]

GLOBAL_USER = 0
FAMILIES = ("ensemble", "boosted", "dense")
TREE_FAMILIES = ("ensemble", "boosted")
#: Training metrics of the tree families are measured on at most this many training rows (predicting
#: a million rows through two forests only to report a training accuracy cost seconds).
METRIC_ROWS = 200_000


@dataclass
class ClassifierConfig:
    family: str = "ensemble"
    #: The dense network's settings (family "dense").
    hidden: tuple[int, ...] = (64, 32)
    user_dim: int = 8
    dropout: float = 0.2
    lr: float = 2e-3
    weight_decay: float = 1e-4
    epochs: int = 120
    batch_size: int = 128
    #: The tree families' settings: boosted trees (both) and the ExtraTrees half ("ensemble").
    trees: TreeSettings = field(default_factory=TreeSettings)
    forest: ForestSettings = field(default_factory=ForestSettings)
    #: CPU threads of the tree code (None: torch's thread count).
    threads: int | None = None
    global_drop: float = 0.25  # share of training rows shown as a stranger would be
    artist_smoothing: float = 1.0  # pseudo-count pulling an artist's like-rate to the prior
    artist_folds: int = 5  # out-of-fold encoding of the artist signal for training rows
    seed: int = 0
    device: str | None = None

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ModelInputError(f"unknown classifier family {self.family!r}; choose one of {FAMILIES}")

    def net_settings(self) -> NetSettings:
        return NetSettings(
            self.hidden, self.user_dim, self.dropout, self.lr, self.weight_decay, self.epochs,
            self.batch_size, self.global_drop,
        )  # fmt: skip

    def to_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["hidden"] = list(self.hidden)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, object], device: str | None) -> ClassifierConfig:
        data = {k: v for k, v in data.items() if k in {f.name for f in fields(cls)}}
        data["hidden"] = tuple(data.get("hidden", (64, 32)))  # type: ignore[arg-type]
        data["trees"] = TreeSettings(**data.get("trees", {}))  # type: ignore[arg-type]
        data["forest"] = ForestSettings(**data.get("forest", {}))  # type: ignore[arg-type]
        data.setdefault("family", "dense")  # saved before the tree families existed
        data["device"] = device
        return cls(**data)  # type: ignore[arg-type]


def _tensors(state: dict[str, object]) -> dict[str, object]:
    """numpy arrays as tensors: what torch.load(weights_only=True) reads back."""
    return {k: torch.as_tensor(v) if isinstance(v, np.ndarray) else v for k, v in state.items()}


#: The ensemble (the default), the seed's dense network and the boosted family as it first shipped
#: (k-fold personal logits, no forest): the songrec rows of bench/classifier.py.
ENSEMBLE = ClassifierConfig(family="ensemble")
DENSE = ClassifierConfig(family="dense")
BOOSTED = ClassifierConfig(family="boosted", trees=TreeSettings(max_rows=300_000, user_folds=5))


def _tree_graph(state: dict[str, Any]) -> bytes:
    """The saved ONNX graph; a model saved before it existed holds scikit-learn pickles instead."""
    if state.get("tree_graph") is not None:
        return bytes(state["tree_graph"])
    import pickle  # the older saves are our own artifacts, written by this code's earlier versions

    forest = state.get("forest")
    return ensemble_graph(
        pickle.loads(bytes(state["trees"])), None if forest is None else pickle.loads(bytes(forest))
    )


class LikeClassifier:
    """fit(user_ids, X, y[, artists]) then predict_proba(user_ids, X[, artists]) -> P(like)."""

    def __init__(self, config: ClassifierConfig | None = None) -> None:
        self.config = config or ClassifierConfig()
        self.device = pick_device(self.config.device)
        self._users: dict[str, int] = {}
        self._x_min: np.ndarray | None = None
        self._x_span: np.ndarray | None = None
        self._artists: ArtistStats | None = None
        self._net: LikeNet | None = None
        self._trees: TreeScorer | None = None  # the tree families' boosted trees (and forest), as ONNX
        self._user_w: np.ndarray | None = None
        self._votes: np.ndarray | None = None  # training votes per user slot

    @property
    def fitted(self) -> bool:
        return self._net is not None or self._trees is not None

    # ---- input handling -------------------------------------------------------------------------
    @staticmethod
    def _keys(values: Sequence[Hashable] | np.ndarray) -> list[str]:
        return [str(v) for v in (values.tolist() if isinstance(values, np.ndarray) else values)]

    def _scale(self, x: np.ndarray) -> np.ndarray:
        assert self._x_min is not None and self._x_span is not None
        if x.shape[1] != self._x_min.shape[0]:
            raise ModelInputError(
                f"X has {x.shape[1]} features but the model was trained on {self._x_min.shape[0]}"
            )
        return ((x - self._x_min) / self._x_span).astype(np.float32)

    def _user_index(self, users: list[str]) -> np.ndarray:
        return np.array([self._users.get(u, GLOBAL_USER) for u in users], dtype=np.int64)

    def _threads(self) -> int:
        return self.config.threads or torch.get_num_threads()

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

        users = self._keys(user_ids)
        self._users = {u: i + 1 for i, u in enumerate(sorted(set(users)))}
        lo, hi = x.min(axis=0), x.max(axis=0)
        self._x_min = lo
        self._x_span = np.where(hi > lo, hi - lo, 1.0).astype(np.float32)
        xs = self._scale(x)
        u_idx = self._user_index(users)

        if artists is not None:
            arts = self._keys(artists)
            own = oof_artist_features(users, arts, labels, cfg.artist_smoothing, cfg.artist_folds, rng)
            pop = oof_artist_features([""] * n, arts, labels, cfg.artist_smoothing, cfg.artist_folds, rng)
            self._artists = ArtistStats.build(users, arts, labels)
        else:
            self._artists = None
            own = pop = np.zeros((n, 0), dtype=np.float32)

        if cfg.family == "dense":
            x_own, x_pop = np.hstack([xs, own]), np.hstack([xs, pop])
            self._net = LikeNet(x_own.shape[1], len(self._users) + 1, cfg.hidden, cfg.user_dim, cfg.dropout)
            self._net.to(self.device)
            loss = train_net(self._net, u_idx, x_own, x_pop, labels, cfg.net_settings(), gen, self.device)
        else:
            n_slots = len(self._users) + 1
            self._votes = np.bincount(u_idx, minlength=n_slots).astype(np.float32)
            personal, self._user_w = held_out_user_logits(
                u_idx, xs, labels, n_slots, cfg.trees, self.device, rng
            )
            drop = rng.random(n) < cfg.global_drop
            # One matrix built in place (a million rows: every extra copy is ~70 MB of the retrain's peak).
            shown = np.hstack([xs, own, personal_features(u_idx, personal, self._votes, drop)])
            shown[drop, xs.shape[1] : xs.shape[1] + own.shape[1]] = pop[drop]
            del own, pop, personal  # the trees only need `shown`
            boosted = fit_trees(shown, labels, cfg.trees, cfg.seed, self._threads())
            forest = None
            if cfg.family == "ensemble":
                forest = fit_forest(shown, labels, cfg.forest, cfg.seed, self._threads())
            del shown
            self._trees = TreeScorer(ensemble_graph(boosted, forest), self._threads())
            del boosted, forest  # scikit-learn's own objects: serving only needs the graph
            loss = float("nan")  # the trees' log loss, below, once predict works
        if cfg.family in TREE_FAMILIES and n > METRIC_ROWS:
            rows = np.sort(rng.choice(n, METRIC_ROWS, replace=False))
            labels, x = labels[rows], x[rows]
            user_ids = [users[i] for i in rows]
            artists = None if artists is None else [arts[i] for i in rows]
        proba = self.predict_proba(user_ids, x, artists)
        if cfg.family in TREE_FAMILIES:
            p = np.clip(proba, 1e-7, 1 - 1e-7)
            loss = float(-np.mean(labels * np.log(p) + (1 - labels) * np.log(1 - p)))
        return {
            "train_loss": loss,
            "train_accuracy": float(((proba >= 0.5) == (labels == 1.0)).mean()),
            "rows": float(n),
            "users": float(len(self._users)),
            "epochs": float(cfg.epochs if cfg.family == "dense" else cfg.trees.max_iter),
        }

    # ---- inference ------------------------------------------------------------------------------
    def predict_proba(
        self,
        user_ids: Sequence[Hashable] | np.ndarray,
        X: object,
        artists: Sequence[Hashable] | np.ndarray | None = None,
    ) -> np.ndarray:
        """P(like) per row; users never seen in training get the global model."""
        if not self.fitted:
            raise NotFittedError("the classifier is not trained yet: call fit() or load() first")
        x = as_2d_float("X", X)
        lengths: dict[str, Sequence[object] | np.ndarray] = {"user_ids": user_ids, "X": x}
        if artists is not None:
            lengths["artists"] = artists
        check_same_length(**lengths)
        users = self._keys(user_ids)
        u_idx = self._user_index(users)
        xs = self._scale(x)
        feats = xs
        if self._artists is not None:
            arts = self._keys(artists) if artists is not None else [""] * len(users)
            known = ["" if i == GLOBAL_USER else u for u, i in zip(users, u_idx, strict=True)]
            feats = np.hstack([xs, self._artists.features(known, arts, self.config.artist_smoothing)])
        if self._net is not None:
            with torch.no_grad():
                logits = self._net(
                    torch.as_tensor(u_idx, device=self.device), torch.as_tensor(feats, device=self.device)
                )
            return torch.sigmoid(logits).cpu().numpy().astype(np.float64)
        assert self._user_w is not None and self._votes is not None
        mine = personal_features(
            u_idx, user_logits(u_idx, xs, self._user_w), self._votes, np.zeros(len(u_idx), dtype=bool)
        )
        assert self._trees is not None
        return self._trees.proba(np.hstack([feats, mine]))

    def knows(self, user_id: Hashable) -> bool:
        return str(user_id) in self._users

    # ---- persistence ----------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        if not self.fitted or self._x_min is None or self._x_span is None:
            raise NotFittedError("nothing to save: the classifier is not trained")
        state: dict[str, object] = {
            "kind": "LikeClassifier",
            "config": self.config.to_dict(),
            "users": list(self._users),
            "x_min": self._x_min.tolist(),
            "x_span": self._x_span.tolist(),
            "artists": None if self._artists is None else _tensors(self._artists.to_state()),
        }
        if self._net is not None:
            state["net"] = {k: v.cpu() for k, v in self._net.state_dict().items()}
        else:
            assert self._trees is not None
            state["tree_graph"] = self._trees.graph  # ONNX bytes: no pickle, no scikit-learn to serve
            state["user_w"] = torch.as_tensor(self._user_w)
            state["votes"] = torch.as_tensor(self._votes)
        torch.save(state, Path(path))

    @classmethod
    def load(cls, path: str | Path, device: str | None = None) -> LikeClassifier:
        state = load_saved(path, "LikeClassifier", "classifier")
        model = cls(ClassifierConfig.from_dict(dict(state["config"]), device))
        model._users = {u: i + 1 for i, u in enumerate(state["users"])}
        model._x_min = np.asarray(state["x_min"], dtype=np.float32)
        model._x_span = np.asarray(state["x_span"], dtype=np.float32)
        art = state["artists"]
        if art is not None:
            model._artists = ArtistStats.from_state(art)
        if "net" in state:
            n_in = model._x_min.shape[0] + (N_ARTIST_FEATURES if art is not None else 0)
            cfg = model.config
            model._net = LikeNet(n_in, len(model._users) + 1, cfg.hidden, cfg.user_dim, cfg.dropout)
            model._net.load_state_dict(state["net"])
            model._net.to(model.device).eval()
        else:
            model._trees = TreeScorer(_tree_graph(state), torch.get_num_threads())
            model._user_w = state["user_w"].numpy()
            model._votes = state["votes"].numpy()
        return model
