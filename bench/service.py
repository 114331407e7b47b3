"""Service latency and feedback throughput on the real artifact, side by side in one run.

    SONGREC_HOME=/tmp/srhome .venv/bin/python bench/service.py [--users 300] [--out reports/service.md]

For 1, 50 and 200 concurrent users: p50/p99 latency of recommend(k=10) with every scoring path on
(taste clusters, dislike penalties, listeners-like-you, exploration, and the ranker hook with a small
numpy scorer), then like/dislike writes per second at the same concurrencies. The database is a fresh
SQLite file in a temporary directory; the artifact is only read.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from report import write_report  # bench/ is on sys.path when a bench runs

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from songrec import settings as paths  # noqa: E402
from songrec.service import Service, ServiceConfig  # noqa: E402

LEVELS = (1, 50, 200)


class PopularityPrior:
    """A stand-in ranker (the learning loop plugs the real one in): exercises the re-ranking hook."""

    version = "bench-prior"

    def __init__(self, popularity: np.ndarray) -> None:
        self.popularity = popularity / 100.0

    def score(self, user_id: int, rows: np.ndarray) -> dict[str, np.ndarray]:
        return {"prior": 0.02 * self.popularity[rows]}


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values) * 1000.0, q))


async def seed_feedback(service: Service, users: list[int], rng: random.Random) -> int:
    """Each user likes 12 tracks in 2-3 taste areas and dislikes 3; groups of users share tracks, so
    listeners-like-you has real neighbours to find."""
    engine = service.engine
    n = engine.size
    ids = engine.catalog["track_id"].astype(str).to_numpy()
    area_seeds = [rng.randrange(n) for _ in range(40)]
    areas = [[c.row for c in engine.similar([s], 30)] for s in area_seeds]
    jobs = []
    for user in users:
        mine = rng.sample(range(len(areas)), 3)
        likes = {rng.choice(areas[a]) for a in mine for _ in range(4)}
        dislikes = {rng.randrange(n) for _ in range(3)} - likes
        jobs += [service.like(user, ids[r], source="reaction") for r in likes]
        jobs += [service.dislike(user, ids[r], source="reaction") for r in dislikes]
    for start in range(0, len(jobs), 400):
        await asyncio.gather(*jobs[start : start + 400])
    return len(jobs)


async def recommend_level(
    service: Service, users: list[int], concurrency: int, per_client: int
) -> dict[str, float]:
    latencies: list[float] = []
    rng = random.Random(concurrency)

    async def client() -> None:
        for _ in range(per_client):
            user = rng.choice(users)
            start = time.perf_counter()
            await service.recommend(user, k=10)
            latencies.append(time.perf_counter() - start)

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    wall = time.perf_counter() - start
    return {
        "p50_ms": pct(latencies, 50),
        "p99_ms": pct(latencies, 99),
        "per_s": len(latencies) / wall,
        "n": len(latencies),
    }


async def feedback_level(
    service: Service, users: list[int], concurrency: int, total: int
) -> dict[str, float]:
    engine = service.engine
    ids = engine.catalog["track_id"].astype(str).to_numpy()
    rng = random.Random(1000 + concurrency)
    todo = [(rng.choice(users), ids[rng.randrange(engine.size)], rng.choice((1, -1))) for _ in range(total)]
    queue = iter(todo)
    latencies: list[float] = []

    async def client() -> None:
        for user, track, value in queue:
            start = time.perf_counter()
            method = service.like if value > 0 else service.dislike
            await method(user, track, source="reaction")
            latencies.append(time.perf_counter() - start)

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    wall = time.perf_counter() - start
    return {"p50_ms": pct(latencies, 50), "p99_ms": pct(latencies, 99), "per_s": total / wall, "n": total}


async def run(args: argparse.Namespace) -> str:
    rng = random.Random(0)
    with tempfile.TemporaryDirectory(prefix="songrec-bench-") as tmp:
        t0 = time.perf_counter()
        service = await Service.open(
            db_path=Path(tmp) / "bench.sqlite3", artifacts=args.artifacts, config=ServiceConfig(seed=0)
        )
        load_s = time.perf_counter() - t0
        try:
            service.swap_ranker(PopularityPrior(service.engine.popularity))
            users = list(range(10_000, 10_000 + args.users))
            t0 = time.perf_counter()
            seeded = await seed_feedback(service, users, rng)
            seed_s = time.perf_counter() - t0
            await service._reload_ratings()  # noqa: SLF001 - the bench wants the neighbours ready
            similar = sum(
                1
                for u in users[:50]
                if service._ratings.neighbours(u, min_overlap=3, min_correlation=0.3, limit=5)
            )  # noqa: SLF001
            await service.recommend(users[0], k=10)  # warm-up
            rows = []
            for level in LEVELS:
                per_client = max(2, args.requests // level)
                rec = await recommend_level(service, users, level, per_client)
                fb = await feedback_level(service, users, level, max(200, args.writes * level // 200))
                rows.append((level, rec, fb))
                print(f"  {level} concurrent done", file=sys.stderr)
            stats = service.store.stats
        finally:
            await service.close()
    engine_line = f"{service.engine.size:,} tracks, artifact {service.engine.version}"
    lines = [
        "# Service benchmark",
        "",
        f"Command: `SONGREC_HOME={os.environ.get('SONGREC_HOME', '~/.songrec')} .venv/bin/python bench/service.py"
        f" --users {args.users} --requests {args.requests} --writes {args.writes}`",
        "",
        f"Machine: {os.cpu_count()} CPUs visible (shared with other jobs while measured), CPU only; {engine_line}.",
        f"Engine load + context {load_s:.1f}s; {len(users)} users seeded with {seeded:,} votes in {seed_s:.1f}s; "
        f"{similar}/50 sampled users have listeners like them.",
        "recommend(k=10): taste clusters, dislike penalty, listeners-like-you, 20% explore, ranker hook on.",
        "",
        "| concurrent users | recommend p50 ms | recommend p99 ms | recommends/s | feedback p50 ms | feedback p99 ms"
        " | feedback writes/s |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for level, rec, fb in rows:
        lines.append(
            f"| {level} | {rec['p50_ms']:.1f} | {rec['p99_ms']:.1f} | {rec['per_s']:.1f} | {fb['p50_ms']:.1f}"
            f" | {fb['p99_ms']:.1f} | {fb['per_s']:.0f} |"
        )
    base = rows[0]
    lines += [
        "",
        "Ratios to 1 concurrent user: "
        + "; ".join(
            f"{level}: recommend throughput x{rec['per_s'] / base[1]['per_s']:.1f}, "
            f"writes x{fb['per_s'] / base[2]['per_s']:.1f}"
            for level, rec, fb in rows[1:]
        ),
        f"Store group commit: {stats.write_jobs:,} write jobs in {stats.write_batches:,} transactions "
        f"({stats.write_jobs / max(stats.write_batches, 1):.1f} per commit); busy retries {stats.busy_retries}.",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--artifacts", type=Path, default=None, help="artifact root (default: SONGREC_HOME's)"
    )
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument(
        "--requests", type=int, default=200, help="recommend calls per level (at least 2 per client)"
    )
    parser.add_argument("--writes", type=int, default=2000, help="feedback writes at 200 concurrent")
    parser.add_argument("--out", type=Path, default=Path("reports/service.md"))
    args = parser.parse_args()
    args.artifacts = args.artifacts or paths.artifacts_dir()
    report = asyncio.run(run(args))
    write_report(report, args.out)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
