"""Short, true sentences about why a track was picked, in a listener's words; each matches the score parts
it comes with, which /why shows only when asked for details. A reason names a decade ("same era", "a 1960s
jazz track"), never a year: many catalogue years are only a decade's middle."""

from __future__ import annotations

import numpy as np

from songrec.content.engine import DESCRIBED, DESCRIBED_COLUMNS, Engine
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


#: How to say "alike in this" for each described audio feature, in a listener's words.
_ALIKE: dict[str, str] = {
    "tempo": "tempo",
    "acousticness": "acoustic feel",
    "danceability": "groove",
    "energy": "energy",
    "valence": "mood",
    "instrumentalness": "balance of voice and instruments",
    "speechiness": "amount of spoken words",
    "liveness": "live feel",
    "loudness": "loudness",
}


def neighbour_reasons(
    engine: Engine, pairs: list[tuple[int, int]], prefix: str, after: str = ""
) -> list[str]:
    """Per (anchor, row), e.g. "close to Ring of Fire: same era, similar acoustic feel and tempo" (prefix
    "close to"); the features of every pair are compared in one pass.

    The era is the decade both share, which the catalogue knows even where a source gives no year. A
    local track (the operator's own file, songrec audio) has no audio features: its link is its sound."""
    anchors, rows = [a for a, _ in pairs], [r for _, r in pairs]
    features = iter(engine.matching_features_of(anchors, rows))
    decade = engine.decade
    out = []
    for anchor, row in pairs:
        matching = next(features)
        if engine.from_library(anchor) or engine.from_library(row):
            mine = " (from your library)" if engine.from_library(row) else ""
            out.append(f"sounds close to {engine.name(anchor)}{after}{mine}")
            continue
        alike = " and ".join(_ALIKE[f] for f in matching)
        decade_a, decade_b = int(decade[anchor]), int(decade[row])
        era = "same era, " if decade_a >= 0 and decade_a == decade_b else ""
        out.append(f"{prefix} {engine.name(anchor)}{after}: {era}similar {alike}")
    return out


def seed_reason(engine: Engine, anchor: int, row: int) -> str:
    """E.g. "close to Ring of Fire: same era, similar acoustic feel"."""
    return neighbour_reasons_for(engine, "content", [(anchor, row)])[0]


def taste_reason(engine: Engine, anchor: int, row: int) -> str:
    """E.g. "close to Ring of Fire, which you liked: same era, similar acoustic feel"."""
    return neighbour_reasons_for(engine, "taste", [(anchor, row)])[0]


def neighbour_reasons_for(engine: Engine, kind: str, pairs: list[tuple[int, int]]) -> list[str]:
    """seed_reason ("content" picks) or taste_reason (taste picks) for each (anchor, row)."""
    return neighbour_reasons(engine, pairs, "close to", "" if kind == "content" else ", which you liked")


def similar_users_reason(listeners: int) -> str:
    """E.g. "liked by 3 listeners whose taste is like yours"."""
    who = "a listener whose taste is" if listeners == 1 else f"{listeners} listeners whose taste is"
    return f"liked by {who} like yours"


#: How a cold-start reason begins: it says the suggestion is not from the listener's taste (none yet).
COLD_START_PREFIX = "to start with"


def cold_start_reason(engine: Engine, row: int) -> str:
    """E.g. "to start with: a popular 1980s rock track, while I learn your taste (👍 or 👎 it)"."""
    label = " ".join(p for p in (engine.decade_label(row), engine.reason_genre[row]) if p)
    what = f"a popular {label} track" if label else "a popular track"
    return f"{COLD_START_PREFIX}: {what}, while I learn your taste (👍 or 👎 it)"


#: How an explore reason begins.
EXPLORE_PREFIX = "picked to try something new"


def explore_reason(engine: Engine, row: int, anchors: np.ndarray, near_genre: str | None = None) -> str:
    """E.g. "picked to try something new: a 2010s r&b track near your liking for soul", or, without
    `near_genre`, "...: a 1950s jazz track, more acoustic and slower than your usual"."""
    label = " ".join(p for p in (engine.decade_label(row), engine.reason_genre[row]) if p)
    what = f"a {label} track" if label else "a track"
    if near_genre:
        return f"{EXPLORE_PREFIX}: {what} near your liking for {near_genre}"
    contrast = feature_contrast(engine, row, anchors)
    tail = f", {contrast} than your usual" if contrast else ", unlike your usual"
    return f"{EXPLORE_PREFIX}: {what}{tail}"


def feature_contrast(engine: Engine, row: int, anchors: np.ndarray, count: int = 2) -> str:
    """The audio features on which a track differs most from the anchors' average, in words."""
    if len(anchors) == 0:
        return ""
    cols = DESCRIBED_COLUMNS
    scaled = engine.scaled
    centre = scaled[np.asarray(anchors, dtype=np.int64)].mean(axis=0)
    # In float64, as Python floats of each value gave.
    gap = (scaled[row, cols].astype(np.float64) - centre[cols].astype(np.float64)) / engine.spread[
        cols
    ].astype(np.float64)
    gaps = sorted(zip(gap.tolist(), DESCRIBED, strict=True), key=lambda g: -abs(g[0]))
    words = [_WORDS[f][0 if gap > 0 else 1] for gap, f in gaps[:count] if abs(gap) >= 0.5]
    return " and ".join(words)


def session_reason(strategy: str, members: int, blend: float, anchor_name: str | None) -> str:
    """E.g. "a pick for the 3 of you that nobody should mind; close to Hello". How well it fits each of
    them is in the score parts, which /why shows with details."""
    group = "you" if members == 1 else f"the {members} of you"
    if strategy == "least_misery":
        text = f"a pick for {group} that nobody should mind"
    else:
        text = f"a pick for {group}: the best fit on average"
    return f"{text}; close to {anchor_name}" if anchor_name else text


def explain(suggestion: Suggestion, *, details: bool = False) -> str:
    """What /why says: the song and why, in words; with `details`, the score as the sum of its parts,
    the kind of pick and the model."""
    track = suggestion.track
    when = f" ({track.year_label})" if track.year_label else ""
    head = f"{track.name} by {track.artist_line or 'unknown artist'}{when}: {suggestion.reason}."
    if not details:
        return head
    summed = [(n, v) for n, v in suggestion.score_parts.items() if not n.startswith(INFO_PREFIXES)]
    terms = " ".join(f"{'+' if v >= 0 else '-'} {n.replace('_', ' ')} {abs(v):.2f}" for n, v in summed)
    terms = terms[2:] if terms.startswith("+ ") else terms
    notes = [
        f"{n.removeprefix('n_').removeprefix('info_').replace('_', ' ')} {v:g}"
        for n, v in suggestion.score_parts.items()
        if n.startswith(INFO_PREFIXES)
    ]
    tail = f"\nScore {suggestion.score:.2f} = {terms}" if terms else f"\nScore {suggestion.score:.2f}"
    if notes:
        tail += f" ({'; '.join(notes)})"
    return f"{head}{tail}\n{suggestion.kind.replace('_', ' ')} pick, model {suggestion.model_version}."
