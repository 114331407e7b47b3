"""Does exploration fit the listener? Explore picks for synthetic listeners built from real genre playlists.

Each listener likes the catalogue tracks of one TidyTuesday playlist (playlists spread over the six
playlist genres); the real planner then answers "from your taste" with the default explore share, over
several shuffles. Printed, one line per figure: the share of explore picks outside the listener's top
genres (their playlist genre, and any genre holding at least a fifth of their likes), the share that is
a global hit (popularity >= 80), how close explore picks sit to the nearest like, and the planner's
time per answer.

    SONGREC_HOME=/tmp/srhome SONGREC_DATA=/work/shared/data .venv/bin/python bench/explore_fit.py
    ... bench/explore_fit.py --listeners 36 --rounds 5 --k 10
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from songrec import settings as paths  # noqa: E402
from songrec.content.engine import Engine  # noqa: E402
from songrec.service.config import ServiceConfig  # noqa: E402
from songrec.service.planner import RecommendRequest, plan_recommendations  # noqa: E402

TIDY = "spotify-tidytuesday-2020-01-21/spotify_songs.csv.gz"
#: A genre holding at least this share of a listener's labelled likes is one of their top genres.
TOP_SHARE = 0.2
HIT_POPULARITY = 80.0


@dataclass(frozen=True)
class Listener:
    playlist: str
    genre: str  # the playlist's genre
    liked: tuple[int, ...]
    top: frozenset[str]


def listeners(engine: Engine, data: Path, count: int, likes: int, seed: int) -> list[Listener]:
    """`count` playlists, as many per playlist genre as fit, each with at least `likes` catalogue tracks."""
    raw = pd.read_csv(data / TIDY, usecols=["track_id", "playlist_id", "playlist_genre"], dtype=str)
    row_of = engine.tracks.row_of_id()
    raw["row"] = raw["track_id"].map(row_of)
    raw = raw.dropna(subset=["row"]).drop_duplicates(["playlist_id", "row"])
    sizes = raw.groupby("playlist_id")["row"].size()
    big = raw[raw["playlist_id"].isin(sizes[sizes >= likes].index)]
    rng = np.random.default_rng(seed)
    genres = sorted(big["playlist_genre"].unique())
    per_genre = max(1, count // max(1, len(genres)))
    out: list[Listener] = []
    for genre in genres:
        ids = sorted(big.loc[big["playlist_genre"] == genre, "playlist_id"].unique())
        for pid in rng.choice(ids, size=min(per_genre, len(ids)), replace=False):
            rows = big.loc[big["playlist_id"] == pid, "row"].astype(int).to_numpy()
            liked = tuple(int(r) for r in rng.choice(rows, size=likes, replace=False))
            out.append(Listener(str(pid), genre, liked, top_genres(engine, liked, genre)))
    return out


def top_genres(engine: Engine, liked: tuple[int, ...], genre: str) -> frozenset[str]:
    labels = Counter(g for g in (str(engine.genre[r]) for r in liked) if g)
    total = sum(labels.values())
    return frozenset({genre} | {g for g, n in labels.items() if total and n / total >= TOP_SHARE})


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--listeners", type=int, default=36, help="synthetic listeners (default 36)")
    parser.add_argument("--likes", type=int, default=15, help="likes per listener (default 15)")
    parser.add_argument("--rounds", type=int, default=5, help="answers per listener (default 5)")
    parser.add_argument("--k", type=int, default=10, help="suggestions per answer (default 10)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    data = paths.data_dir()
    if data is None or not (data / TIDY).is_file():
        print("explore_fit: set SONGREC_DATA to the shared datasets folder (needs the TidyTuesday CSV)")
        return 2
    engine = Engine.load()
    cfg = ServiceConfig(seed=0)
    people = listeners(engine, data, args.listeners, args.likes, args.seed)
    explore_n = max(1, round(args.k * cfg.explore_rate))
    picks: list[tuple[Listener, int, float]] = []
    main_picks: list[tuple[Listener, int]] = []
    timings: list[float] = []
    for i, person in enumerate(people):
        for round_ in range(args.rounds):
            req = RecommendRequest(
                user_id=1 + i, k=args.k, liked=person.liked, explore_n=explore_n, rng_seed=1000 * i + round_
            )
            started = time.perf_counter()
            answer = plan_recommendations(engine, req, cfg, None)
            timings.append(time.perf_counter() - started)
            liked = np.asarray(person.liked, dtype=np.int64)
            for p in answer:
                if p.kind != "explore":
                    main_picks.append((person, p.row))
                else:
                    d = float(engine.min_distance(np.asarray([p.row]), liked)[0])
                    picks.append((person, p.row, float(engine.closeness(d))))
    labelled = [(who, row) for who, row, _ in picks if engine.genre[row]]
    outside = sum(1 for who, row in labelled if str(engine.genre[row]) not in who.top)
    main_labelled = [(who, row) for who, row in main_picks if engine.genre[row]]
    main_outside = sum(1 for who, row in main_labelled if str(engine.genre[row]) not in who.top)
    hits = sum(1 for _, row, _ in picks if engine.popularity[row] >= HIT_POPULARITY)
    closeness = [c for _, _, c in picks]
    artists = Counter(engine.artist_list[row] for _, row, _ in picks)
    print(f"EXPLORE listeners={len(people)} answers={len(timings)} k={args.k} explore_per_answer={explore_n}")
    print(f"EXPLORE picks={len(picks)} labelled={len(labelled)}")
    print(f"EXPLORE outside_top_genres_share={outside / max(1, len(labelled)):.3f}")
    print(f"EXPLORE taste_picks_outside_top_genres_share={main_outside / max(1, len(main_labelled)):.3f}")
    print(f"EXPLORE global_hit_share={hits / max(1, len(picks)):.3f}  (popularity >= {HIT_POPULARITY:g})")
    print(
        f"EXPLORE closeness_to_nearest_like_median={np.median(closeness) if closeness else float('nan'):.3f}"
    )
    print(f"EXPLORE distinct_artists_share={len(artists) / max(1, len(picks)):.3f}")
    print(f"EXPLORE most_repeated_artists={', '.join(f'{a} x{n}' for a, n in artists.most_common(5))}")
    print(
        f"EXPLORE plan_ms_p50={np.percentile(timings, 50) * 1000:.1f} plan_ms_p95={np.percentile(timings, 95) * 1000:.1f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
