"""`songrec arch-search`: a modest architecture search judged by the quality protocol, not by loss alone.

Three stages, each reusing what the previous one chose (2 cores: no full grid):

1. audio autoencoders (CAE sizes; deep AE widths, activations, latent sizes), each scored alone
   and fused with the default text code;
2. text autoencoders (SVD width, encoder, activation, latent size), scored alone and fused with
   the stage-1 winner;
3. the fusion weight of the text block.

Every run records train loss and validation MSE beside the protocol's metrics, in
reports/search.md. Trained codes are cached, so a re-run only re-scores.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from songrec.content.features import FeatureConfig
from songrec.models.autoencoders import CAEConfig, DeepAEConfig
from training.autoencoder import FAST
from training.embedding import EmbeddingJob, fit_embeddings
from training.fusion import fuse
from training.quality import EvalSet, Method, cache_dir, catalogue_key, evaluate
from training.text_embedding import TextConfig, fit_text_embedding

log = logging.getLogger(__name__)

AUDIO_GRID: tuple[tuple[str, CAEConfig | DeepAEConfig], ...] = (
    ("CAE 26-8", CAEConfig(hidden=8)),
    ("CAE 26-10 (paper)", CAEConfig(hidden=10)),
    ("CAE 26-16", CAEConfig(hidden=16)),
    ("deep 64-32-10 relu", DeepAEConfig(encoder=(64, 32), activations=("relu",), latent=10)),
    ("deep 64-32-10 tanh", DeepAEConfig(encoder=(64, 32), activations=("tanh",), latent=10)),
    ("deep 64-32-10 elu", DeepAEConfig(encoder=(64, 32), activations=("elu",), latent=10)),
    ("deep 128-64-16 relu", DeepAEConfig(encoder=(128, 64), activations=("relu",), latent=16)),
)
TEXT_GRID: tuple[tuple[str, TextConfig], ...] = (
    ("svd64 -> 16 (no hidden)", TextConfig(model=DeepAEConfig(encoder=(), latent=16))),
    (
        "svd64 -> 64 -> 16 relu",
        TextConfig(model=DeepAEConfig(encoder=(64,), activations=("relu",), latent=16)),
    ),
    (
        "svd64 -> 64 -> 16 tanh",
        TextConfig(model=DeepAEConfig(encoder=(64,), activations=("tanh",), latent=16)),
    ),
    (
        "svd64 -> 64 -> 32 relu",
        TextConfig(model=DeepAEConfig(encoder=(64,), activations=("relu",), latent=32)),
    ),
    (
        "svd128 -> 128 -> 32 relu",
        TextConfig(svd_dim=128, model=DeepAEConfig(encoder=(128,), activations=("relu",), latent=32)),
    ),
    (
        "svd128 -> 128 -> 32 relu, artist x1.5",
        TextConfig(
            svd_dim=128,
            artist_weight=1.5,
            model=DeepAEConfig(encoder=(128,), activations=("relu",), latent=32),
        ),
    ),
)
WEIGHTS: tuple[float, ...] = (1.0, 2.0, 3.0, 4.0, 6.0)
TOLERANCE = 0.02  # within 2% of the best fused NDCG@100, the cheaper config (or lower weight) wins
STAGE_WEIGHT = 2.0  # text weight while stages 1 and 2 compare architectures


@dataclass
class SearchRow:
    stage: str
    name: str
    train_loss: float
    val_mse: float
    epochs: int
    seconds: float
    alone: dict[str, float]
    fused: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class SearchConfig:
    epochs: int = 20  # cap per run (FAST stops early anyway)
    audio_features: FeatureConfig = field(default_factory=FeatureConfig)
    use_cache: bool = True
    progress: bool = False


def _run_cached(
    key: dict[str, object], train: Callable[[], tuple[np.ndarray, dict[str, float]]], use_cache: bool
) -> tuple[np.ndarray, dict[str, float]]:
    import hashlib

    name = hashlib.sha1(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:20]
    codes, info = cache_dir() / f"search-{name}.npy", cache_dir() / f"search-{name}.json"
    if use_cache and codes.is_file() and info.is_file():
        stats = json.loads(info.read_text())
        stats.pop("key", None)
        return np.load(codes), stats
    value, stats = train()
    if use_cache:
        np.save(codes, value)
        info.write_text(json.dumps({**stats, "key": key}, default=str))
    return value, stats


def _stats(result: object) -> dict[str, float]:
    return {
        "train_loss": float(result.train_loss[result.best_epoch]),  # type: ignore[attr-defined]
        "val_mse": float(result.best_val_mse),  # type: ignore[attr-defined]
        "epochs": len(result.val_mse),  # type: ignore[attr-defined]
        "seconds": round(float(result.seconds), 1),  # type: ignore[attr-defined]
    }


def train_audio(
    catalog: pd.DataFrame, model: CAEConfig | DeepAEConfig, config: SearchConfig
) -> tuple[np.ndarray, dict[str, float]]:
    train = replace(FAST, epochs=config.epochs)
    job = EmbeddingJob(model=model, train=train, features=config.audio_features)
    key = {
        "catalog": catalogue_key(catalog),
        "audio": asdict(model),
        "train": asdict(train),
        "features": asdict(config.audio_features),
    }

    def run() -> tuple[np.ndarray, dict[str, float]]:
        _, _, codes, result = fit_embeddings(catalog, job, progress=config.progress)
        return codes, _stats(result)

    return _run_cached(key, run, config.use_cache)


def train_text(
    catalog: pd.DataFrame, text: TextConfig, config: SearchConfig
) -> tuple[np.ndarray, dict[str, float]]:
    text = replace(text, train=replace(text.train, epochs=config.epochs))
    key = {"catalog": catalogue_key(catalog), "text": asdict(text)}

    def run() -> tuple[np.ndarray, dict[str, float]]:
        fitted = fit_text_embedding(catalog, text, progress=config.progress)
        return fitted.embeddings, _stats(fitted.result)

    return _run_cached(key, run, config.use_cache)


def _score(name: str, vectors: np.ndarray, data: EvalSet) -> dict[str, float]:
    return evaluate(Method(name, vectors=vectors), data)


def run_search(
    catalog: pd.DataFrame,
    data: EvalSet,
    config: SearchConfig | None = None,
    audio_grid: Sequence[tuple[str, CAEConfig | DeepAEConfig]] = AUDIO_GRID,
    text_grid: Sequence[tuple[str, TextConfig]] = TEXT_GRID,
    weights: Sequence[float] = WEIGHTS,
) -> tuple[list[SearchRow], dict[str, object]]:
    """All three stages; returns the rows and the chosen configuration (by fused NDCG@100)."""
    config = config or SearchConfig()
    rows: list[SearchRow] = []
    started = time.perf_counter()
    base_text, base_stats = train_text(catalog, TextConfig(), config)
    audio_codes: list[tuple[np.ndarray, CAEConfig | DeepAEConfig]] = []
    for name, model in audio_grid:
        codes, stats = train_audio(catalog, model, config)
        fused = fuse([codes, base_text], [1.0, STAGE_WEIGHT])
        row = SearchRow(
            "audio",
            name,
            **stats,
            alone=_score(name, codes, data),
            fused=_score(name + " + text", fused, data),
        )
        rows.append(row)
        audio_codes.append((codes, model))
        log.info("search %s: val %.5f fused ndcg %.4f", name, row.val_mse, row.fused["ndcg100"])
    a = pick([r.fused["ndcg100"] for r in rows if r.stage == "audio"])
    audio_name, (audio, audio_model) = audio_grid[a][0], audio_codes[a]
    text_codes: list[np.ndarray] = []
    for name, text in text_grid:
        codes, stats = train_text(catalog, text, config)
        fused = fuse([audio, codes], [1.0, STAGE_WEIGHT])
        rows.append(
            SearchRow("text", name, **stats, alone=_score(name, codes, data), fused=_score(name, fused, data))
        )
        text_codes.append(codes)
    t = pick([r.fused["ndcg100"] for r in rows if r.stage == "text"])
    text_name, text_config, text = text_grid[t][0], text_grid[t][1], text_codes[t]
    for w in weights:
        fused = fuse([audio, text], [1.0, w])
        nan = float("nan")
        rows.append(
            SearchRow(
                "fusion",
                f"text weight {w:g}",
                nan,
                nan,
                0,
                0.0,
                alone={},
                fused=_score(f"w={w}", fused, data),
            )
        )
    scores = [r.fused["ndcg100"] for r in rows if r.stage == "fusion"]
    w = pick(scores)
    chosen = {
        "audio": audio_name,
        "audio_model": asdict(audio_model),
        "text": text_name,
        "text_config": asdict(text_config),
        "text_weight": weights[w],
        "fused_ndcg100": scores[w],
        "minutes": round((time.perf_counter() - started) / 60, 1),
        "base_text_val_mse": base_stats["val_mse"],
    }
    return rows, chosen


def pick(scores: Sequence[float], tolerance: float = TOLERANCE) -> int:
    """The first (grids listed smallest first, weights lowest first) within ``tolerance`` of the best."""
    best = max(scores)
    return next(i for i, s in enumerate(scores) if s >= best * (1 - tolerance))


def search_report(rows: Sequence[SearchRow], chosen: dict[str, object], data: EvalSet) -> str:
    def fmt(v: float) -> str:
        return "" if v != v else f"{v:.3f}"  # NaN -> blank

    out = [
        "# Architecture search, judged by quality",
        "",
        f"Quality protocol on {data.n:,} TidyTuesday tracks and {len(data.playlists)} playlists (see reports/quality.md). "
        "Every autoencoder trains on the whole catalogue (80/20 split, early stopping); *alone* scores its code by itself, "
        f"*fused* concatenates it with the other branch (each block scaled to unit spread, text weight {STAGE_WEIGHT:g} in stages 1-2). "
        "Stage 1 fuses with the default text AE, stage 2 with the stage-1 winner. Each stage's winner is the first config "
        f"(grids listed smallest first, weights lowest first) within {TOLERANCE:.0%} of the stage's best fused NDCG@100: "
        "differences that small are noise, and the default must train in minutes on 2 cores. Runs are capped at 20 epochs; *s* is wall time with 1 torch thread on a shared, busy 2-core box; train loss includes the contractive/activity penalty.",
        "",
        "| stage | config | train loss | val MSE | epochs | s | genre P@10 alone | NDCG@100 alone | genre P@10 fused | artist HR@10 fused | R-prec fused | NDCG@100 fused |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        a, f = r.alone, r.fused
        out.append(
            f"| {r.stage} | {r.name} | {fmt(r.train_loss)} | {fmt(r.val_mse)} | {r.epochs or ''} | {r.seconds or ''} | "
            f"{fmt(a.get('genre_p10', float('nan')))} | {fmt(a.get('ndcg100', float('nan')))} | "
            f"{fmt(f['genre_p10'])} | {fmt(f['artist_hit10'])} | {fmt(f['r_precision'])} | {fmt(f['ndcg100'])} |"
        )
    out += [
        "",
        f"Chosen: audio **{chosen['audio']}**, text **{chosen['text']}**, text weight **{chosen['text_weight']}** "
        f"(fused NDCG@100 {chosen['fused_ndcg100']:.3f}); search took {chosen['minutes']} min.",
    ]
    return "\n".join(out) + "\n"


def write_search(rows: Sequence[SearchRow], chosen: dict[str, object], data: EvalSet, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / "search.md"
    path.write_text(search_report(rows, chosen, data))
    (out / "search.json").write_text(
        json.dumps({"chosen": chosen, "rows": [asdict(r) for r in rows]}, indent=1, default=str)
    )
    return path


def add_search_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--catalog", type=Path, help="catalogue file or folder (default: SONGREC_DATA, cache)"
    )
    parser.add_argument("--out", type=Path, default=Path("reports"), help="folder for search.md")
    parser.add_argument(
        "--epochs", type=int, default=20, help="epoch cap per run (early stopping still applies)"
    )
    parser.add_argument("--no-cache", action="store_true", help="retrain every run")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads (1 is fastest on a busy 2-core box)"
    )
    parser.add_argument("--quick", action="store_true", help="two configs per stage (smoke run)")


def search_command(args: argparse.Namespace) -> int:
    import sys

    import torch

    from songrec.catalog import load_default_catalogue
    from songrec.domain import CatalogError
    from training.quality import QualityError, load_eval_set

    torch.set_num_threads(max(1, args.threads))
    try:
        catalog = load_default_catalogue(args.catalog).frame.reset_index(drop=True)
        data = load_eval_set(catalog)
    except (CatalogError, QualityError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    config = SearchConfig(epochs=args.epochs, use_cache=not args.no_cache)
    grids = (AUDIO_GRID[:2], TEXT_GRID[:2], WEIGHTS[:2]) if args.quick else (AUDIO_GRID, TEXT_GRID, WEIGHTS)
    rows, chosen = run_search(catalog, data, config, *grids)
    path = write_search(rows, chosen, data, args.out)
    print(path.read_text())
    return 0
