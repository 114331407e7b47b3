"""Embedding quality side by side (reports/quality.md, reports/quality.png) and the default's training time.

Runs the protocol of training/quality.py: baselines, both autoencoders with and without the
artist PCA block, the text AE, the co-listing encoder and the default (all fused), on TidyTuesday
tracks; the headline table scores held-out playlists and their tracks only.
Trained codes are cached under SONGREC_HOME/cache/quality, so a re-run only re-scores.

    SONGREC_DATA=/work/shared/data .venv/bin/python bench/quality.py
    SONGREC_DATA=/work/shared/data .venv/bin/python bench/quality.py --time-default   # + timed default fit
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from songrec.catalog import load_default_catalogue  # noqa: E402
from training.embedding import DEFAULT_JOB, fit_job  # noqa: E402
from training.quality import heldout_results, load_eval_set, run_protocol  # noqa: E402
from training.quality_methods import Comparison, comparison_methods  # noqa: E402
from training.quality_report import write_report  # noqa: E402

BUDGET_S = 60.0  # `make run` trains the default: the whole `songrec train` within a minute on 2 cores


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=ROOT / "reports")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-cache", action="store_true")
    parser.add_argument(
        "--time-default", action="store_true", help="also time one uncached fit of the default job"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(args.threads)

    started = time.perf_counter()
    catalog = load_default_catalogue().frame.reset_index(drop=True)
    data = load_eval_set(catalog)
    comparison = Comparison(use_cache=not args.no_cache, progress=False)
    methods = comparison_methods(catalog, comparison)
    built = time.perf_counter()
    results = run_protocol(methods, data)
    held = heldout_results(methods, data)
    scored = time.perf_counter()
    notes: list[str] = []
    if args.time_default:
        home = os.environ.get("SONGREC_HOME")
        with tempfile.TemporaryDirectory() as cold:  # no cached text features: a first `songrec train`
            os.environ["SONGREC_HOME"] = cold
            t0 = time.perf_counter()
            fitted = fit_job(catalog, DEFAULT_JOB, progress=False)
            seconds = time.perf_counter() - t0
        if home is None:
            os.environ.pop("SONGREC_HOME")
        else:
            os.environ["SONGREC_HOME"] = home
        notes.append(
            f"Default fit on {len(catalog):,} tracks ({fitted.embeddings.shape[1]}-d, {args.threads} torch thread(s)): "
            f"{seconds:.0f}s = {seconds / BUDGET_S:.2f}x the {BUDGET_S:.0f}s budget (cold text cache; catalogue load and index build not included)."
        )
    path = write_report(
        results, data, args.out, "Embedding quality on TidyTuesday playlists", notes, heldout=held
    )
    print(path.read_text())
    print(
        f"catalogue + models {built - started:.0f}s, scoring {len(methods)} methods {scored - built:.0f}s "
        f"({(scored - built) / len(methods):.1f}s each)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
