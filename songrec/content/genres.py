"""The genre a listener would name for a track, for reasons ("a 2010s pop track").

A track's catalogue genre is the genre of the playlists that list it most often, and a hit is listed
everywhere: Maroon 5's "Memories" sits in three latin playlists, two pop, two r&b and one edm, so its
own label says "latin". The artist's labels are far steadier (Maroon 5: mostly pop), so a reason names
the genre most of the artist's labelled tracks share, and the track's own label only where the artist
has no clear majority (a tie, or one labelled track).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def artist_majority_genres(first_artist: Sequence[str], genre: np.ndarray) -> np.ndarray:
    """Per row: the most common non-empty genre over the rows of its first artist when one genre leads
    strictly and covers at least two of them, else the row's own genre ("" when unknown)."""
    codes: dict[str, int] = {}
    artist_code = np.fromiter(
        (codes.setdefault(a, len(codes)) for a in first_artist), dtype=np.int64, count=len(first_artist)
    )
    genre_codes: dict[str, int] = {}
    genre_code = np.fromiter(
        (genre_codes.setdefault(g, len(genre_codes)) if isinstance(g, str) and g else -1 for g in genre),
        dtype=np.int64,
        count=len(genre),
    )
    out = np.asarray(genre, dtype=object).copy()
    labelled = genre_code >= 0
    if "" in codes:
        labelled &= artist_code != codes[""]
    if not labelled.any():
        return out
    counts = np.zeros((len(codes), len(genre_codes)), dtype=np.int64)
    np.add.at(counts, (artist_code[labelled], genre_code[labelled]), 1)
    best = counts.argmax(axis=1)
    ranked = np.sort(counts, axis=1)
    runner_up = ranked[:, -2] if counts.shape[1] > 1 else np.zeros(len(counts), np.int64)
    clear = (ranked[:, -1] >= 2) & (ranked[:, -1] > runner_up)
    if "" in codes:
        clear[codes[""]] = False
    use_artist = clear[artist_code]
    names = np.asarray(list(genre_codes), dtype=object)
    out[use_artist] = names[best[artist_code[use_artist]]]
    return out
