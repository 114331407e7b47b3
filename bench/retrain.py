"""Retraining at scale: synthetic feedback into a real SQLite store, one ranker training subprocess, and
the serving latency while it runs against idle, side by side. Writes reports/retrain.md.

    .venv/bin/python bench/retrain.py --rows 1000000 --users 10000   # the target size
    .venv/bin/python bench/retrain.py --rows 200000 --users 2000     # what fits a busy 2-core box

Listeners have a hidden taste (a direction in the 12 sonic features plus two favourite genres); each
votes on tracks drawn with a popularity skew, liking them when taste . features + noise > 0. On top,
listeners come in groups that share a random set of tracks they are shown more and like (collaborative
structure the audio features cannot explain), so the CF model has something to add. The job's blend
tuning (a grid over the CF share of the ranker's weight, on each user's newest votes) is reported.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from report import write_report  # bench/ is on sys.path when a bench runs

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from songrec.content.engine import Engine  # noqa: E402
from songrec.models.ranker import load_ranker  # noqa: E402
from songrec.service import Service, ServiceConfig  # noqa: E402
from songrec.store import Store  # noqa: E402
from tests.support.factories import make_catalog  # noqa: E402
from training.autoencoder import TrainConfig  # noqa: E402
from training.embedding import EmbeddingJob, build_embedding_artifact  # noqa: E402


def build_artifact(root: Path, tracks: int) -> Engine:
    build_embedding_artifact(
        make_catalog(tracks, seed=1), root, EmbeddingJob(train=TrainConfig(epochs=15, seed=1)), progress=False
    )
    return Engine.load(root)


def synthetic_votes(
    eng: Engine, rows: int, users: int, seed: int = 0, group_size: int = 50, group_share: float = 0.3
) -> list[tuple[int, str, int, float]]:
    """Votes with a sonic taste per listener plus planted collaborative structure.

    Listeners fall in groups of ``group_size``; each group shares a set of tracks drawn at random
    (so audio features cannot tell them apart from the rest) that its members are shown more often
    (``group_share`` of their votes) and like far more often. Only other members' votes reveal a
    group's tracks: that is what the CF model can add to the classifier.
    """
    rng = np.random.default_rng(seed)
    x = eng.scaled - eng.scaled.mean(axis=0)
    genres = eng.catalog["genre"].astype(str).to_numpy()
    names = sorted(set(genres))
    ids = eng.catalog["track_id"].astype(str).to_numpy()
    pop = eng.popularity + 1.0
    p = pop / pop.sum()
    per_user = rng.poisson(rows / users, users).clip(5, len(ids) // 2)
    per_user = (per_user * rows / per_user.sum()).astype(int).clip(1)
    n_groups = max(1, users // group_size)
    set_size = max(20, min(len(ids) // 4, int(2 * group_share * rows / users)))
    group_sets = [rng.choice(len(ids), size=set_size, replace=False) for _ in range(n_groups)]
    out: list[tuple[int, str, int, float]] = []
    t = 1_700_000_000.0
    for u in range(users):
        w = rng.normal(size=x.shape[1])
        fav = set(rng.choice(names, size=2, replace=False))
        shared = group_sets[u % n_groups]
        n = min(int(per_user[u]), len(ids))
        n_shared = min(rng.binomial(n, group_share), len(shared))
        from_group = rng.choice(shared, size=n_shared, replace=False)
        rest = rng.choice(len(ids), size=n, replace=False, p=p)
        both = np.r_[from_group, rest]
        picks = both[np.sort(np.unique(both, return_index=True)[1])][:n]  # de-duplicated, in draw order
        picks = picks[rng.permutation(len(picks))]
        score = x[picks] @ w / np.sqrt(x.shape[1]) + np.where(np.isin(genres[picks], list(fav)), 0.3, -0.3)
        score = score + np.where(np.isin(picks, shared), 1.5, 0.0)
        likes = score + rng.normal(0, 0.1, len(picks)) > 0
        for row, like in zip(picks, likes, strict=True):
            t += 0.01
            out.append((10_000 + u, str(ids[row]), 1 if like else -1, t))
    return out


async def write_votes(db: Path, votes: list[tuple[int, str, int, float]], chunk: int = 50_000) -> None:
    store = await Store.open(db)
    try:
        for s in range(0, len(votes), chunk):
            await store.add_feedback_bulk(votes[s : s + chunk])
    finally:
        await store.close()


async def latencies(
    service: Service, users: list[int], seconds: float, stop: asyncio.Event | None
) -> list[float]:
    out: list[float] = []
    deadline = time.monotonic() + seconds
    i = 0
    while time.monotonic() < deadline and not (stop is not None and stop.is_set()):
        t0 = time.perf_counter()
        await service.recommend(users[i % len(users)], k=10)
        out.append((time.perf_counter() - t0) * 1000)
        i += 1
    return out


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


async def serving_side(
    db: Path, root: Path, eng: Engine, users: list[int], idle_s: float, job_cmd: list[str]
) -> dict[str, object]:
    """p50/p99 of recommend idle, then while a training subprocess runs beside it."""
    service = await Service.open(db, root, engine=eng, config=ServiceConfig(seed=0, cpu_workers=2))
    try:
        service.swap_ranker(load_ranker(root, eng, service.user_ratings))
        await latencies(service, users, 2.0, None)  # warm-up (fold-in caches, first torch calls)
        idle = await latencies(service, users, idle_s, None)
        t0 = time.perf_counter()
        proc = await asyncio.create_subprocess_exec(*job_cmd, stdout=asyncio.subprocess.DEVNULL)
        stop = asyncio.Event()

        async def wait() -> None:
            await proc.wait()
            stop.set()

        waiter = asyncio.create_task(wait())
        busy = await latencies(service, users, 3600.0, stop)
        await waiter
        return {
            "idle": idle,
            "busy": busy,
            "retrain_wall_s": time.perf_counter() - t0,
            "returncode": proc.returncode,
        }
    finally:
        await service.close()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--users", type=int, default=2_000)
    parser.add_argument("--tracks", type=int, default=5_000)
    parser.add_argument("--idle-seconds", type=float, default=20.0)
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "retrain.md")
    parser.add_argument("--config-json", default="{}", help="RankerJobConfig overrides for the job")
    parser.add_argument(
        "--nice", type=int, default=10, help="the retrain's niceness, as the scheduler runs it"
    )
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-retrain-"))
    try:
        root, db = work / "artifacts", work / "songrec.sqlite3"
        t0 = time.perf_counter()
        eng = build_artifact(root, args.tracks)
        t_art = time.perf_counter() - t0
        t0 = time.perf_counter()
        votes = synthetic_votes(eng, args.rows, args.users)
        t_gen = time.perf_counter() - t0
        t0 = time.perf_counter()
        asyncio.run(write_votes(db, votes))
        t_write = time.perf_counter() - t0
        n_votes = len(votes)
        del votes
        print(
            f"artifact {t_art:.1f}s, generated {n_votes:,} votes in {t_gen:.1f}s, wrote them in {t_write:.1f}s"
        )

        job = [
            sys.executable, "-m", "training", "ranker", "--db", str(db), "--artifacts", str(root),
            "--config-json", args.config_json,
        ]  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        # 1) the first training alone: wall time and the child's peak RSS
        load_at_start = os.getloadavg()[0]
        t0 = time.perf_counter()
        done = subprocess.run([*job, "--reason", "bench"], env=env, capture_output=True, text=True)
        t_train = time.perf_counter() - t0
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        peak_mb = usage.ru_maxrss / 1024
        cpu_s = usage.ru_utime + usage.ru_stime  # what the job costs, whatever else shares the cores
        print(done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-2000:])
        if done.returncode != 0:
            print(done.stderr[-3000:], file=sys.stderr)
            return 1
        runs = asyncio.run(_runs(db))
        metrics = runs[0].metrics
        # 2) serving idle vs during a second training (forced, so both runs do the same work)
        users = sorted({10_000 + u for u in range(0, args.users, max(1, args.users // 200))})
        side = asyncio.run(
            serving_side(
                db,
                root,
                Engine.load(root),
                users,
                args.idle_seconds,
                [*(["nice", "-n", str(args.nice)] if args.nice > 0 else []), *job, "--reason", "bench-2"],
            )
        )
        report = render(
            args, n_votes, t_art, t_write, (t_train, cpu_s, load_at_start), peak_mb, metrics, side
        )
        write_report(report, args.out)
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


async def _runs(db: Path) -> list:
    store = await Store.open(db, readonly=True)
    try:
        return await store.last_training_runs(5)
    finally:
        await store.close()


def render(
    args: argparse.Namespace,
    n_votes: int,
    t_art: float,
    t_write: float,
    train_times: tuple[float, float, float],
    peak_mb: float,
    m: dict,
    side: dict,
) -> str:
    idle, busy = side["idle"], side["busy"]
    t_train, cpu_s, load = train_times
    grid = m.get("blend_grid_cf_share", {})
    lines = [
        "# Ranker retraining benchmark",
        "",
        f"`{' '.join(['.venv/bin/python', 'bench/retrain.py', *sys.argv[1:]])}` on {os.cpu_count()} CPU cores "
        f"(shared with other jobs; load average {os.getloadavg()[0]:.1f} at the end), device {m.get('device')}.",
        "",
        f"Synthetic data: {n_votes:,} votes from {args.users:,} listeners over {args.tracks:,} tracks "
        f"(SQLite, bulk insert {t_write:.1f}s; test embedding artifact built in {t_art:.1f}s).",
        "",
        "## Training (`python -m training ranker` subprocess)",
        "",
        "| what | value |",
        "|---|---|",
        f"| wall time, whole job | {t_train:.1f} s (load average {load:.1f} when it started) |",
        f"| CPU time of the job (user + sys) | {cpu_s:.1f} s |",
        f"| read votes from SQLite | {m.get('read_seconds')} s |",
        f"| classifier fit | {m.get('classifier_seconds')} s (batch {m.get('classifier_batch')}) |",
        f"| CF fit | {m.get('cf_seconds')} s (batch {m.get('cf_batch')}) |",
        f"| peak RSS of the training process | {peak_mb:,.0f} MiB |",
        f"| train / validation votes | {m.get('train_rows'):,} / {m.get('val_rows'):,} |",
        f"| users capped (cap {m.get('user_cap')}) | {m.get('capped_users')} |",
        f"| val AUC blend / classifier / CF | {m.get('val_auc'):.3f} / {m.get('val_auc_like'):.3f} / "
        f"{(m.get('val_auc_cf') or float('nan')):.3f} |",
        "",
        "## Blend tuning (CF share of the ranker weight, validation AUC)",
        "",
        "| CF share | " + " | ".join(grid) + " |",
        "|---|" + "---|" * len(grid),
        "| val AUC | " + " | ".join(f"{v:.4f}" if v is not None else "-" for v in grid.values()) + " |",
        "",
        f"Chosen: CF share {m.get('cf_share')} -> like weight {m.get('like_weight'):.2f}, "
        f"CF weight {m.get('cf_weight'):.2f} (total 0.6, RankerJobConfig.blend_total).",
        "",
        "EASE inside the CF model (CF logit += w x EASE score; w = ratio x std(factor logit) / std(EASE), "
        "tuned on the same validation votes; CF-only validation AUC):",
        "",
        "| ratio | " + " | ".join(m.get("cf_ease_grid", {})) + " |",
        "|---|" + "---|" * len(m.get("cf_ease_grid", {})),
        "| CF val AUC | "
        + " | ".join(f"{v:.4f}" if v is not None else "-" for v in m.get("cf_ease_grid", {}).values())
        + " |",
        "",
        f"Chosen EASE weight {m.get('cf_ease_weight') or 0:.3g}.",
        "",
        f"## Serving latency: idle vs during a retrain (recommend, k=10, ranker on, one client, "
        f"retrain niceness {args.nice})",
        "",
        "| | calls | p50 ms | p99 ms |",
        "|---|---|---|---|",
        f"| idle | {len(idle)} | {pct(idle, 50):.1f} | {pct(idle, 99):.1f} |",
        f"| during retrain ({side['retrain_wall_s']:.0f}s) | {len(busy)} | {pct(busy, 50):.1f} | {pct(busy, 99):.1f} |",
        f"| ratio busy/idle | | {pct(busy, 50) / pct(idle, 50):.2f}x | {pct(busy, 99) / pct(idle, 99):.2f}x |",
        "",
        f"Metrics of the first run: `{json.dumps({k: v for k, v in m.items() if 'grid' not in k})}`",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
