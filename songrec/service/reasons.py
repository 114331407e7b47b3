"""Short, true sentences about why a track was picked; each matches the score parts it comes with."""

from __future__ import annotations

import numpy as np

from songrec.catalog.schema import NUMERIC_FEATURES
from songrec.content.engine import DESCRIBED, Engine
from songrec.domain import Suggestion

#: Score parts with these prefixes inform (a count, the strategy not used) but are not summed.
COUNT_PREFIX = "n_"
INFO_PREFIXES = (COUNT_PREFIX, "info_")
#: How to say "more" and "less" of each described audio feature.
_WORDS: dict[str, tuple[str, str]] = {
    "tempo": ("faster", "slower"),
    "acousticness": ("more acoustic", "less acoustic"),
    "danceability": ("more danceable", "less danceable"),
    "energy": ("more energetic", "calmer"),
    "valence": ("happier", "darker"),
    "instrumentalness": ("more instrumental", "more vocal"),
    "speechiness": ("wordier", "less spoken"),
    "liveness": ("more live", "more studio-made"),
    "loudness": ("louder", "quieter"),
}


def neighbour_reason(engine: Engine, anchor: int, row: int, prefix: str) -> str:
    """Engine.reason's sentence, from the engine's arrays (no DataFrame lookups on the hot path)."""
    features = engine.matching_features(anchor, row)
    text = f"{prefix} {engine.name(anchor)}: similar {' and '.join(features)}"
    decade_a, decade_b = int(engine.decade[anchor]), int(engine.decade[row])
    if decade_a >= 0 and decade_a == decade_b:
        text += f", {decade_b}s"
    return text


def seed_reason(engine: Engine, anchor: int, row: int) -> str:
    """E.g. "close to Ring of Fire: similar tempo and acousticness, 1960s"."""
    return neighbour_reason(engine, anchor, row, "close to")


def taste_reason(engine: Engine, anchor: int, row: int) -> str:
    """E.g. "because you liked Ring of Fire: similar tempo and acousticness, 1960s"."""
    return neighbour_reason(engine, anchor, row, "because you liked")


def similar_users_reason(listeners: int) -> str:
    noun = "similar listener" if listeners == 1 else "similar listeners"
    return f"liked by listeners like you ({listeners} {noun})"


def cold_start_reason(engine: Engine, row: int) -> str:
    genre = engine.genre[row]
    decade = engine.decade_label(row)
    what = f"a popular {genre} track" if genre else "a popular track"
    if decade:
        what += f" from the {decade}"
    return f"cold start: {what}, picked for variety while I learn your taste (👍 or 👎 it)"


def explore_reason(engine: Engine, row: int, anchors: np.ndarray) -> str:
    """E.g. "explore: something different — more acoustic and slower than your usual, a 1950s jazz track"."""
    contrast = feature_contrast(engine, row, anchors)
    genre = engine.genre[row]
    decade = engine.decade_label(row)
    label = " ".join(p for p in (decade, genre) if p)
    tail = f", a {label} track" if label else ""
    body = f"{contrast} than your usual" if contrast else "far from your usual"
    return f"explore: something different — {body}{tail}"


def feature_contrast(engine: Engine, row: int, anchors: np.ndarray, count: int = 2) -> str:
    """The audio features on which a track differs most from the anchors' average, in words."""
    if len(anchors) == 0:
        return ""
    names = list(NUMERIC_FEATURES)
    scaled, spread = engine.scaled, engine.spread
    centre = scaled[np.asarray(anchors, dtype=np.int64)].mean(axis=0)
    gaps = []
    for feature in DESCRIBED:
        j = names.index(feature)
        gaps.append(((float(scaled[row, j]) - float(centre[j])) / float(spread[j]), feature))
    gaps.sort(key=lambda g: -abs(g[0]))
    words = [_WORDS[f][0 if gap > 0 else 1] for gap, f in gaps[:count] if abs(gap) >= 0.5]
    return " and ".join(words)


def session_reason(strategy: str, members: int, blend: float, anchor_name: str | None) -> str:
    """E.g. "group pick for 3 listeners (least misery: everyone's fit at least 0.42); close to Hello"."""
    if strategy == "least_misery":
        how = f"least misery: everyone's fit at least {blend:.2f}"
    else:
        how = f"average fit {blend:.2f}"
    noun = "listener" if members == 1 else "listeners"
    text = f"group pick for {members} {noun} ({how})"
    return f"{text}; close to {anchor_name}" if anchor_name else text


def explain(suggestion: Suggestion) -> str:
    """The reason, then the score as the sum of its parts (what /why shows)."""
    summed = [(n, v) for n, v in suggestion.score_parts.items() if not n.startswith(INFO_PREFIXES)]
    terms = " ".join(f"{'+' if v >= 0 else '-'} {n.replace('_', ' ')} {abs(v):.2f}" for n, v in summed)
    terms = terms[2:] if terms.startswith("+ ") else terms
    notes = [
        f"{n.removeprefix('n_').removeprefix('info_').replace('_', ' ')} {v:g}"
        for n, v in suggestion.score_parts.items()
        if n.startswith(INFO_PREFIXES)
    ]
    head = (
        f"{suggestion.track.name} by {suggestion.track.artist_line or 'unknown artist'}: {suggestion.reason}."
    )
    tail = f"\nScore {suggestion.score:.2f} = {terms}" if terms else f"\nScore {suggestion.score:.2f}"
    if notes:
        tail += f" ({'; '.join(notes)})"
    return f"{head}{tail}\n{suggestion.kind.replace('_', ' ')} pick, model {suggestion.model_version}."
