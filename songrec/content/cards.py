"""The taste card: a listener's likes over the catalogue's embedding map, with their top genres, decades
and artists, as a PNG sized for Discord's preview (1200x675).

Drawn with matplotlib's object API on an Agg canvas (no pyplot: no global state, so it is safe on a
worker thread), on the map projection songrec.content.plots computes once per engine.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from songrec.content.engine import Engine
from songrec.content.plots import UNKNOWN_COLOUR, catalogue_map, genre_colour

if TYPE_CHECKING:
    from matplotlib.figure import Figure

WIDTH, HEIGHT, DPI = 1200, 675, 100
#: Catalogue points drawn behind the likes: enough to show the map's shape, few enough to stay fast.
MAP_SAMPLE = 6000
TOP = 5
BACKGROUND = "#16181c"
TEXT = "#f2f3f5"
MUTED = "#9aa0a6"


@dataclass(frozen=True)
class TasteFacts:
    """What the card says, in numbers and words (the service answers these without a picture too)."""

    likes: int
    top_genres: tuple[tuple[str, int], ...]
    decades: tuple[tuple[str, int], ...]
    top_artists: tuple[tuple[str, int], ...]
    summary: str


def taste_facts(engine: Engine, liked: Sequence[int]) -> TasteFacts:
    infos = [engine.info(int(r)) for r in liked]
    genres = Counter(t.genre for t in infos if t.genre)
    decades = Counter(f"{t.year // 10 * 10}s" for t in infos if t.year)
    artists = Counter(a for t in infos for a in t.artists)
    top_genres = tuple(genres.most_common(TOP))
    top_decades = tuple(decades.most_common(TOP))
    top_artists = tuple(artists.most_common(TOP))
    return TasteFacts(
        len(infos),
        top_genres,
        top_decades,
        top_artists,
        summary_line(len(infos), top_genres, top_decades, top_artists),
    )


def summary_line(
    likes: int,
    genres: Sequence[tuple[str, int]],
    decades: Sequence[tuple[str, int]],
    artists: Sequence[tuple[str, int]],
) -> str:
    """One sentence: "Mostly rock and pop, above all from the 2010s; 23 likes, The Weeknd most of all." """
    if likes == 0:
        return "No likes yet."
    parts = []
    if genres:
        names = [g for g, _ in genres[:2]]
        share = genres[0][1] / likes
        lead = "Mostly" if share >= 0.5 else "A mix led by"
        parts.append(f"{lead} {' and '.join(names)}")
    else:
        parts.append("Songs of many kinds")
    if decades:
        parts.append(f"above all from the {decades[0][0]}")
    line = ", ".join(parts)
    tail = f"{likes} like{'s' if likes != 1 else ''}"
    if artists and artists[0][1] > 1:
        tail += f", {artists[0][0]} most of all"
    return f"{line}; {tail}."


def render_taste_card(engine: Engine, liked: Sequence[int], title: str, facts: TasteFacts) -> bytes:
    """The card as PNG bytes, WIDTH x HEIGHT pixels."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    projected = catalogue_map(engine, sample=MAP_SAMPLE)
    liked_rows = np.asarray(liked, dtype=np.int64)
    mine = projected.place(engine, liked_rows)
    fig = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI, facecolor=BACKGROUND)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.02, 0.05, 0.56, 0.85), facecolor=BACKGROUND)
    colours = [genre_colour(g) for g in projected.genres]
    dot = 3 if len(projected.rows) >= 3000 else 9  # a small catalogue still shows its shape
    ax.scatter(projected.points[:, 0], projected.points[:, 1], s=dot, c=colours, alpha=0.3, linewidths=0)
    liked_colours = [genre_colour(str(engine.genre[r]) or None) for r in liked_rows]
    ax.scatter(mine[:, 0], mine[:, 1], s=70, c=liked_colours, edgecolors="white", linewidths=1.2, zorder=3)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    fig.text(0.02, 0.93, _clip(title, 48), color=TEXT, fontsize=26, fontweight="bold")
    fig.text(
        0.02, 0.02, "likes (white rings) over the catalogue map, coloured by genre", color=MUTED, fontsize=11
    )
    _facts_panel(fig, facts)
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=DPI, facecolor=BACKGROUND)
    return out.getvalue()


def _facts_panel(fig: Figure, facts: TasteFacts) -> None:
    x = 0.61
    fig.text(x, 0.86, _wrap(facts.summary, 44), color=TEXT, fontsize=15, va="top", linespacing=1.3)
    if facts.top_genres:
        ax = fig.add_axes((x + 0.1, 0.42, 0.26, 0.26), facecolor=BACKGROUND)
        names = [g for g, _ in facts.top_genres][::-1]
        counts = [c for _, c in facts.top_genres][::-1]
        ax.barh(
            [_clip(g, 20) for g in names], counts, color=[genre_colour(g) or UNKNOWN_COLOUR for g in names]
        )
        ax.tick_params(colors=TEXT, labelsize=13, length=0)
        ax.set_xticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
        fig.text(x, 0.70, "Top genres", color=MUTED, fontsize=13)
    decades = " · ".join(d for d, _ in facts.decades[:4]) or "unknown"
    fig.text(x, 0.34, "Decades", color=MUTED, fontsize=13)
    fig.text(x, 0.29, decades, color=TEXT, fontsize=15)
    fig.text(x, 0.22, "Most-liked artists", color=MUTED, fontsize=13)
    artists = [a for a, _ in facts.top_artists[:3]] or ["unknown"]
    for i, artist in enumerate(artists):
        fig.text(x, 0.17 - i * 0.05, _clip(artist, 40), color=TEXT, fontsize=15)


def _clip(text: str, limit: int) -> str:
    """Bounded, and plain: a "$" in a name must not start matplotlib's mathtext."""
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return text.replace("$", r"\$")


def _wrap(text: str, width: int) -> str:
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    return "\n".join(_clip(x, width + 8) for x in lines[:4])
