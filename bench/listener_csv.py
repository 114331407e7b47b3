"""Write a second listener file in the McIntire schema, to check the like/dislike table generalises.

From `spotify-music-dataset-high-low-popularity` (SONGREC_DATA): every track with its 13 sonic
attributes, `song_title`, `artist` (the first credited) and `target` = 1 for the high-popularity
list, 0 for the low one. Tracks on both lists, or without a sonic attribute, are dropped.

    SONGREC_DATA=/work/shared/data .venv/bin/python bench/listener_csv.py --out /tmp/popularity.csv
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from classifier import SONIC  # noqa: E402

FOLDER = "spotify-music-dataset-high-low-popularity"


def build(folder: Path) -> pd.DataFrame:
    parts = []
    for name, target in (("high", 1), ("low", 0)):
        df = pd.read_csv(folder / f"{name}_popularity_spotify_data.csv.gz")
        df["target"] = target
        parts.append(df)
    df = pd.concat(parts, ignore_index=True).dropna(subset=[*SONIC, "track_id"])
    labels = df.groupby("track_id")["target"].nunique()
    df = df[df["track_id"].map(labels) == 1].drop_duplicates("track_id")
    out = df[SONIC].copy()
    out["target"] = df["target"].to_numpy()
    out["song_title"] = df["track_name"].astype(str).to_numpy()
    out["artist"] = df["track_artist"].astype(str).str.split(",").str[0].str.strip().to_numpy()
    return out.reset_index(drop=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    base = Path(os.environ.get("SONGREC_DATA") or ROOT.parent / "shared" / "data")
    frame = build(base / FOLDER)
    frame.to_csv(args.out, index=False)
    print(f"{args.out}: {len(frame):,} tracks, {frame['target'].mean():.0%} high popularity")


if __name__ == "__main__":
    main()
