"""The hybrid ranker the learning loop plugs into the service, and the watcher that hot-swaps it.

A "ranker" artifact holds a like/dislike classifier (sonic features -> P(like), personal per user, a
global fallback for strangers), a CF model (users x rated tracks) and the id maps tying both to track
ids. Per candidate it adds two score parts: `like` = like_weight * (P(like) - 0.5) and `cf` =
cf_weight * (sigmoid(CF logit) - 0.5), so a neutral opinion adds nothing and the content score stays
the backbone. `info_like_prob` (not summed) keeps P(like) for the reason shown to the user.

Users the CF model never saw are folded in from their live votes (cached per vote set); a user with no
votes at all is a cold start and gets no parts (content only). Tracks the CF model never saw score 0.
Core code: no training imports; loading runs off the event loop, swapping is one assignment.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from songrec.content.artifacts import ArtifactStore, Manifest
from songrec.content.engine import Engine
from songrec.domain import ArtifactError

log = logging.getLogger(__name__)

RANKER_KIND = "ranker"
CLASSIFIER_FILE = "classifier.pt"
CF_FILE = "cf.pt"
MAPS_FILE = "maps.json"
FOLD_IN_CACHE = 1024

#: user id -> {track_id: +1/-1}, the user's live votes (the service's in-memory ratings).
VotesOf = Callable[[int], dict[str, int]]


@dataclass(frozen=True)
class BlendWeights:
    """How much the two models may move a candidate's score; the content closeness is in (0, 1].

    The like/CF split is tuned on the validation split by the training job (stored in the artifact);
    the total is a product choice: at 0.6 a confident model outweighs a fair amount of closeness.
    """

    like: float = 0.4
    cf: float = 0.2

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> BlendWeights:
        data = data or {}
        return cls(like=float(data.get("like", cls.like)), cf=float(data.get("cf", cls.cf)))


def first_artists(engine: Engine) -> np.ndarray:
    """Each row's first artist (the classifier's artist signal), "" when unknown."""
    return np.asarray(engine.tracks.first_artists(), dtype=object)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -40.0, 40.0)))


class HybridRanker:
    """CandidateScorer over one engine snapshot: thread-safe, no I/O on the scoring path."""

    def __init__(
        self,
        engine: Engine,
        classifier: Any,
        cf: Any,
        users: list[str],
        items: list[str],
        weights: BlendWeights,
        votes_of: VotesOf,
        *,
        version: str = "",
        metrics: dict[str, Any] | None = None,
    ) -> None:
        self.engine = engine
        self.classifier = classifier
        self.cf = cf
        self.user_index = {u: i for i, u in enumerate(users)}
        self.item_index = {t: i for i, t in enumerate(items)}
        self.weights = weights
        self.votes_of = votes_of
        self.version = version
        self.metrics = dict(metrics or {})
        self._artists = first_artists(engine)
        self._track_ids = np.asarray(engine.tracks.ids.to_list(), dtype=object)
        # row -> CF item index (-1: the CF model never saw that track)
        self._row_item = np.asarray([self.item_index.get(t, -1) for t in self._track_ids], dtype=np.int64)
        self._fold_lock = threading.Lock()
        self._folded: OrderedDict[tuple[int, frozenset[tuple[str, int]]], np.ndarray] = OrderedDict()

    def __repr__(self) -> str:
        return f"HybridRanker({self.version})"

    def __getstate__(self) -> dict[str, Any]:
        """Pickled for the planning processes: the models and maps, not the lock or the fold-in cache."""
        state = self.__dict__.copy()
        del state["_fold_lock"], state["_folded"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._fold_lock = threading.Lock()
        self._folded = OrderedDict()

    @property
    def engine_version(self) -> str:
        return self.engine.version

    # ------------------------------------------------------------------ scoring

    def score(self, user_id: int, rows: np.ndarray) -> dict[str, np.ndarray]:
        rows = np.asarray(rows, dtype=np.int64)
        votes = self.votes_of(user_id)
        if not votes or len(rows) == 0:
            return {}  # cold start: content only
        if rows.min() < 0 or rows.max() >= len(self._track_ids):
            raise IndexError(f"rows outside the ranker's engine {self.engine.version}")
        prob = self.like_probability(user_id, rows)
        parts = {"like": self.weights.like * (prob - 0.5), "info_like_prob": prob}
        logits = self.cf_logits(user_id, rows, votes)
        if logits is not None:
            known = self._row_item[rows] >= 0
            parts["cf"] = np.where(known, self.weights.cf * (sigmoid(logits) - 0.5), 0.0)
        return parts

    def like_probability(self, user_id: int, rows: np.ndarray) -> np.ndarray:
        x = self.engine.scaled[rows]
        users = [str(user_id)] * len(rows)
        return np.asarray(
            self.classifier.predict_proba(users, x, list(self._artists[rows])), dtype=np.float64
        )

    def cf_logits(self, user_id: int, rows: np.ndarray, votes: dict[str, int]) -> np.ndarray | None:
        """CF logits for the rows (0 for unknown tracks), or None when the user cannot be placed."""
        user = self._cf_user(user_id, votes)
        if user is None:
            return None
        items = self._row_item[rows]
        known = items >= 0
        out = np.zeros(len(rows), dtype=np.float64)
        if known.any():
            out[known] = self.cf.score(user, items[known])
        return out

    def _cf_user(self, user_id: int, votes: dict[str, int]) -> int | np.ndarray | None:
        idx = self.user_index.get(str(user_id))
        if idx is not None:
            return idx
        pairs = [(self.item_index[t], v) for t, v in votes.items() if t in self.item_index and v != 0]
        if not any(v > 0 for _, v in pairs):
            return None  # fold-in needs at least one like of a track the CF model knows
        key = (user_id, frozenset(votes.items()))
        with self._fold_lock:
            cached = self._folded.get(key)
            if cached is not None:
                self._folded.move_to_end(key)
                return cached
            items = np.asarray([i for i, _ in pairs], dtype=np.int64)
            values = np.asarray([float(v) for _, v in pairs], dtype=np.float32)
            vector = np.asarray(self.cf.fold_in(items, values), dtype=np.float32)
            self._folded[key] = vector
            while len(self._folded) > FOLD_IN_CACHE:
                self._folded.popitem(last=False)
            return vector


# ---------------------------------------------------------------------- loading


@dataclass(frozen=True)
class RankerMaps:
    users: list[str]
    items: list[str]
    embedding_version: str
    weights: BlendWeights

    def to_json(self) -> str:
        data = {**asdict(self), "weights": asdict(self.weights)}
        return json.dumps(data)

    @classmethod
    def read(cls, path: Path) -> RankerMaps:
        try:
            data = json.loads(path.read_text())
            return cls(
                users=[str(u) for u in data["users"]],
                items=[str(t) for t in data["items"]],
                embedding_version=str(data.get("embedding_version", "")),
                weights=BlendWeights.from_dict(data.get("weights")),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ArtifactError(f"{path.parent.name}: unreadable {MAPS_FILE} ({exc})") from exc


def current_ranker_version(root: Path) -> str | None:
    """What CURRENT names for rankers (cheap: one small file), None when there is none."""
    try:
        return (Path(root) / RANKER_KIND / "CURRENT").read_text().strip() or None
    except OSError:
        return None


def load_ranker(
    root: Path, engine: Engine, votes_of: VotesOf, *, version: str | None = None, device: str | None = "cpu"
) -> HybridRanker:
    """Load the current ranker artifact (or `version`) against `engine`; ArtifactError when unusable.

    Serving scores a few hundred rows per request: cpu is right for that even on a GPU machine, with one
    torch thread. Requests already run side by side in the service's pool, and an op split over cores
    that a retrain (or another request) keeps busy waits on its helper thread: that was most of the
    serving p99 during a retrain (bench/retrain.py).
    """
    import torch

    from songrec.models.base import ModelInputError
    from songrec.models.cf import CFModel
    from songrec.models.classifier import LikeClassifier

    if device == "cpu" and torch.get_num_threads() != 1:
        torch.set_num_threads(1)  # process-wide: this is the serving process (training runs in a child)

    store = ArtifactStore(Path(root), RANKER_KIND)
    if version is None:
        version, manifest, _problems = store.resolve_good()
    else:
        manifest = store.verify(version)
    path = store.path(version)
    maps = RankerMaps.read(path / MAPS_FILE)
    try:
        classifier = LikeClassifier.load(path / CLASSIFIER_FILE, device=device)
        cf = CFModel.load(path / CF_FILE, device=device)
    except (ModelInputError, RuntimeError, OSError) as exc:
        raise ArtifactError(f"ranker {version}: cannot load its models ({exc})") from exc
    return HybridRanker(
        engine,
        classifier,
        cf,
        maps.users,
        maps.items,
        maps.weights,
        votes_of,
        version=version,
        metrics=_metrics(manifest),
    )


def _metrics(manifest: Manifest) -> dict[str, Any]:
    return {k: v for k, v in manifest.metrics.items() if isinstance(v, int | float | str)}


# ---------------------------------------------------------------------- hot swap


class RankerHost(Protocol):
    """What the watcher needs of the service (songrec.service.Service satisfies it)."""

    @property
    def engine(self) -> Engine: ...

    def user_ratings(self, user_id: int) -> dict[str, int]: ...

    def swap_ranker(self, ranker: HybridRanker) -> None: ...


class RankerWatcher:
    """Polls the ranker CURRENT pointer and swaps a newly promoted ranker into the service.

    Loading happens in a thread; the swap is one assignment between requests (requests in flight keep
    the ranker they started with). A ranker that fails to load is logged and the old one kept. A new
    serving engine also triggers a reload, so the ranker's rows always match the engine's.
    """

    def __init__(self, service: RankerHost, root: Path, *, poll_s: float = 5.0) -> None:
        self.service = service
        self.root = Path(root)
        self.poll_s = poll_s
        self.loaded: tuple[str | None, str | None] = (None, None)  # (ranker version, engine version)
        self.failures = 0
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def check(self) -> bool:
        """Swap in the current ranker if it (or the engine) changed; True when a swap happened."""
        async with self._lock:
            version = current_ranker_version(self.root)
            engine = self.service.engine
            wanted = (version, engine.version)
            if version is None or wanted == self.loaded:
                return False
            try:
                ranker = await asyncio.to_thread(
                    load_ranker, self.root, engine, self.service.user_ratings, version=version
                )
            except (ArtifactError, OSError, ValueError) as exc:
                self.failures += 1
                log.error("could not load ranker %s, keeping the current one: %s", version, exc)
                self.loaded = wanted  # do not retry a broken artifact every poll; a new version retries
                return False
            self.service.swap_ranker(ranker)
            self.loaded = wanted
            log.info("serving ranker %s (metrics %s)", version, ranker.metrics)
            return True

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._loop(), name="songrec-ranker-watcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                await self.check()
            except Exception:  # the watcher must outlive any one bad poll
                log.exception("ranker watcher poll failed")
            await asyncio.sleep(self.poll_s)
