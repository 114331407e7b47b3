"""Which catalogue tracks real playlists list together: the training signal of the co-listing stage.

The playlists are TidyTuesday's (``spotify_songs.csv.gz`` under SONGREC_DATA). A fixed share of them
is held out by a hash of the playlist id, so the split does not depend on which playlists or tracks a
run happens to see, and the quality protocol scores the same held-out playlists every time. Every
track listed in a held-out playlist is also removed from the training playlists: the encoder never
sees a held-out track co-listed with anything, so neither the held-out playlists nor those tracks'
neighbourhoods can leak into its training.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from songrec import settings as songrec_config

log = logging.getLogger(__name__)

PLAYLISTS_RELPATH = "spotify-tidytuesday-2020-01-21/spotify_songs.csv.gz"
HELDOUT_SHARE = 0.2
SPLIT_SEED = 0


class CoListingError(RuntimeError):
    """The playlist file is missing, unreadable or shares no track with the catalogue."""


def is_heldout(playlist_id: str, share: float = HELDOUT_SHARE, seed: int = SPLIT_SEED) -> bool:
    """A stable coin flip per playlist id: the same answer on every machine and every run."""
    digest = hashlib.sha1(f"{seed}:{playlist_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def playlists_path() -> Path | None:
    data = songrec_config.data_dir()
    if data is None or not (data / PLAYLISTS_RELPATH).is_file():
        return None
    return data / PLAYLISTS_RELPATH


def read_memberships(path: Path) -> pd.DataFrame:
    """(track_id, playlist_id) pairs, de-duplicated, from the raw TidyTuesday CSV."""
    try:
        raw = pd.read_csv(path, usecols=["track_id", "playlist_id"], dtype=str, keep_default_na=False)
    except (OSError, ValueError) as exc:
        raise CoListingError(f"Could not read playlists from {path}: {exc}") from None
    raw = raw[(raw["track_id"] != "") & (raw["playlist_id"] != "")]
    return raw.drop_duplicates().reset_index(drop=True)


@dataclass(frozen=True)
class CoListings:
    """Training playlists as catalogue row numbers, and what was held out of them."""

    playlists: list[np.ndarray]
    heldout_playlists: int
    heldout_tracks: int
    source: str

    def summary(self) -> dict[str, object]:
        return {
            "train_playlists": len(self.playlists),
            "train_listings": int(sum(len(p) for p in self.playlists)),
            "heldout_playlists": self.heldout_playlists,
            "heldout_tracks": self.heldout_tracks,
            "heldout_rule": f"sha1('{SPLIT_SEED}:' + playlist_id) < {HELDOUT_SHARE} of the range",
            "source": self.source,
        }


def training_colistings(catalog: pd.DataFrame, memberships: pd.DataFrame, source: str = "") -> CoListings:
    """Training playlists (>= 2 catalogue tracks, none of them listed in a held-out playlist)."""
    ids = catalog["track_id"].astype(str)
    position = pd.Series(np.arange(len(ids)), index=ids.to_numpy())
    position = position[~position.index.duplicated()]
    listed = memberships[memberships["track_id"].isin(position.index)]
    if listed.empty:
        raise CoListingError("no catalogue track appears in the playlists file")
    held = listed["playlist_id"].map(is_heldout).to_numpy(dtype=bool)
    banned = set(listed.loc[held, "track_id"])
    train = listed[~held & ~listed["track_id"].isin(banned)]
    playlists = [
        position.loc[group["track_id"]].to_numpy()
        for _, group in train.groupby("playlist_id", sort=True)
        if len(group) >= 2
    ]
    if not playlists:
        raise CoListingError("no training playlist has two catalogue tracks left after the hold-out")
    return CoListings(playlists, int(listed.loc[held, "playlist_id"].nunique()), len(banned), source)


def load_colistings(catalog: pd.DataFrame, path: Path | None = None) -> CoListings | None:
    """The default playlists for ``catalog``, or None (logged) when there are none to learn from."""
    path = path or playlists_path()
    if path is None:
        log.warning(
            "no playlists file under SONGREC_DATA (%s): skipping the co-listing stage", PLAYLISTS_RELPATH
        )
        return None
    try:
        return training_colistings(catalog, read_memberships(path), str(path))
    except CoListingError as exc:
        log.warning("skipping the co-listing stage: %s", exc)
        return None
