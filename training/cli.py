"""Command line of the training jobs; `songrec train` and `songrec sweep` run these in a subprocess.

A subprocess keeps a crash, or an out-of-memory kill, of a training run away from the bot.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from songrec.catalog import CatalogError, load_default_catalogue
from songrec.config import artifacts_dir
from songrec.features import FeatureConfig
from songrec.index import IndexConfig
from songrec.models.autoencoders import MSD_PRESET, CAEConfig, DeepAEConfig
from training.autoencoder import FAST, PAPER, TrainConfig
from training.embedding import EmbeddingJob, build_embedding_artifact

log = logging.getLogger("songrec.training")


def add_embedding_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--catalog", type=Path, help="catalogue file or folder (default: SONGREC_DATA, cache)"
    )
    parser.add_argument(
        "--model", choices=["cae", "deep", "msd"], default="cae", help="autoencoder (default cae)"
    )
    parser.add_argument("--preset", choices=["fast", "paper"], default="fast", help="training recipe")
    parser.add_argument("--hidden", type=int, help="CAE hidden (= embedding) size; default 10")
    parser.add_argument("--lam", type=float, help="CAE contractive penalty weight")
    parser.add_argument("--encoder", help="deep AE encoder sizes, e.g. 64,32")
    parser.add_argument("--activations", help="deep AE activations, one or one per layer, e.g. relu,tanh")
    parser.add_argument("--latent", type=int, help="deep AE latent size")
    parser.add_argument("--latent-activation", help="deep AE latent activation (default none)")
    parser.add_argument("--l1", type=float, default=0.0, help="deep AE L1 activity regulariser on the latent")
    parser.add_argument("--l2", type=float, default=0.0, help="deep AE L2 activity regulariser on the latent")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--lr", type=float)
    parser.add_argument("--artist-components", type=int, default=0, help="artist PCA size (0 = off)")
    parser.add_argument("--ef", type=int, default=128, help="HNSW query beam")
    parser.add_argument("--M", type=int, default=16, help="HNSW graph degree")
    parser.add_argument("--strict", action="store_true", help="reject the catalogue on any invalid row")
    parser.add_argument("--no-promote", action="store_true", help="build but do not make it current")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def job_from_args(args: argparse.Namespace) -> EmbeddingJob:
    train = PAPER if args.preset == "paper" else FAST
    overrides = {
        k: v for k, v in {"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr}.items() if v
    }
    train = TrainConfig(**{**train.__dict__, **overrides})
    model: CAEConfig | DeepAEConfig
    if args.model == "cae":
        model = CAEConfig(hidden=args.hidden or 10, lam=args.lam if args.lam is not None else CAEConfig.lam)
    else:
        base = MSD_PRESET if args.model == "msd" else DeepAEConfig()
        model = DeepAEConfig(
            encoder=tuple(int(x) for x in args.encoder.split(",")) if args.encoder else base.encoder,
            activations=tuple(args.activations.split(",")) if args.activations else base.activations,
            latent=args.latent or base.latent,
            latent_activation=args.latent_activation,
            l1_activity=args.l1,
            l2_activity=args.l2,
        )
    return EmbeddingJob(
        model=model,
        train=train,
        features=FeatureConfig(artist_components=args.artist_components),
        index=IndexConfig(M=args.M, ef=args.ef),
    )


def cmd_embedding(args: argparse.Namespace) -> int:
    try:
        build = load_default_catalogue(args.catalog, strict=args.strict)
    except CatalogError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"catalogue: {len(build.frame):,} tracks ({len(build.issues)} invalid rows skipped)")
    result = build_embedding_artifact(
        build.frame,
        artifacts_dir(),
        job_from_args(args),
        catalog_hash=build.content_hash,
        promote=not args.no_promote,
        progress=not args.quiet,
    )
    m = result.metrics
    print(
        f"artifact {result.version}: val MSE {m['best_val_mse']:.5f}, recall@10 {m['recall_at_10']:.3f}, "
        f"{m['epochs_run']} epochs in {m['seconds']}s on {m['device']}"
    )
    print(f"loss curve: {result.path / 'loss.png'}")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from training.sweep import run_sweep

    try:
        build = load_default_catalogue(args.catalog)
    except CatalogError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report = run_sweep(build.frame, args.out, sample=args.sample, epochs=args.epochs, progress=not args.quiet)
    print(report.read_text())
    return 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="python -m training", description="songrec training jobs")
    sub = parser.add_subparsers(dest="command", required=True)
    emb = sub.add_parser("embedding", help="train the autoencoder and build the index")
    add_embedding_options(emb)
    emb.set_defaults(func=cmd_embedding)
    sweep = sub.add_parser("sweep", help="the paper's Tables 2-5 on the real catalogue")
    sweep.add_argument("--catalog", type=Path)
    sweep.add_argument("--out", type=Path, default=Path("reports"))
    sweep.add_argument("--sample", type=int, default=20000, help="tracks used per run (0 = all)")
    sweep.add_argument("--epochs", type=int, default=10)
    sweep.add_argument("--quiet", action="store_true")
    sweep.set_defaults(func=cmd_sweep)
    args = parser.parse_args(argv)
    return int(args.func(args))
