"""Command line of the training jobs; `songrec train` and `songrec sweep` run these in a subprocess.

A subprocess keeps a crash, or an out-of-memory kill, of a training run away from the bot.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import replace
from pathlib import Path

from songrec.catalog import load_default_catalogue
from songrec.content.features import FeatureConfig
from songrec.domain import CatalogError
from songrec.models.autoencoders import MSD_PRESET, CAEConfig, DeepAEConfig
from songrec.settings import artifacts_dir, get_settings
from songrec.settings import device as default_device
from training import run_log
from training.autoencoder import FAST, PAPER, TrainConfig
from training.embedding import DEFAULT_JOB, EmbeddingJob, build_embedding_artifact
from training.metric_learning import MetricConfig
from training.text_embedding import TextConfig, TextEmbeddingError

log = logging.getLogger("songrec.training")


def add_embedding_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--catalog", type=Path, help="catalogue file or folder (default: SONGREC_DATA, cache)"
    )
    parser.add_argument(
        "--model",
        choices=["cae", "deep", "msd"],
        help="audio autoencoder (default: DEFAULT_JOB's, CAE 26-16)",
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
    parser.add_argument("--epochs", type=int, help="autoencoder epochs (default: the preset's)")
    parser.add_argument("--batch-size", type=int, help="autoencoder batch size (default: the preset's)")
    parser.add_argument("--lr", type=float, help="autoencoder learning rate (default: the preset's)")
    parser.add_argument("--artist-components", type=int, default=0, help="artist PCA size (0 = off)")
    parser.add_argument(
        "--text",
        choices=["tfidf", "minilm", "none"],
        help="text branch fused with the audio code (default: the EmbeddingJob default)",
    )
    parser.add_argument("--text-dim", type=int, help="text autoencoder latent size")
    parser.add_argument("--text-weight", type=float, help="weight of the text block in the fused embedding")
    parser.add_argument(
        "--colisted",
        choices=["on", "off"],
        help="co-listing stage (default on, off with --text none: the audio-only paper recipe)",
    )
    parser.add_argument("--colisted-weight", type=float, help="weight of the co-listing block")
    parser.add_argument(
        "--playlists", type=Path, help="TidyTuesday spotify_songs.csv(.gz) for the co-listing stage"
    )
    parser.add_argument("--ef", type=int, default=128, help="HNSW query beam")
    parser.add_argument("--M", type=int, default=16, help="HNSW graph degree")
    parser.add_argument("--strict", action="store_true", help="reject the catalogue on any invalid row")
    parser.add_argument("--no-promote", action="store_true", help="build but do not make it current")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def job_from_args(args: argparse.Namespace) -> EmbeddingJob:
    default = DEFAULT_JOB
    shaped = args.hidden or args.lam is not None or args.encoder or args.activations or args.latent
    # The default model trains on DEFAULT_JOB's cycle of the fast recipe; any other model on FAST's.
    fast = default.train if args.model is None and not shaped else FAST
    train = PAPER if args.preset == "paper" else fast
    overrides = {
        k: v for k, v in {"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr}.items() if v
    }
    train = TrainConfig(**{**train.__dict__, **overrides})
    model: CAEConfig | DeepAEConfig
    kind = args.model or ("cae" if args.hidden or args.lam is not None else default.model.kind)
    if args.model is None and not shaped:
        model = default.model
    elif kind == "cae":
        model = CAEConfig(
            hidden=args.hidden or CAEConfig.hidden, lam=args.lam if args.lam is not None else CAEConfig.lam
        )
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
    text = default.text
    if args.text == "none":
        text = None
    elif args.text or args.text_dim:
        text_base = text or TextConfig()
        text = replace(text_base, kind=args.text or text_base.kind)
        if args.text_dim:
            text = replace(text, model=replace(text.model, latent=args.text_dim))
    colisted_off = args.colisted == "off" or (args.colisted is None and args.text == "none")
    return EmbeddingJob(
        model=model,
        train=train,
        features=FeatureConfig(artist_components=args.artist_components),
        index=replace(default.index, M=args.M, ef=args.ef),
        text=text,
        text_weight=args.text_weight if args.text_weight is not None else default.text_weight,
        colisted=None if colisted_off else (default.colisted or MetricConfig()),
        colisted_weight=args.colisted_weight or default.colisted_weight,
    )


def cmd_embedding(args: argparse.Namespace) -> int:
    try:
        build = load_default_catalogue(args.catalog, strict=args.strict)
    except CatalogError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"catalogue: {len(build.frame):,} tracks ({len(build.issues)} invalid rows skipped)")
    run_id = run_log.record_start(default_device())
    try:
        result = build_embedding_artifact(
            build.frame,
            artifacts_dir(),
            job_from_args(args),
            catalog_hash=build.content_hash,
            promote=not args.no_promote,
            progress=not args.quiet,
            playlists=args.playlists,
        )
    except TextEmbeddingError as exc:
        run_log.record_end(run_id, "failed", reason=f"{run_log.EMBEDDING_REASON}: {exc}")
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BaseException as exc:  # recorded, then raised as before (Ctrl-C included)
        run_log.record_end(run_id, "failed", reason=f"{run_log.EMBEDDING_REASON}: {type(exc).__name__}")
        raise
    run_log.record_end(
        run_id, "succeeded", version=result.version, promoted=not args.no_promote, metrics=result.metrics
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


def cmd_evaluate(args: argparse.Namespace) -> int:
    from training.quality_report import evaluate_command

    return evaluate_command(args)


def cmd_search(args: argparse.Namespace) -> int:
    from training.search import search_command

    return search_command(args)


#: Jobs a person runs and reads: INFO logs only with --verbose (or SONGREC_LOG_LEVEL). The ranker and
#: the schedule worker keep INFO: their logs are the worker's record.
QUIET_JOBS = {"embedding", "sweep", "evaluate", "search"}
#: How each job is spelt on the `songrec` command (`songrec train` runs "embedding").
SUBCOMMAND_NAMES = {
    "embedding": "train",
    "ranker": "train ranker",
    "schedule": "train --schedule",
    "search": "arch-search",  # `songrec search` looks for songs in the catalogue
}


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    front = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    front.add_argument("--prog", default="python -m training")
    front.add_argument("-v", "--verbose", action="store_true")
    shown, rest = front.parse_known_args(sys.argv[1:] if argv is None else argv)
    prog = shown.prog

    def add(name: str, help: str) -> argparse.ArgumentParser:
        spelt = SUBCOMMAND_NAMES.get(name, name) if prog == "songrec" else name
        return sub.add_parser(name, help=help, prog=f"{prog} {spelt}")

    parser = argparse.ArgumentParser(prog=prog, description="songrec training jobs")
    parser.add_argument("-v", "--verbose", action="store_true", help="show INFO logs on stderr")
    sub = parser.add_subparsers(dest="command", required=True)
    emb = add("embedding", "train the autoencoder and build the index")
    add_embedding_options(emb)
    emb.set_defaults(func=cmd_embedding)
    sweep = add("sweep", "the paper's Tables 2-5 on the real catalogue")
    sweep.add_argument("--catalog", type=Path, help="catalogue file or folder (default: SONGREC_DATA, cache)")
    sweep.add_argument("--out", type=Path, default=Path("reports"), help="folder for the tables")
    sweep.add_argument("--sample", type=int, default=20000, help="tracks used per run (0 = all)")
    sweep.add_argument("--epochs", type=int, default=10, help="epochs per run (default 10)")
    sweep.add_argument("--quiet", action="store_true", help="no progress bars")
    sweep.set_defaults(func=cmd_sweep)
    from training.quality_report import add_evaluate_options
    from training.search import add_search_options

    evaluate = add("evaluate", "embedding quality on real playlists (reports/quality.md)")
    add_evaluate_options(evaluate)
    evaluate.set_defaults(func=cmd_evaluate)
    search = add("search", "architecture search judged by quality (reports/search.md)")
    add_search_options(search)
    search.set_defaults(func=cmd_search)
    from training.ranker_job import add_ranker_options, ranker_command
    from training.scheduler import add_schedule_options, schedule_command

    ranker = add("ranker", "train the like classifier + CF ranker from the feedback store")
    add_ranker_options(ranker)
    ranker.set_defaults(func=ranker_command)
    schedule = add("schedule", "worker: retrain the ranker on an interval and on new feedback")
    add_schedule_options(schedule)
    schedule.set_defaults(func=schedule_command)
    args = parser.parse_args(rest)
    if shown.verbose or args.verbose:
        logging.getLogger().setLevel(logging.INFO)
    elif args.command in QUIET_JOBS and get_settings().log_level is None:
        logging.getLogger().setLevel(logging.WARNING)
    return int(args.func(args))
