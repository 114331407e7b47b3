"""The training loss curve as a PNG (matplotlib without a display)."""

from __future__ import annotations

import io


def loss_curve_png(train: list[float], val: list[float], title: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    epochs = range(1, len(train) + 1)
    ax.plot(epochs, train, label="training")
    ax.plot(epochs, val, label="validation (unseen tracks)")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()
