"""Wall time to reach the paper's final reconstruction loss: paper recipe vs our fast default.

Both run side by side in one process on the real catalogue (SONGREC_DATA), same split, same device.
Usage: python bench/train_cae.py [--sample N] [--out reports/train_cae.md]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

from report import write_report  # bench/ is on sys.path when a bench runs

from songrec.catalog import load_default_catalogue
from songrec.content.features import FeaturePipeline
from songrec.models.autoencoders import ContractiveAutoencoder
from songrec.settings import device
from training.autoencoder import FAST, PAPER, train_autoencoder


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sample", type=int, default=0, help="tracks to use (0 = all)")
    parser.add_argument("--out", type=Path, default=Path("reports/train_cae.md"))
    args = parser.parse_args()
    frame = load_default_catalogue().frame
    if args.sample:
        frame = frame.sample(n=args.sample, random_state=0)
    x = FeaturePipeline.fit(frame).transform(frame)
    dev = device()

    started = time.perf_counter()
    paper = train_autoencoder(ContractiveAutoencoder(), x, PAPER, device=dev, progress=True)
    paper_s = time.perf_counter() - started
    target = paper.val_mse[-1]

    started = time.perf_counter()
    fast = train_autoencoder(
        ContractiveAutoencoder(),
        x,
        replace(FAST, target_val_mse=target, epochs=200, patience=200),
        device=dev,
        progress=True,
    )
    fast_s = time.perf_counter() - started
    reached = fast.val_mse[-1] <= target
    rows = [
        ("paper (lr 1e-3, batch 4, 10 epochs)", paper_s, len(paper.val_mse), paper.val_mse[-1]),
        (f"fast (lr {FAST.lr}, batch {FAST.batch_size})", fast_s, len(fast.val_mse), fast.val_mse[-1]),
    ]
    lines = [
        f"# Time to the paper's final validation MSE ({target:.5f}); {len(x):,} tracks on {dev}",
        "",
        "| recipe | seconds | epochs | final val MSE |",
        "| --- | --- | --- | --- |",
        *[f"| {name} | {s:.1f} | {e} | {m:.5f} |" for name, s, e, m in rows],
        "",
        f"fast default reached the target: {reached}; speed-up {paper_s / fast_s:.1f}x",
    ]
    text = "\n".join(lines) + "\n"
    write_report(text, args.out)


if __name__ == "__main__":
    main()
