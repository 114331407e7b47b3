"""Pictures people would rather see than read: the embedding space as a 2-D map."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from songrec.content.engine import Engine

MAX_GENRES = 10
#: Genre colours, fixed by name so a genre looks the same on every map and every taste card, run after
#: run (the catalogue's playlist genres first; any other name gets a palette slot from its hash).
GENRE_COLOURS: dict[str, str] = {
    "pop": "#e6194b",
    "rap": "#f58231",
    "rock": "#4363d8",
    "latin": "#3cb44b",
    "r&b": "#911eb4",
    "edm": "#42d4f4",
    "country": "#9a6324",
    "jazz": "#808000",
    "classical": "#000075",
    "metal": "#469990",
}
_SPARE_COLOURS = ("#f032e6", "#bfef45", "#fabed4", "#dcbeff", "#ffd8b1", "#aaffc3", "#800000", "#a9a9a9")
UNKNOWN_COLOUR = "#d3d3d3"


def genre_colour(genre: str | None) -> str:
    """The genre's colour: the same name always gets the same colour (no process-salted hash())."""
    name = (genre or "").strip().lower()
    if not name or name == "unknown":
        return UNKNOWN_COLOUR
    if name in GENRE_COLOURS:
        return GENRE_COLOURS[name]
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return _SPARE_COLOURS[digest[0] % len(_SPARE_COLOURS)]


@dataclass(frozen=True)
class CatalogueMap:
    """A sample of the catalogue projected to 2-D, and the projection, to place other rows (likes) on it."""

    rows: np.ndarray
    points: np.ndarray  # (len(rows), 2)
    genres: np.ndarray  # str per sampled row, "unknown" when not known
    method: str
    projector: Any  # fitted PCA (None for t-SNE, which cannot place new rows)

    def place(self, engine: Engine, rows: np.ndarray) -> np.ndarray:
        """2-D points for any catalogue rows (PCA maps only)."""
        if self.projector is None:
            raise ValueError("a t-SNE map cannot place new rows; use PCA")
        if len(rows) == 0:
            return np.empty((0, 2))
        return np.asarray(self.projector.transform(engine.embeddings[np.asarray(rows, dtype=np.int64)]))


_MAPS: dict[tuple[int, str, int, str, int], CatalogueMap] = {}
_MAPS_LOCK = threading.Lock()


def catalogue_map(engine: Engine, sample: int = 15000, method: str = "pca", seed: int = 0) -> CatalogueMap:
    """The embedding map's projection (cached per engine: taste cards reuse it, a new engine refits)."""
    key = (id(engine), str(engine.version), sample, method, seed)
    with _MAPS_LOCK:
        cached = _MAPS.get(key)
    if cached is not None:
        return cached
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(seed)
    rows = rng.choice(engine.size, size=min(sample, engine.size), replace=False)
    vectors = engine.embeddings[rows]
    projector: Any = None
    if method == "tsne":
        from sklearn.manifold import TSNE

        points = TSNE(n_components=2, init="pca", random_state=seed).fit_transform(vectors)
    else:
        projector = PCA(n_components=2, random_state=seed).fit(vectors)
        points = projector.transform(vectors)
    genres = engine.catalog["genre"].iloc[rows].fillna("unknown").astype(str).to_numpy()
    found = CatalogueMap(rows, np.asarray(points), genres, method, projector)
    with _MAPS_LOCK:
        if len(_MAPS) >= 4:  # old engines: let them go
            _MAPS.clear()
        _MAPS[key] = found
    return found


def embedding_map(engine: Engine, out: Path, sample: int = 15000, method: str = "pca", seed: int = 0) -> Path:
    """Scatter of a sample of tracks projected to 2-D, coloured by playlist genre where known."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    projected = catalogue_map(engine, sample, method, seed)
    rows, points, genres = projected.rows, projected.points, projected.genres
    known = [g for g in genres if g != "unknown"]
    top = [
        g for g, _ in sorted(((g, known.count(g)) for g in set(known)), key=lambda gc: -gc[1])[:MAX_GENRES]
    ]
    fig, ax = plt.subplots(figsize=(9, 7))
    other = ~np.isin(genres, top)
    ax.scatter(
        points[other, 0], points[other, 1], s=2, c="lightgrey", label="other / unknown genre", alpha=0.4
    )
    for genre in top:
        mask = genres == genre
        ax.scatter(points[mask, 0], points[mask, 1], s=3, color=genre_colour(genre), label=genre, alpha=0.7)
    ax.set_title(f"songrec embedding ({engine.version}, {method.upper()}, {len(rows):,} tracks)")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(markerscale=4, fontsize=8, loc="best")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out
