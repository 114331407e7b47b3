"""Pictures people would rather see than read: the embedding space as a 2-D map."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from songrec.content.engine import Engine

MAX_GENRES = 10


def embedding_map(engine: Engine, out: Path, sample: int = 15000, method: str = "pca", seed: int = 0) -> Path:
    """Scatter of a sample of tracks projected to 2-D, coloured by playlist genre where known."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(seed)
    rows = rng.choice(engine.size, size=min(sample, engine.size), replace=False)
    vectors = engine.embeddings[rows]
    if method == "tsne":
        from sklearn.manifold import TSNE

        points = TSNE(n_components=2, init="pca", random_state=seed).fit_transform(vectors)
    else:
        points = PCA(n_components=2, random_state=seed).fit_transform(vectors)
    genres = engine.catalog["genre"].iloc[rows].fillna("unknown").astype(str).to_numpy()
    known = [g for g in genres if g != "unknown"]
    top = [
        g for g, _ in sorted(((g, known.count(g)) for g in set(known)), key=lambda gc: -gc[1])[:MAX_GENRES]
    ]
    fig, ax = plt.subplots(figsize=(9, 7))
    other = ~np.isin(genres, top)
    ax.scatter(
        points[other, 0], points[other, 1], s=2, c="lightgrey", label="other / unknown genre", alpha=0.4
    )
    cmap = plt.get_cmap("tab10")
    for i, genre in enumerate(top):
        mask = genres == genre
        ax.scatter(points[mask, 0], points[mask, 1], s=3, color=cmap(i), label=genre, alpha=0.7)
    ax.set_title(f"songrec embedding ({engine.version}, {method.upper()}, {len(rows):,} tracks)")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(markerscale=4, fontsize=8, loc="best")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out
