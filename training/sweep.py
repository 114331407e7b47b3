"""`songrec sweep`: the CAE paper's Tables 2-5 (batch size, learning rate, hidden layers, hidden dim).

Each table varies one setting around the paper's recipe (lr 1e-3, batch 4, 10 epochs, one
hidden layer of 10) and records reconstruction loss on the 20% validation split.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from songrec.content.features import FeaturePipeline
from songrec.models.autoencoders import CAEConfig, DeepAEConfig, build_autoencoder
from training.autoencoder import PAPER, TrainConfig, train_autoencoder

TABLES: dict[str, list[object]] = {
    "batch_size": [4, 16, 64, 256],
    "learning_rate": [1e-2, 1e-3, 1e-4],
    "hidden_layers": [1, 2, 3],
    "hidden_dim": [5, 10, 15, 20],
}


@dataclass(frozen=True)
class SweepRow:
    table: str
    value: object
    train_loss: float
    val_mse: float
    seconds: float


def _model_for(table: str, value: object) -> CAEConfig | DeepAEConfig:
    if table == "hidden_dim":
        return CAEConfig(hidden=int(value))  # type: ignore[call-overload]
    if table == "hidden_layers" and int(value) > 1:  # type: ignore[call-overload]
        # Stacked ReLU layers narrowing to the same 10-d code; the closed-form penalty is for one layer.
        return DeepAEConfig(encoder=(20,) * (int(value) - 1), latent=10, latent_activation="relu")  # type: ignore[call-overload]
    return CAEConfig()


def _train_for(table: str, value: object, base: TrainConfig) -> TrainConfig:
    if table == "batch_size":
        return replace(base, batch_size=int(value))  # type: ignore[call-overload]
    if table == "learning_rate":
        return replace(base, lr=float(value))  # type: ignore[arg-type]
    return base


def run_sweep(
    catalog: pd.DataFrame, out: Path, sample: int = 20000, epochs: int = 10, progress: bool = True
) -> Path:
    if sample and len(catalog) > sample:
        catalog = catalog.sample(n=sample, random_state=0)
    features = FeaturePipeline.fit(catalog).transform(catalog)
    base = replace(PAPER, epochs=epochs, patience=epochs)
    rows: list[SweepRow] = []
    for table, values in TABLES.items():
        for value in values:
            torch.manual_seed(0)  # the same initial weights for every row of a table
            model = build_autoencoder(_model_for(table, value))
            result = train_autoencoder(
                model, features, _train_for(table, value, base), device=None, progress=progress
            )
            rows.append(SweepRow(table, value, result.train_loss[-1], result.best_val_mse, result.seconds))
            print(f"{table}={value}: val MSE {result.best_val_mse:.5f} ({result.seconds:.0f}s)", flush=True)
    out.mkdir(parents=True, exist_ok=True)
    report = out / "sweep.md"
    report.write_text(_markdown(rows, len(catalog), epochs))
    _plot(rows, out / "sweep.png")
    return report


def _markdown(rows: list[SweepRow], n: int, epochs: int) -> str:
    lines = [
        f"# CAE sweep ({n:,} tracks, {epochs} epochs, paper recipe otherwise)",
        "",
        "| table | value | train loss | validation MSE | seconds |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        lines.append(f"| {r.table} | {r.value} | {r.train_loss:.5f} | {r.val_mse:.5f} | {r.seconds:.1f} |")
    return "\n".join(lines) + "\n"


def _plot(rows: list[SweepRow], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(TABLES), figsize=(4 * len(TABLES), 3.4))
    for ax, table in zip(np.atleast_1d(axes), TABLES, strict=True):
        sel = [r for r in rows if r.table == table]
        ax.bar([str(r.value) for r in sel], [r.val_mse for r in sel], color="tab:blue")
        ax.set_title(table.replace("_", " "))
        ax.set_ylabel("validation MSE")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
