"""reports/quality.md, .png and .json from the protocol's scores, and the `songrec evaluate` command.

The tables put the held-out playlists first: only there are methods that trained on co-listings
(the default among them) compared fairly with the baselines.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from training.colisting import PLAYLISTS_RELPATH
from training.quality import (
    MIN_PLAYLIST,
    N_SEEDS,
    EvalSet,
    HeldOut,
    Method,
    QualityError,
    heldout_results,
    load_eval_set,
    read_memberships,
    run_protocol,
)

METRICS: tuple[tuple[str, str], ...] = (
    ("genre_p10", "genre P@10"),
    ("subgenre_p10", "subgenre P@10"),
    ("artist_hit10", "same-artist HR@10"),
    ("decade_p10", "decade P@10"),
    ("r_precision", "playlist R-prec"),
    ("ndcg100", "playlist NDCG@100"),
)


def markdown_table(
    results: Sequence[tuple[Method, Mapping[str, float]]], best_baseline: float | None = None
) -> str:
    head = (
        "| method | kind | dim | " + " | ".join(label for _, label in METRICS) + " | NDCG vs best baseline |"
    )
    lines = [head, "|" + "---|" * (len(METRICS) + 4)]
    for method, r in results:
        ratio = f"{r['ndcg100'] / best_baseline:.2f}x" if best_baseline else ""
        cells = " | ".join(f"{r[key]:.3f}" for key, _ in METRICS)
        lines.append(f"| {method.name} | {method.note} | {int(r['dim']) or '-'} | {cells} | {ratio} |")
    return "\n".join(lines)


def best_baseline_ndcg(results: Sequence[tuple[Method, Mapping[str, float]]]) -> float:
    return max(r["ndcg100"] for m, r in results if "baseline" in m.note)


def bar_chart(results: Sequence[tuple[Method, Mapping[str, float]]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [m.name for m, _ in results]
    fig, axes = plt.subplots(
        1, len(METRICS), figsize=(3.0 * len(METRICS), 0.42 * len(names) + 1.8), sharey=True
    )
    y = np.arange(len(names))
    colours = {
        "baseline": "#9e9e9e",
        "strong baseline": "#616161",
        "audio AE": "#42a5f5",
        "text AE": "#ab47bc",
        "co-listing": "#26a69a",
    }
    for ax, (key, label) in zip(axes, METRICS, strict=True):
        values = [r[key] for _, r in results]
        ax.barh(y, values, color=[colours.get(m.note, "#ef6c00") for m, _ in results])
        ax.set_title(label, fontsize=9)
        ax.set_xlim(0, max(max(values) * 1.15, 1e-3))
        ax.tick_params(axis="x", labelsize=7)
    axes[0].set_yticks(y, names, fontsize=8)
    axes[0].invert_yaxis()
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def heldout_table(
    results: Sequence[tuple[Method, Mapping[str, float]]], n_train: int, n_held: int, n_tracks: int
) -> list[str]:
    best = best_baseline_ndcg(results) if any("baseline" in m.note for m, _ in results) else None
    return [
        "## Held-out playlists (the headline)",
        "",
        f"Playlists are split by a fixed hash of playlist_id (training/colisting.py): the co-listing stage of "
        f"the default trains on the other playlists with every track of a held-out playlist removed. Every row "
        f"below is scored on the {n_held} held-out playlists with >= {MIN_PLAYLIST} tracks (same seeds, same "
        f"candidates: all TidyTuesday tracks), and its neighbour metrics on the {n_tracks:,} tracks listed in "
        f"them, none of which the co-listing stage saw co-listed ({n_train} playlists with >= {MIN_PLAYLIST} "
        "tracks are on the training side). The all-playlist table below is kept for methods that never see playlists.",
        "",
        markdown_table(results, best),
    ]


def headline(results: Sequence[tuple[Method, Mapping[str, float]]]) -> str:
    """The default's NDCG@100 against the best baseline's, or "" when either is missing."""
    default = next((r for m, r in results if m.note == "default"), None)
    if default is None or not any("baseline" in m.note for m, _ in results):
        return ""
    best = best_baseline_ndcg(results)
    return (
        f"Default embedding NDCG@100 / best baseline NDCG@100 on held-out playlists = "
        f"{default['ndcg100']:.3f} / {best:.3f} = **{default['ndcg100'] / best:.2f}x** (target >= 1.3x)."
    )


def write_report(
    results: Sequence[tuple[Method, Mapping[str, float]]],
    data: EvalSet,
    out: Path,
    title: str,
    notes: Sequence[str] = (),
    heldout: HeldOut | None = None,
) -> Path:
    """reports/quality.md (tables) and reports/quality.png (bar chart of the headline table)."""
    out.mkdir(parents=True, exist_ok=True)
    best = best_baseline_ndcg(results) if any("baseline" in m.note for m, _ in results) else None
    lines = [f"# {title}", ""]
    if heldout is not None:
        lines += [*heldout_table(heldout.results, heldout.n_train, heldout.n_held, heldout.n_tracks), ""]
        summary = headline(heldout.results)
        lines += [summary, ""] if summary else []
    lines += [
        "## All playlists" if heldout is not None else "## Scores",
        "",
        f"{data.n:,} TidyTuesday tracks scored (embeddings fitted on the whole catalogue); "
        f"{len(data.playlists)} playlists with >= {MIN_PLAYLIST} tracks, {N_SEEDS} fixed seeds each, candidates ranked "
        f"by max similarity (-squared L2) to a seed. Genre, subgenre and playlist ids are never model input. Rows "
        "marked co-listing or default trained on most of these playlists' co-listings, so only the table above "
        "compares them fairly.",
        "",
        markdown_table(results, best),
        "",
        *notes,
    ]
    path = out / "quality.md"
    path.write_text("\n".join(lines).rstrip() + "\n")
    chart = heldout.results if heldout is not None else results
    bar_chart(chart, out / "quality.png", title + (" (held-out playlists)" if heldout is not None else ""))
    payload = {"all_playlists": {m.name: r for m, r in results}}
    if heldout is not None:
        payload["heldout_playlists"] = {m.name: r for m, r in heldout.results}
    (out / "quality.json").write_text(json.dumps(payload, indent=1))
    return path


# ----------------------------------------------------------------------------- command line


def add_evaluate_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--catalog", type=Path, help="catalogue file or folder (default: SONGREC_DATA, cache)"
    )
    parser.add_argument(
        "--playlists",
        type=Path,
        help=f"TidyTuesday spotify_songs.csv(.gz) (default: SONGREC_DATA/{PLAYLISTS_RELPATH})",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("reports"), help="folder for quality.md / quality.png"
    )
    parser.add_argument(
        "--artifact", action="store_true", help="also score the embedding the current artifact serves"
    )
    parser.add_argument("--only-artifact", action="store_true", help="score only the current artifact (fast)")
    parser.add_argument("--epochs", type=int, help="cap the autoencoders' epochs (quicker, rougher)")
    parser.add_argument(
        "--no-cache", action="store_true", help="retrain everything instead of reusing cached codes"
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads (1 is fastest on a busy 2-core box)"
    )
    parser.add_argument(
        "--no-heldout", "--no-finetune", action="store_true", help="skip the held-out playlists table"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def evaluate_command(args: argparse.Namespace) -> int:
    """`songrec evaluate`: the side-by-side table (or only the served artifact)."""
    import sys

    from songrec.catalog import load_default_catalogue
    from songrec.domain import ArtifactError, CatalogError
    from training.quality_methods import Comparison, artifact_method, comparison_methods

    torch.set_num_threads(max(1, int(args.threads)))
    try:
        catalog = load_default_catalogue(args.catalog).frame.reset_index(drop=True)
        memberships = read_memberships(args.playlists) if args.playlists else None
        data = load_eval_set(catalog, memberships)
        methods: list[Method] = []
        if not args.only_artifact:
            comparison = Comparison(epochs=args.epochs, use_cache=not args.no_cache, progress=not args.quiet)
            methods = comparison_methods(catalog, comparison)
        if args.artifact or args.only_artifact:
            methods.append(artifact_method(catalog))
    except (CatalogError, QualityError, ArtifactError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    results = run_protocol(methods, data)
    held = None if args.no_heldout else heldout_results(methods, data)
    path = write_report(results, data, args.out, "Embedding quality on TidyTuesday playlists", heldout=held)
    print(path.read_text())
    print(
        f"scored {len(methods)} methods in {time.perf_counter() - started:.0f}s; chart: {args.out / 'quality.png'}"
    )
    return 0
