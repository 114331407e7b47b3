"""Service speed on a real artifact, side by side in one run: recommend against the raw index, an open-loop
load, durable feedback against one commit per write, the time to ready, and the community-scale refresh.

    SONGREC_HOME=/tmp/srhome .venv/bin/python bench/service.py [--quick] [--out reports/service.md]
    ... bench/service.py --community-votes 1000000 --community-users 10000   # listeners at scale
    ... bench/service.py --synthetic 170000                                   # ready time and RSS only
    ... bench/service.py --plan-processes 0                                   # planning in threads only

recommend(k=10) runs with every scoring path on (taste clusters, dislike penalties, listeners like you,
exploration, and a re-ranking ranker hook), planned in the planning processes the bot would run here
(`--plan-processes`; the table's last row is the same load planned in threads, side by side). Every event-loop callback is timed throughout (LagProbe):
the longest is the worst blocking call on the loop thread. The open loop's p99 is set against an idle p50 taken
just before it (one user at a time, the same listeners in the same state); the first level's p50 is reported beside it. The database is a fresh SQLite file in a temporary directory; the artifact is only read.
The last line printed is the SERVICE line tools read.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from report import write_report  # bench/ is on sys.path when a bench runs

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from songrec import settings as paths  # noqa: E402
from songrec.service import Service, ServiceConfig  # noqa: E402
from songrec.service.config import serving_plan_processes  # noqa: E402
from songrec.store import Store  # noqa: E402

LEVELS = (1, 50, 200)
OPEN_LOOP_RATE = 100.0


class PopularityPrior:
    """A stand-in ranker (the learning loop plugs the real one in): exercises the re-ranking hook."""

    version = "bench-prior"

    def __init__(self, popularity: np.ndarray) -> None:
        self.popularity = popularity / 100.0

    def score(self, user_id: int, rows: np.ndarray) -> dict[str, np.ndarray]:
        return {"prior": 0.02 * self.popularity[rows]}


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values) * 1000.0, q)) if values else float("nan")


async def planning_ready(service: Service, timeout_s: float = 120.0) -> float:
    """Wait until every planning process holds the engine and ranker; the seconds it took."""
    pool = service._planning.processes  # noqa: SLF001 - the bench measures the processes once ready
    start = time.perf_counter()
    while pool is not None and pool.ready < pool.count and time.perf_counter() - start < timeout_s:
        await asyncio.sleep(0.05)
    return time.perf_counter() - start


def planning_rss_mib(service: Service) -> list[float]:
    """Each planning process's peak RSS (VmHWM), MiB."""
    pool = service._planning.processes  # noqa: SLF001
    out = []
    for worker in pool._workers if pool is not None else []:  # noqa: SLF001
        try:
            status = Path(f"/proc/{worker.process.pid}/status").read_text()
        except OSError:
            continue
        out += [int(line.split()[1]) / 1024 for line in status.splitlines() if line.startswith("VmHWM:")]
    return out


@dataclass
class LagProbe:
    """Times every callback the event loop runs (asyncio.Handle._run, timers and task steps included) and
    keeps the longest: one blocking call, not queueing behind many short ones (what a sleeping probe task
    measures under overload). asyncio's debug mode reports the same (slow_callback_duration) but adds a
    stack capture to every task, which would skew the throughput measured alongside.
    """

    threshold_s: float = 0.020
    worst_s: float = 0.0
    worst_what: str = ""
    over: int = 0  # callbacks longer than threshold_s
    callbacks: int = 0
    top: list[tuple[float, str]] = field(default_factory=list)  # the 5 longest (seconds, where)
    #: The longest garbage-collector pass in any thread (it holds the GIL, so the loop waits it out).
    gc_worst_s: float = 0.0
    gc_worst_generation: int = -1
    _original: object = None
    _gc_started: float = 0.0

    def _gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
            return
        dt = time.perf_counter() - self._gc_started
        if dt > self.gc_worst_s:
            self.gc_worst_s, self.gc_worst_generation = dt, info.get("generation", -1)

    def start(self) -> None:
        probe = self
        original = asyncio.events.Handle._run  # noqa: SLF001
        self._original = original

        def timed(handle: asyncio.Handle) -> None:
            task = getattr(handle._callback, "__self__", None)  # noqa: SLF001 - a task step's task
            before = _where(task) if isinstance(task, asyncio.Task) else ""
            t0 = time.perf_counter()
            try:
                original(handle)
            finally:
                dt = time.perf_counter() - t0
                probe.callbacks += 1
                if dt > probe.threshold_s:
                    probe.over += 1
                if dt > 0.005 and (len(probe.top) < 5 or dt > probe.top[-1][0]):
                    what = (f"{before} -> {_where(task)}" if before else repr(handle))[:200]
                    probe.top = sorted([*probe.top, (dt, what)], reverse=True)[:5]
                if dt > probe.worst_s:
                    probe.worst_s = dt
                    probe.worst_what = probe.top[0][1] if probe.top and probe.top[0][0] == dt else ""

        asyncio.events.Handle._run = timed  # type: ignore[method-assign]  # noqa: SLF001
        gc.callbacks.append(self._gc)

    def reset(self) -> None:
        self.worst_s, self.worst_what, self.over, self.callbacks, self.top = 0.0, "", 0, 0, []
        self.gc_worst_s, self.gc_worst_generation = 0.0, -1

    async def stop(self) -> None:
        if self._original is not None:
            asyncio.events.Handle._run = self._original  # type: ignore[method-assign]  # noqa: SLF001
            self._original = None
            gc.callbacks.remove(self._gc)


def _where(task: asyncio.Task[object]) -> str:
    """Where a task's coroutine is suspended (innermost frame outside asyncio): an end of the step just run."""
    coro = task.get_coro()
    frame = None
    while coro is not None:
        inner = getattr(coro, "cr_frame", None)
        if inner is not None and f"{os.sep}asyncio{os.sep}" not in inner.f_code.co_filename:
            frame = inner  # the innermost frame outside asyncio itself
        coro = getattr(coro, "cr_await", None)
    if frame is None:
        return "done"
    return f"{frame.f_code.co_name} ({Path(frame.f_code.co_filename).name}:{frame.f_lineno})"


async def seed_feedback(service: Service, users: list[int], rng: random.Random) -> int:
    """Each user likes 12 tracks in 2-3 taste areas and dislikes 3; groups of users share tracks, so
    listeners-like-you has real neighbours to find."""
    engine = service.engine
    n = engine.size
    ids = np.asarray(engine.tracks.ids.to_list(), dtype=object)
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


def index_rate(service: Service, seconds: float) -> float:
    """Raw hnswlib single-query k=10 rate on the served index (one query at a time, one thread)."""
    index = service.engine.index
    rng = np.random.default_rng(0)
    vectors = index.vectors[rng.choice(index.size, size=min(5000, index.size), replace=False)]
    raw = index._index  # noqa: SLF001 - the raw graph, as a baseline
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        raw.knn_query(vectors[done % len(vectors)], k=10, num_threads=1)
        done += 1
    return done / (time.perf_counter() - start)


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
    return {"p50_ms": pct(latencies, 50), "p99_ms": pct(latencies, 99), "per_s": len(latencies) / wall}


async def open_loop(service: Service, users: list[int], rate: float, seconds: float) -> dict[str, float]:
    """Poisson arrivals at `rate`/s for `seconds`, whatever the answers' speed: latency under real load."""
    rng = random.Random(7)
    latencies: list[float] = []
    tasks: list[asyncio.Task[None]] = []

    async def one(user: int) -> None:
        start = time.perf_counter()
        await service.recommend(user, k=10)
        latencies.append(time.perf_counter() - start)

    start = time.perf_counter()
    due = start
    while due - start < seconds:
        due += rng.expovariate(rate)
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        tasks.append(asyncio.create_task(one(rng.choice(users))))
    await asyncio.gather(*tasks)
    return {"p50_ms": pct(latencies, 50), "p99_ms": pct(latencies, 99), "n": len(latencies)}


async def feedback_level(
    service: Service, users: list[int], concurrency: int, total: int
) -> dict[str, float]:
    engine = service.engine
    ids = np.asarray(engine.tracks.ids.to_list(), dtype=object)
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
    return {"p50_ms": pct(latencies, 50), "p99_ms": pct(latencies, 99), "per_s": total / wall}


async def threads_only(args: argparse.Namespace, db: Path, users: list[int]) -> dict[str, float]:
    """The same recommend load at 50 concurrent with planning in threads only: the side-by-side baseline
    for the planning processes (the same database, seeded votes and ranker)."""
    config = ServiceConfig(seed=0, plan_processes=0)
    service = await Service.open(db_path=db, artifacts=args.artifacts, config=config)
    try:
        service.swap_ranker(PopularityPrior(service.engine.popularity))
        await service.recommend(users[0], k=10)
        return await recommend_level(service, users, 50, max(2, args.requests // 50))
    finally:
        await service.close()


async def naive_feedback(db: Path, ids: np.ndarray, concurrency: int, total: int) -> float:
    """The same durable votes with one commit per write (no group commit): the baseline rate."""
    store = await Store.open(db, max_batch=1)
    rng = random.Random(5)
    todo = iter([(20_000 + rng.randrange(300), str(ids[rng.randrange(len(ids))])) for _ in range(total)])

    async def client() -> None:
        for user, track in todo:
            await store.vote(user, rng.choice((1, -1)), "reaction", track_id=track)

    try:
        start = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        return total / (time.perf_counter() - start)
    finally:
        await store.close()


READY_CHILD = """
import json, resource, sys, time, asyncio, tempfile
from pathlib import Path
async def main():
    from songrec.service import Service, ServiceConfig
    with tempfile.TemporaryDirectory() as tmp:
        service = await Service.open(db_path=Path(tmp) / "r.sqlite3", artifacts=sys.argv[1], config=ServiceConfig(seed=0, plan_processes=int(sys.argv[2])))
        await service.recommend(1, k=10)
        print("READY", flush=True)
        heavy = [m for m in ("torch", "sklearn", "matplotlib", "scipy") if m in sys.modules]
        await service.close()
    # VmHWM is this program's own peak: ru_maxrss would also count the parent's pages shared at fork.
    hwm = [l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM:")]
    peak = int(hwm[0]) if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"rss_mib": peak / 1024, "heavy": heavy}))
asyncio.run(main())
"""


def ready_time(artifacts: Path, plan_processes: int = 0) -> dict[str, object]:
    """Process start to the first answered recommend (a newcomer's), in a fresh interpreter; its peak RSS
    (the planning processes start beside it; until they are ready, threads plan)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", READY_CHILD, str(artifacts), str(plan_processes)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None
    ready_s = float("nan")
    tail = {}
    for line in proc.stdout:
        if line.startswith("READY"):
            ready_s = time.perf_counter() - start
        elif line.startswith("{"):
            tail = json.loads(line)
    proc.wait()
    return {"ready_s": ready_s, **tail}


async def community(args: argparse.Namespace, artifacts: Path, tmp: Path, probe: LagProbe) -> list[str]:
    """Ratings refresh and latency with `community_votes` votes of `community_users` listeners stored."""
    from retrain import synthetic_votes, write_votes  # bench/retrain.py's generator

    from songrec.content.engine import Engine

    def load_engine() -> Engine:
        engine = Engine.load(artifacts)
        engine.catalog["genre"] = engine.catalog["genre"].fillna("")  # this bench's own copy: no NaN genres
        return engine

    # Loaded and made on threads: the loop probe measures the service, not this bench's own set-up (the
    # engine and its catalogue, read on the loop, were a 5 s "callback" of the probe's).
    engine = await asyncio.to_thread(load_engine)
    db = tmp / "community.sqlite3"
    t0 = time.perf_counter()
    votes = await asyncio.to_thread(synthetic_votes, engine, args.community_votes, args.community_users)
    await write_votes(db, votes)
    write_s = time.perf_counter() - t0
    users = sorted({u for u, _, _, _ in votes})
    config = ServiceConfig(seed=0, plan_processes=args.plan_processes)
    service = await Service.open(db_path=db, artifacts=artifacts, engine=engine, config=config)
    try:
        service.swap_ranker(PopularityPrior(engine.popularity))
        await planning_ready(service)
        open_refresh_s = service.last_ratings_refresh_s
        probe.reset()  # the service's serving from here on, not this phase's set-up (votes, open)
        idle = await recommend_level(service, users, 50, max(2, args.requests // 50))
        lag_before, what_before = probe.worst_s, probe.worst_what
        probe.worst_s, probe.worst_what = 0.0, ""
        probe.gc_worst_s, probe.gc_worst_generation = 0.0, -1
        refresh = asyncio.create_task(service._reload_ratings(full=True))  # noqa: SLF001
        during: list[float] = []
        rng = random.Random(3)

        async def client() -> None:
            while not refresh.done():
                start = time.perf_counter()
                await service.recommend(rng.choice(users), k=10)
                during.append(time.perf_counter() - start)

        await asyncio.gather(refresh, *(client() for _ in range(50)))
        full_s = service.last_ratings_refresh_s
        lag_full, what_full = probe.worst_s, probe.worst_what
        gc_full, gc_generation = probe.gc_worst_s, probe.gc_worst_generation
        if lag_before > lag_full:
            probe.worst_s, probe.worst_what = lag_before, what_before
        await service.like(users[0], str(engine.catalog["track_id"].iat[0]))
        await service._reload_ratings(full=False)  # noqa: SLF001
        incremental_s = service.last_ratings_refresh_s
    finally:
        await service.close()
    return [
        f"## Community scale: {len(votes):,} votes from {len(users):,} listeners",
        "",
        f"Votes written in {write_s:.0f}s. Ratings load at open {open_refresh_s:.1f}s; full refresh {full_s:.1f}s,"
        f" incremental refresh (votes since the last id seen) {incremental_s * 1000:.0f} ms.",
        f"recommend at 50 concurrent: idle p50/p99 {idle['p50_ms']:.0f}/{idle['p99_ms']:.0f} ms,"
        f" {idle['per_s']:.1f}/s; during a full refresh p50/p99 {pct(during, 50):.0f}/{pct(during, 99):.0f} ms"
        f" ({len(during)} requests); longest event-loop callback during the refresh {lag_full * 1000:.1f} ms (`{what_full or '?'}`);"
        f" longest garbage-collector pass then (any thread) {gc_full * 1000:.0f} ms (generation {gc_generation}).",
        "",
    ]


def build_synthetic(root: Path, tracks: int) -> Path:
    """A synthetic catalogue of `tracks` rows, its artifact built once (audio only, few epochs: for size)."""
    from tests.support.factories import make_catalog
    from training.autoencoder import TrainConfig
    from training.embedding import EmbeddingJob, build_embedding_artifact

    if not (root / "embedding" / "CURRENT").exists():
        job = EmbeddingJob(train=TrainConfig(epochs=3, seed=1), text=None, colisted=None)
        build_embedding_artifact(make_catalog(tracks, seed=1), root, job, progress=False)
    return root


async def run(args: argparse.Namespace) -> tuple[str, str]:
    rng = random.Random(0)
    probe = LagProbe()
    probe.start()
    with tempfile.TemporaryDirectory(prefix="songrec-bench-") as tmpdir:
        tmp = Path(tmpdir)
        ready = await asyncio.to_thread(
            ready_time, args.artifacts, args.plan_processes
        )  # off the loop the probe watches
        t0 = time.perf_counter()
        config = ServiceConfig(seed=0, plan_processes=args.plan_processes)
        service = await Service.open(db_path=tmp / "bench.sqlite3", artifacts=args.artifacts, config=config)
        load_s = time.perf_counter() - t0
        try:
            service.swap_ranker(PopularityPrior(service.engine.popularity))
            planning_s = await planning_ready(service)
            users = list(range(10_000, 10_000 + args.users))
            t0 = time.perf_counter()
            seeded = await seed_feedback(service, users, rng)
            seed_s = time.perf_counter() - t0
            await service._reload_ratings()  # noqa: SLF001 - the bench wants the neighbours ready
            similar = sum(
                1
                for u in users[:50]
                if service._ratings.neighbours(u, min_overlap=3, min_correlation=0.3, limit=5)  # noqa: SLF001
            )
            await service.recommend(users[0], k=10)  # warm-up
            # On a thread, so the event-loop probe never counts the baseline's own seconds as a stall.
            raw_rate = await asyncio.to_thread(index_rate, service, 3.0 if args.quick else 10.0)
            probe.reset()
            rows = []
            for level in LEVELS:
                per_client = max(2, args.requests // level)
                rec = await recommend_level(service, users, level, per_client)
                fb = await feedback_level(service, users, level, max(200, args.writes * level // 200))
                rows.append((level, rec, fb))
                print(f"  {level} concurrent done", file=sys.stderr)
            # The open loop's baseline: one user at a time on the same listeners in the same state (the
            # levels' votes and suggestions make every later answer weigh more than the first level's).
            settled = await recommend_level(service, users, 1, 100 if args.quick else 300)
            opened = await open_loop(service, users, OPEN_LOOP_RATE, args.open_seconds)
            # The measurements end here: closing, the baseline and the next phase's set-up are not serving.
            lag_s, lag_what, lag_over, lag_n = probe.worst_s, probe.worst_what, probe.over, probe.callbacks
            lag_top = list(probe.top)
            gc_s, gc_generation = probe.gc_worst_s, probe.gc_worst_generation
            stats = service.store.stats
            planning_rss = planning_rss_mib(service)
            planning_line = service._planning.describe()  # noqa: SLF001
            ids = np.asarray(service.engine.tracks.ids.to_list(), dtype=object)
        finally:
            await service.close()
        threads = await threads_only(args, tmp / "bench.sqlite3", users) if args.plan_processes else None
        naive = await naive_feedback(tmp / "naive.sqlite3", ids, 200, args.writes)
        extra: list[str] = []
        if args.community_votes:
            try:
                extra += await community(args, args.artifacts, tmp, probe)
            except Exception as exc:  # keep the other figures
                extra += [f"Community-scale run failed: {exc!r}", ""]
            if probe.worst_s > lag_s:
                lag_s, lag_what = probe.worst_s, probe.worst_what
            lag_over, lag_n = lag_over + probe.over, lag_n + probe.callbacks
    await probe.stop()
    synthetic = (
        await asyncio.to_thread(
            lambda: ready_time(build_synthetic(args.synthetic_root, args.synthetic), args.plan_processes)
        )
        if args.synthetic
        else None
    )
    engine = service.engine
    first_p50 = rows[0][1]["p50_ms"]
    idle_p50 = settled["p50_ms"]
    saturated = min(rows[1][1]["per_s"], rows[2][1]["per_s"])
    fb200 = rows[2][2]["per_s"]
    lines = [
        "# Service benchmark",
        "",
        f"Command: `SONGREC_HOME={os.environ.get('SONGREC_HOME', '~/.songrec')} .venv/bin/python bench/service.py"
        f" {' '.join(sys.argv[1:])}`",
        "",
        f"Machine: {os.cpu_count()} CPUs visible (shared with other jobs while measured), CPU only;"
        f" {engine.size:,} tracks, artifact {engine.version}.",
        f"Ready (fresh process to the first answered recommend): {ready['ready_s']:.2f}s, peak RSS"
        f" {ready.get('rss_mib', float('nan')):.0f} MiB, heavy modules loaded: {ready.get('heavy') or 'none'}."
        f" Service.open in this process {load_s:.1f}s.",
        f"{len(users)} users seeded with {seeded:,} votes in {seed_s:.1f}s; {similar}/50 sampled users have"
        " listeners like them.",
        f"Planning: `--plan-processes {args.plan_processes}`; ready {planning_s:.1f}s after open; at the end:"
        f" {planning_line}; their peak RSS "
        + (", ".join(f"{m:.0f}" for m in planning_rss) + " MiB" if planning_rss else "n/a (none)")
        + ".",
        "recommend(k=10): taste clusters, dislike penalty, listeners-like-you, 20% explore, ranker hook on.",
        f"Raw index: {raw_rate:,.0f} single k=10 queries/s (hnswlib, one thread).",
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
    if threads is not None:
        lines.append(
            f"| 50, planning in threads (`--plan-processes 0`) | {threads['p50_ms']:.1f} | {threads['p99_ms']:.1f}"
            f" | {threads['per_s']:.1f} | | | |"
        )
    lines += [
        "",
        f"Throughput at saturation (the lower of 50 and 200 users): {saturated:.1f}/s ="
        f" {saturated / raw_rate:.3f}x the raw index rate (target >= 0.10x).",
        f"Open loop, Poisson arrivals at {OPEN_LOOP_RATE:.0f}/s for {args.open_seconds:.0f}s: p50/p99"
        f" {opened['p50_ms']:.1f}/{opened['p99_ms']:.1f} ms over {opened['n']} requests"
        f" = {opened['p99_ms'] / idle_p50:.1f}x the idle p50 of {idle_p50:.1f} ms (target <= 3x), measured just"
        f" before it: one user at a time, the same listeners in the same state. Against the first level's"
        f" p50 ({first_p50:.1f} ms, listeners with fewer votes and suggestions) it is"
        f" {opened['p99_ms'] / first_p50:.1f}x.",
        f"Feedback at 200 writers: {fb200:.0f}/s against {naive:.0f}/s with one commit per write"
        f" (synchronous=FULL both): x{fb200 / naive:.1f} (target >= 5x). Group commit: {stats.write_jobs:,} write"
        f" jobs in {stats.write_batches:,} transactions ({stats.write_jobs / max(stats.write_batches, 1):.1f}"
        f" per commit).",
        f"Longest single event-loop callback during the measurements: {lag_s * 1000:.1f} ms (target <= 20 ms);"
        f" {lag_over:,} of {lag_n:,} callbacks over 20 ms. Longest: `{lag_what or '?'}`. The five longest: "
        + "; ".join(f"{dt * 1000:.0f} ms `{what}`" for dt, what in lag_top)
        + f". Longest garbage-collector pass in the measurements (any thread): {gc_s * 1000:.0f} ms"
        f" (generation {gc_generation}).",
        "",
        *extra,
    ]
    if synthetic is not None:
        lines += [
            f"Synthetic {args.synthetic:,}-track catalogue: ready {synthetic['ready_s']:.2f}s, peak RSS"
            f" {synthetic.get('rss_mib', float('nan')):.0f} MiB.",
            "",
        ]
    service_line = (
        f"SERVICE recommend_per_s={saturated:.1f} index_queries_per_s={raw_rate:.0f}"
        f" ratio={saturated / raw_rate:.3f} open_loop_rate={OPEN_LOOP_RATE:.0f} idle_p50_ms={idle_p50:.1f}"
        f" open_p99_ms={opened['p99_ms']:.1f} feedback_per_s={fb200:.0f} naive_feedback_per_s={naive:.0f}"
        f" ready_s={ready['ready_s']:.2f} rss_mib={ready.get('rss_mib', float('nan')):.0f}"
    )
    lines += ["```", service_line, "```", ""]
    return "\n".join(lines), service_line


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--artifacts", type=Path, default=None, help="artifact root (default: SONGREC_HOME's)"
    )
    parser.add_argument("--quick", action="store_true", help="fewer requests, same measurements (< 5 min)")
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--requests", type=int, default=None, help="recommend calls per level")
    parser.add_argument("--writes", type=int, default=None, help="feedback writes at 200 concurrent")
    parser.add_argument("--open-seconds", type=float, default=None, help="open-loop duration")
    parser.add_argument(
        "--plan-processes",
        type=int,
        default=serving_plan_processes(),
        help="planning processes, as the bot runs (default: one per core, at most 4, none on one core; 0: threads)",
    )
    parser.add_argument("--community-votes", type=int, default=0, help="also measure with this many votes")
    parser.add_argument("--community-users", type=int, default=10_000)
    parser.add_argument("--synthetic", type=int, default=0, help="also time ready/RSS on this many tracks")
    parser.add_argument(
        "--synthetic-root", type=Path, default=Path(tempfile.gettempdir()) / "songrec-synthetic"
    )
    parser.add_argument("--out", type=Path, default=Path("reports/service.md"))
    args = parser.parse_args()
    args.artifacts = args.artifacts or paths.artifacts_dir()
    args.requests = args.requests or (200 if args.quick else 1000)
    args.writes = args.writes or (1000 if args.quick else 4000)
    args.open_seconds = args.open_seconds or (10.0 if args.quick else 30.0)
    report, line = asyncio.run(run(args))
    write_report(report, args.out)
    print(f"wrote {args.out}", file=sys.stderr)
    print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
