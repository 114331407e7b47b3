"""Feedback writes per second with 1, 50 and 200 concurrent writers, with and without group commit.

Every write is a real add_feedback on a real SQLite file with synchronous=FULL (one fsync per
commit). "batched" is the Store as shipped (the writer commits everything queued at once);
"one per commit" sets max_batch=1, i.e. what a plain lock-per-transaction design would do.

    .venv/bin/python bench/store.py [--writes 2000] [--dir /path/on/the/disk/you/care/about]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from songrec.store import Store


async def run(db: Path, writers: int, writes: int, max_batch: int) -> tuple[float, float]:
    """Returns (writes per second, mean jobs per commit)."""
    async with await Store.open(db, max_batch=max_batch) as store:
        per_writer = writes // writers

        async def writer(w: int) -> None:
            for i in range(per_writer):
                await store.add_feedback(800000000000000000 + w, f"w{w}t{i}", 1 if i % 2 else -1, "reaction")

        start = time.perf_counter()
        await asyncio.gather(*(writer(w) for w in range(writers)))
        elapsed = time.perf_counter() - start
        stats = store.stats
        return per_writer * writers / elapsed, stats.write_jobs / max(stats.write_batches, 1)


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--writes", type=int, default=2000, help="writes per configuration")
    parser.add_argument("--dir", type=Path, default=None, help="where to put the test databases")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        results: dict[tuple[int, str], tuple[float, float]] = {}
        for writers in (1, 50, 200):
            for label, max_batch in (("batched", 512), ("one per commit", 1)):
                db = Path(tmp) / f"bench_{writers}_{max_batch}.sqlite3"
                results[(writers, label)] = await run(db, writers, args.writes, max_batch)
    base = results[(1, "batched")][0]
    print(
        f"feedback writes/s, {args.writes} writes per row, synchronous=FULL, dir={args.dir or tempfile.gettempdir()}"
    )
    print(f"{'writers':>8} | {'mode':<15} | {'writes/s':>9} | {'jobs/commit':>11} | {'vs 1 writer':>11}")
    print("-" * 68)
    for (writers, label), (rate, per_commit) in results.items():
        print(f"{writers:>8} | {label:<15} | {rate:>9.0f} | {per_commit:>11.1f} | {rate / base:>10.2f}x")


if __name__ == "__main__":
    asyncio.run(main())
