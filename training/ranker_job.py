"""Train the hybrid ranker from the feedback store and promote it only when it validates no worse.

`python -m training ranker` (what the scheduler runs in a subprocess): read live votes read-only, map
them onto the current embedding artifact's catalogue, cap every user's share (one spammer must not
swing the global models), hold out each user's newest votes, train the like classifier and the CF
model (cuda when there is one), tune the like/CF blend on the held-out votes, write a versioned
"ranker" artifact and make it current only if its validation AUC is no worse than the current one's.
Every run is a row in training_runs: started, finished, status, device, metrics, and why.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

from songrec import settings as paths
from songrec.content.artifacts import ArtifactStore
from songrec.content.engine import Engine
from songrec.domain import DEFAULT_PRIVACY, PRIVACY_SETTING, ArtifactError, StoreError
from songrec.models.base import ModelInputError
from songrec.models.cf import CFConfig, CFModel
from songrec.models.classifier import ClassifierConfig, LikeClassifier
from songrec.models.ranker import (
    CF_FILE,
    CLASSIFIER_FILE,
    MAPS_FILE,
    RANKER_KIND,
    BlendWeights,
    RankerMaps,
    first_artists,
    sigmoid,
)
from songrec.store import open_store, parse_target
from songrec.store.open import is_sqlite_file_missing

log = logging.getLogger("songrec.training.ranker")

#: Test hook: "crash" exits hard mid-run, "oom" SIGKILLs itself (what the kernel's OOM killer does).
FAULT_ENV = "SONGREC_TRAINING_FAULT"
PRIMARY_METRIC = "val_auc"
CF_SHARES = (0.0, 0.25, 0.5, 0.75, 1.0)
#: EASE weights tried, as multiples of std(factor logits) / std(EASE scores) on the validation votes.
CF_EASE_RATIOS = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)


class RankerJobError(Exception):
    """A run that cannot proceed (no database, no embedding artifact); the message says what to do."""


@dataclass
class RankerJobConfig:
    #: A user's rows are capped at min(max_rows_per_user, max(min_cap, max_user_share * all rows)),
    #: keeping their newest votes.
    max_rows_per_user: int = 2000
    max_user_share: float = 0.05
    min_cap: int = 200
    #: Each user with at least min_votes_for_val votes holds out their newest val_fraction for validation.
    val_fraction: float = 0.2
    min_votes_for_val: int = 5
    min_rows: int = 20
    #: Promote when val AUC >= the current ranker's val AUC - tolerance.
    promote_tolerance: float = 0.01
    #: like + cf weight; the split between them is tuned on the validation votes.
    blend_total: float = 0.6
    #: The like/dislike family (songrec.models.classifier): "ensemble" fits a million votes ~5x faster
    #: than "dense" with a higher validation AUC; "dense" scores candidates ~3x faster (1.5 vs 4.8 ms
    #: for 120 rows).
    clf_family: str = "ensemble"
    clf_epochs: int = 30
    clf_batch: int = 256
    cf_epochs: int = 3  # the factors are ALS's; BCE only calibrates the head and item biases
    cf_dim: int = 32
    cf_batch: int = 4096
    cf_l2: float = 1e-3
    cf_neg_ratio: int = 4
    cf_als_iters: int = 8
    cf_dropout: float = (
        0.0  # the head sees 1 + 12 inputs on ~1M rows; dropout's RNG was a quarter of its time
    )
    #: EASE inside the CF model (logit += w * EASE score, w tuned on the validation votes; 0 turns it off).
    cf_ease: bool = True
    cf_ease_lambda: float = 100.0
    cf_ease_max_items: int = 3000
    cf_ease_dislike: float = 0.5
    #: Big data gets bigger batches rather than more steps: an epoch is at most this many steps.
    max_steps_per_epoch: int = 300
    seed: int = 0
    device: str | None = None
    keep_versions: int = 5


@dataclass
class RunResult:
    status: str  # succeeded | skipped | failed
    promoted: bool
    reason: str
    version: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)


@dataclass
class Votes:
    """Live votes as parallel arrays, oldest first."""

    ids: np.ndarray
    users: np.ndarray  # int64 user ids
    tracks: np.ndarray  # object: track ids
    values: np.ndarray  # +1 / -1

    def __len__(self) -> int:
        return len(self.ids)

    def take(self, mask: np.ndarray) -> Votes:
        return Votes(self.ids[mask], self.users[mask], self.tracks[mask], self.values[mask])

    @classmethod
    def concat(cls, pages: list[Votes]) -> Votes:
        if not pages:
            empty = np.zeros(0, dtype=np.int64)
            return cls(empty, empty.copy(), np.zeros(0, dtype=object), empty.copy())
        return cls(
            np.concatenate([p.ids for p in pages]),
            np.concatenate([p.users for p in pages]),
            np.concatenate([p.tracks for p in pages]),
            np.concatenate([p.values for p in pages]),
        )


async def read_votes(db_path: str | Path) -> Votes:
    """Every live vote, streamed read-only (the bot keeps writing meanwhile), but those of listeners who
    opted out in /privacy ("private" or "off"): the global models serve everyone, so they learn from
    neither."""
    pages: list[Votes] = []
    store = await open_store(db_path, readonly=True)
    try:
        choices = await store.users_with_setting(PRIVACY_SETTING)
        excluded = np.asarray(
            sorted(uid for uid, choice in choices.items() if choice != DEFAULT_PRIVACY), dtype=np.int64
        )
        names: dict[str, str] = {}  # one str per distinct track, not one per vote (~70 MiB at 1M)
        async for page in store.iter_vote_pages(batch_size=50_000):
            votes = Votes(
                np.asarray(page.ids, dtype=np.int64),
                np.asarray(page.user_ids, dtype=np.int64),
                np.asarray([names.setdefault(t, t) for t in page.track_ids], dtype=object),
                np.asarray(page.values, dtype=np.int64),
            )
            pages.append(votes.take(~np.isin(votes.users, excluded)) if len(excluded) else votes)
    finally:
        await store.close()
    return Votes.concat(pages)


def cap_per_user(votes: Votes, cfg: RankerJobConfig) -> tuple[Votes, int, int]:
    """Keep at most `cap` newest votes per user; returns (kept votes, cap, users capped)."""
    keep, cap, capped = cap_mask(votes, cfg)
    return votes.take(keep), cap, capped


def cap_mask(votes: Votes, cfg: RankerJobConfig) -> tuple[np.ndarray, int, int]:
    """cap_per_user as a mask over the votes (the caller keeps other arrays aligned with it)."""
    if len(votes) == 0:
        return np.zeros(0, dtype=bool), 0, 0
    cap = min(cfg.max_rows_per_user, max(cfg.min_cap, int(cfg.max_user_share * len(votes))))
    order = np.lexsort((-votes.ids, votes.users))  # per user, newest first
    users = votes.users[order]
    start = np.r_[0, np.flatnonzero(np.diff(users)) + 1]
    counts = np.diff(np.r_[start, len(users)])
    rank = np.arange(len(users)) - np.repeat(start, counts)
    keep = np.zeros(len(votes), dtype=bool)
    keep[order[rank < cap]] = True
    return keep, cap, int((counts > cap).sum())


def sorted_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """np.unique(values.astype(str), return_inverse=True), hashing instead of sorting a million strings
    (the sort and the fixed-width copies were seconds and hundreds of MiB at a million votes)."""
    import pandas as pd

    codes, uniques = pd.factorize(np.asarray(values, dtype=object), sort=False)
    names = np.asarray([str(u) for u in uniques])
    order = np.argsort(names, kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return names[order], rank[codes]


def track_rows(engine: Engine, tracks: np.ndarray) -> np.ndarray:
    """Each vote's catalogue row, -1 for a track the catalogue lacks (looked up once per distinct id)."""
    names, codes = sorted_codes(tracks)
    found = (engine.row_of(t) for t in names.tolist())
    return np.asarray([-1 if r is None else r for r in found], dtype=np.int64)[codes]


def user_strings(users: np.ndarray) -> np.ndarray:
    """The users' ids as an object array of str, one str object per distinct user (not one per vote)."""
    distinct, codes = np.unique(users, return_inverse=True)
    return np.asarray([str(u) for u in distinct.tolist()], dtype=object)[codes.reshape(-1)]


def split_last(votes: Votes, cfg: RankerJobConfig) -> tuple[np.ndarray, np.ndarray]:
    """Masks (train, val): each user with enough votes holds out their newest val_fraction."""
    order = np.lexsort((votes.ids, votes.users))  # per user, oldest first
    users = votes.users[order]
    start = np.r_[0, np.flatnonzero(np.diff(users)) + 1] if len(users) else np.zeros(0, dtype=np.int64)
    counts = np.diff(np.r_[start, len(users)])
    rank = np.arange(len(users)) - np.repeat(start, counts)
    n = np.repeat(counts, counts)
    held = np.maximum(1, np.round(cfg.val_fraction * n)).astype(np.int64)
    is_val = (n >= cfg.min_votes_for_val) & (rank >= n - held)
    val = np.zeros(len(votes), dtype=bool)
    val[order] = is_val
    return ~val, val


def _auc(y: np.ndarray, score: np.ndarray) -> float | None:
    if len(y) == 0 or y.min() == y.max():
        return None
    return float(roc_auc_score(y, score))


@dataclass
class Trained:
    classifier: LikeClassifier
    cf: CFModel
    users: list[str]
    items: list[str]
    weights: BlendWeights
    metrics: dict[str, Any]


def train(votes: Votes, engine: Engine, cfg: RankerJobConfig, device: str) -> Trained:
    """Fit both models on the capped votes and evaluate them on each user's newest votes."""
    rows = track_rows(engine, votes.tracks)
    known = rows >= 0
    dropped = int((~known).sum())
    votes, rows = votes.take(known), rows[known]
    keep, cap, capped_users = cap_mask(votes, cfg)
    votes, rows = votes.take(keep), rows[keep]
    del known, keep
    if len(votes) < cfg.min_rows:
        raise ModelInputError(f"only {len(votes)} usable votes; at least {cfg.min_rows} are needed to train")
    tr, va = split_last(votes, cfg)
    labels = (votes.values > 0).astype(np.float32)
    artists = first_artists(engine)
    user_keys = user_strings(votes.users)

    t0 = time.perf_counter()
    n_train = int(tr.sum())
    clf_batch = max(cfg.clf_batch, n_train // cfg.max_steps_per_epoch)
    clf = LikeClassifier(
        ClassifierConfig(
            family=cfg.clf_family, epochs=cfg.clf_epochs, batch_size=clf_batch, seed=cfg.seed, device=device
        )
    )
    # Feature rows are gathered per use, never for all votes at once (memory at a million votes).
    clf_fit = clf.fit(user_keys[tr], engine.scaled[rows[tr]], labels[tr], list(artists[rows[tr]]))
    t_clf = time.perf_counter() - t0

    t0 = time.perf_counter()
    cf, cf_users, cf_items, cf_batch, cf_fit = fit_cf(
        user_keys[tr], votes.tracks[tr], votes.values[tr], engine, cfg, device
    )
    t_cf = time.perf_counter() - t0

    # ---- validation: each model, then the blend split that ranks held-out votes best
    y = labels[va]
    prob = (
        clf.predict_proba(user_keys[va], engine.scaled[rows[va]], list(artists[rows[va]]))
        if va.any()
        else np.zeros(0)
    )
    cf_logit, cf_known, ease_grid = cf_validation(
        cf, cf_users, cf_items, user_keys[va].astype(str), votes.tracks[va], y
    )
    cf_part = np.where(cf_known, sigmoid(cf_logit) - 0.5, 0.0)
    grid: dict[str, float | None] = {}
    best_share, best_auc = 0.0, None
    for share in CF_SHARES:
        auc = _auc(y, (1.0 - share) * (prob - 0.5) + share * cf_part)
        grid[f"{share:g}"] = auc
        if auc is not None and (best_auc is None or auc > best_auc + 1e-9):
            best_share, best_auc = share, auc
    weights = BlendWeights(like=cfg.blend_total * (1.0 - best_share), cf=cfg.blend_total * best_share)
    metrics: dict[str, Any] = {
        PRIMARY_METRIC: best_auc,
        "val_auc_like": _auc(y, prob),
        "val_auc_cf": _auc(y[cf_known], cf_logit[cf_known]),
        "val_accuracy_like": float(((prob >= 0.5) == (y == 1.0)).mean()) if len(y) else None,
        "val_rows": int(va.sum()),
        "train_rows": int(tr.sum()),
        "users": int(len(np.unique(votes.users))),
        "cf_users": len(cf_users),
        "cf_items": len(cf_items),
        "dropped_unknown_tracks": dropped,
        "user_cap": cap,
        "capped_users": capped_users,
        "blend_grid_cf_share": grid,
        "cf_share": best_share,
        "like_weight": weights.like,
        "cf_weight": weights.cf,
        "classifier_train_accuracy": clf_fit.get("train_accuracy"),
        "cf_train_loss": cf_fit.get("train_loss"),
        "cf_ease_weight": cf.config.ease_weight,
        "cf_ease_grid": ease_grid,
        "classifier_batch": clf_batch,
        "cf_batch": cf_batch,
        "classifier_seconds": round(t_clf, 2),
        "cf_seconds": round(t_cf, 2),
        "device": device,
        "last_feedback_id": int(votes.ids.max()),
        "embedding_version": engine.version,
    }
    return Trained(clf, cf, cf_users.tolist(), cf_items.tolist(), weights, metrics)


def fit_cf(
    users: np.ndarray,
    tracks: np.ndarray,
    values: np.ndarray,
    engine: Engine,
    cfg: RankerJobConfig,
    device: str,
) -> tuple[CFModel, np.ndarray, np.ndarray, int, dict[str, float]]:
    """The CF model on the training votes: (model, sorted user keys, sorted track ids, batch, fit stats)."""
    cf_users, u_idx = sorted_codes(users)
    cf_items, i_idx = sorted_codes(tracks)
    item_rows = np.asarray([engine.row_of(t) for t in cf_items], dtype=np.int64)
    n_train = len(users)
    # Enough optimiser steps on small data too: at least ~16 batches per epoch.
    cf_batch = max(
        128,
        min(cfg.cf_batch, n_train // 16),
        n_train * (1 + cfg.cf_neg_ratio) // cfg.max_steps_per_epoch,
    )
    cf = CFModel(
        CFConfig(
            dim=cfg.cf_dim,
            epochs=cfg.cf_epochs,
            batch_size=cf_batch,
            l2=cfg.cf_l2,
            neg_ratio=cfg.cf_neg_ratio,
            als_iters=cfg.cf_als_iters,
            dropout=cfg.cf_dropout,
            ease_weight=1.0 if cfg.cf_ease else 0.0,  # the real weight is tuned on validation
            ease_lambda=cfg.cf_ease_lambda,
            ease_max_items=cfg.cf_ease_max_items,
            ease_dislike=cfg.cf_ease_dislike,
            seed=cfg.seed,
            device=device,
        )
    )
    fit = cf.fit(
        u_idx,
        i_idx,
        values.astype(np.float32),
        item_features=engine.scaled[item_rows],
        n_users=len(cf_users),
    )
    return cf, cf_users, cf_items, cf_batch, fit


def cf_validation(
    cf: CFModel,
    cf_users: np.ndarray,
    cf_items: np.ndarray,
    users: np.ndarray,
    tracks: np.ndarray,
    y: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, dict[str, float | None]]:
    """CF logits of the held-out votes (0 where the model cannot place the pair), whether each is known,
    and the validation AUC of each EASE weight tried; the best weight is set on the model."""
    ui = np.clip(np.searchsorted(cf_users, users), 0, max(len(cf_users) - 1, 0))
    ii = np.clip(np.searchsorted(cf_items, tracks.astype(str)), 0, max(len(cf_items) - 1, 0))
    known = (
        (cf_users[ui] == users) & (cf_items[ii] == tracks.astype(str)) if len(users) else np.zeros(0, bool)
    )
    logit = np.zeros(len(users))
    grid: dict[str, float | None] = {}
    if not known.any():
        return logit, known, grid
    factor, ease = cf.score_pairs(ui[known], ii[known])
    scale = float(factor.std()) / max(float(ease.std()), 1e-9)
    best_w, best_auc = 0.0, None
    for ratio in CF_EASE_RATIOS if cf.config.ease_weight > 0 else (0.0,):
        w = ratio * scale
        auc = _auc(y[known], factor + w * ease)
        grid[f"{ratio:g}"] = auc
        if auc is not None and (best_auc is None or auc > best_auc + 1e-9):
            best_w, best_auc = w, auc
    cf.config = replace(cf.config, ease_weight=best_w)
    logit[known] = factor + best_w * ease
    return logit, known, grid


def current_metric(root: Path) -> tuple[str | None, float | None]:
    store = ArtifactStore(root, RANKER_KIND)
    version = store.current_version()
    if version is None:
        return None, None
    try:
        value = store.verify(version).metrics.get(PRIMARY_METRIC)
    except ArtifactError:
        return version, None  # a damaged current ranker is no bar to replacing it
    return version, float(value) if isinstance(value, int | float) else None


def write_and_maybe_promote(
    trained: Trained, root: Path, cfg: RankerJobConfig, *, force: bool = False
) -> tuple[str, bool, str]:
    """Write the artifact; make it current when it validates no worse. Returns (version, promoted, why)."""
    store = ArtifactStore(root, RANKER_KIND)
    with store.writing() as writer:
        trained.classifier.save(writer.file(CLASSIFIER_FILE))
        trained.cf.save(writer.file(CF_FILE))
        maps = RankerMaps(trained.users, trained.items, trained.metrics["embedding_version"], trained.weights)
        writer.file(MAPS_FILE).write_text(maps.to_json())
        writer.manifest.metrics = dict(trained.metrics)
        writer.manifest.config = asdict(cfg)
    version = writer.version
    new = trained.metrics.get(PRIMARY_METRIC)
    old_version, old = current_metric(root)
    if new is None:
        why = "not promoted: no validation AUC (the held-out votes need both likes and dislikes)"
        promoted = False
    elif force or old is None or new >= old - cfg.promote_tolerance:
        store.promote(version)
        promoted = True
        why = f"promoted: val_auc {new:.4f}" + (
            f" vs current {old_version} {old:.4f}" if old is not None else " (no current ranker)"
        )
    else:
        promoted = False
        why = (
            f"not promoted: val_auc {new:.4f} is worse than current {old_version}'s {old:.4f} "
            f"(tolerance {cfg.promote_tolerance})"
        )
    store.prune(cfg.keep_versions)
    return version, promoted, why


def training_threads() -> int:
    """SONGREC_TRAINING_THREADS, else half the cores (the bot keeps the rest)."""
    threads = paths.get_settings().training_threads
    return threads if threads is not None else max(1, (os.cpu_count() or 2) // 2)


def run_job(
    db_path: str | Path, root: Path, cfg: RankerJobConfig, *, force: bool = False, device: str | None = None
) -> RunResult:
    """The whole job minus the run bookkeeping (so benchmarks and tests can call it in-process)."""
    device = device or cfg.device or paths.device()
    threads = training_threads()
    if device == "cpu":  # small batches: more threads than cores only fight (20x slower on 2 busy cores)
        torch.set_num_threads(threads)
    with threadpool_limits(threads):  # numpy/scipy's BLAS and OpenMP pools too, not only torch's
        return _run_job(db_path, root, cfg, force=force, device=device)


def _run_job(db_path: str | Path, root: Path, cfg: RankerJobConfig, *, force: bool, device: str) -> RunResult:
    started = time.perf_counter()
    votes = asyncio.run(read_votes(db_path))
    read_s = time.perf_counter() - started
    try:
        engine = Engine.load(root)
    except ArtifactError as exc:
        raise RankerJobError(f"no embedding artifact to train the ranker on ({exc})") from exc
    try:
        trained = train(votes, engine, cfg, device)
    except ModelInputError as exc:
        return RunResult("skipped", False, f"skipped: {exc}", metrics={"votes": len(votes)})
    trained.metrics["read_seconds"] = round(read_s, 2)
    trained.metrics["seconds"] = round(time.perf_counter() - started, 2)
    version, promoted, why = write_and_maybe_promote(trained, root, cfg, force=force)
    return RunResult("succeeded", promoted, why, version, trained.metrics)


# ---------------------------------------------------------------------- the command


def _inject_fault() -> None:
    fault = paths.get_settings().training_fault
    if fault == "crash":
        log.error("%s=crash: exiting hard", FAULT_ENV)
        os._exit(70)
    if fault == "oom":
        log.error("%s=oom: killing myself with SIGKILL", FAULT_ENV)
        os.kill(os.getpid(), signal.SIGKILL)


async def _record_start(db_path: str | Path, run_id: int | None, device: str, reason: str) -> int:
    store = await open_store(db_path)
    try:
        if run_id is not None:
            return (await store.update_training_run(run_id, status="running", finished_at=None)).id
        return (await store.record_training_run(device, reason)).id
    finally:
        await store.close()


async def _record_end(db_path: str | Path, run_id: int, result: RunResult) -> None:
    store = await open_store(db_path)
    try:
        await store.update_training_run(
            run_id,
            status=result.status,
            metrics=_json_safe(result.metrics),
            artifact_version=result.version,
            promoted=result.promoted,
            reason=result.reason,
        )
    finally:
        await store.close()


def _json_safe(metrics: dict[str, Any]) -> dict[str, Any]:
    def clean(v: Any) -> Any:
        if isinstance(v, dict):
            return {str(k): clean(x) for k, x in v.items()}
        if isinstance(v, float) and not np.isfinite(v):
            return None
        if isinstance(v, np.generic):
            return v.item()
        return v

    return clean(metrics)


def add_ranker_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db", help="feedback database: a file or a URL (default: SONGREC_DATABASE_URL, else SONGREC_DB)"
    )
    parser.add_argument("--artifacts", type=Path, help="artifacts root (default: SONGREC_HOME/artifacts)")
    parser.add_argument("--run-id", type=int, help="training_runs row to fill in (the scheduler's)")
    parser.add_argument("--reason", default="manual", help="why this run happens (stored with it)")
    parser.add_argument("--force", action="store_true", help="promote even if validation is worse")
    parser.add_argument("--clf-epochs", type=int, help="classifier epochs")
    parser.add_argument("--cf-epochs", type=int, help="CF epochs")
    parser.add_argument("--max-rows-per-user", type=int, help="cap on one user's votes")
    parser.add_argument("--max-user-share", type=float, help="cap on one user's share of all votes")
    parser.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--config-json", help="RankerJobConfig overrides as JSON, e.g. '{\"cf_dim\": 8}'")


def config_from_args(args: argparse.Namespace) -> RankerJobConfig:
    cfg = RankerJobConfig()
    if getattr(args, "config_json", None):
        try:
            overrides = json.loads(args.config_json)
            cfg = RankerJobConfig(**{**asdict(cfg), **overrides})
        except (ValueError, TypeError) as exc:
            raise RankerJobError(
                f"--config-json: {exc}; give a JSON object of RankerJobConfig fields"
            ) from exc
    for name in ("clf_epochs", "cf_epochs", "max_rows_per_user", "max_user_share", "device"):
        value = getattr(args, name, None)
        if value is not None:
            setattr(cfg, name, value)
    return cfg


def ranker_command(args: argparse.Namespace) -> int:
    db_path = str(args.db or paths.database_location())
    root = args.artifacts or paths.artifacts_dir()
    try:
        cfg = config_from_args(args)
    except RankerJobError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    device = cfg.device or paths.device()
    if is_sqlite_file_missing(parse_target(db_path)):
        print(
            f"error: no feedback database at {db_path}: run the bot or `songrec chat` first", file=sys.stderr
        )
        return 2
    try:
        run_id = asyncio.run(_record_start(db_path, args.run_id, device, args.reason))
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    _inject_fault()
    try:
        result = run_job(db_path, Path(root), cfg, force=args.force, device=device)
    except (RankerJobError, StoreError) as exc:
        result = RunResult("failed", False, f"failed: {exc}")
    except Exception as exc:  # recorded, then re-raised for the exit code and the log
        failed = RunResult("failed", False, f"failed: {exc!r}", metrics={"trigger": args.reason})
        asyncio.run(_record_end(db_path, run_id, failed))
        raise
    result.metrics["trigger"] = args.reason
    asyncio.run(_record_end(db_path, run_id, result))
    m = result.metrics
    auc = m.get(PRIMARY_METRIC)
    detail = f", val AUC {auc:.3f}" if isinstance(auc, float) else ""
    print(f"ranker run {run_id}: {result.status}{detail}; {result.reason}")
    return 0 if result.status in ("succeeded", "skipped") else 1
