"""Retrain the ranker on a schedule and when enough new feedback arrived, always in a subprocess.

Two hosts share one Retrainer: an AsyncIOScheduler beside the bot (`start_embedded`, started by
`songrec serve` with the RankerWatcher that hot-swaps what a run promotes; the bot itself never imports
training) and a stand-alone BlockingScheduler worker (`songrec train --schedule`). Each run is
`python -m training ranker --run-id N`: the parent records the run first, so a crash or an OOM kill of
the child is recorded as failed by the parent and can never take the bot down. Missed runs coalesce,
and one process never runs two trainings at once; across processes (several bots, a worker) one run at a
time for the whole deployment: a lease in the shared state (Redis, SONGREC_REDIS_URL) held for the run,
and, whatever the shared state, no start while the store has a recent "running" row.

Knobs (environment): SONGREC_RETRAIN_INTERVAL_S (default 21600), SONGREC_RETRAIN_CHECK_S (60),
SONGREC_RETRAIN_MIN_FEEDBACK (200 new votes), SONGREC_RETRAIN_TIMEOUT_S (3600),
SONGREC_RETRAIN=off disables the embedded scheduler (the watcher still swaps in promoted rankers).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from songrec import settings as paths
from songrec.coordination import Coordination, open_coordination
from songrec.models.ranker import RankerWatcher
from songrec.store import StoreBackend, open_store, parse_target
from songrec.store.open import is_sqlite_file_missing

log = logging.getLogger("songrec.training.scheduler")

REPO_ROOT = Path(__file__).resolve().parent.parent
LOG_TAIL = 2000
RETRAIN_LEASE = "retrain"
#: The lease is renewed every third of this while the run lasts; a holder that dies frees it this soon.
LEASE_TTL_S = 60.0


@dataclass(frozen=True)
class ScheduleConfig:
    interval_s: float = 6 * 3600.0
    check_s: float = 60.0
    min_new_feedback: int = 200
    misfire_grace_s: float = 600.0
    timeout_s: float = 3600.0
    job_args: tuple[str, ...] = ()  # extra `python -m training ranker` options
    env: Mapping[str, str] = field(default_factory=dict)  # extra environment for the child

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> ScheduleConfig:
        """The SONGREC_RETRAIN_* knobs (from songrec.settings, which ignores a bad one with a warning)."""
        settings = paths.get_settings() if env is None else paths.Settings.from_env(env)
        knobs = {
            "interval_s": settings.retrain_interval_s,
            "check_s": settings.retrain_check_s,
            "min_new_feedback": settings.retrain_min_feedback,
            "timeout_s": settings.retrain_timeout_s,
        }
        values: dict[str, Any] = {name: value for name, value in knobs.items() if value is not None}
        return cls(**{**values, **overrides})


@dataclass(frozen=True)
class RunOutcome:
    run_id: int | None
    status: str  # succeeded | skipped | failed | busy
    promoted: bool
    reason: str
    returncode: int | None = None


def describe_exit(code: int) -> str:
    if code < 0:
        sig = -code
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        oom = " (out of memory? the kernel's OOM killer sends SIGKILL)" if sig == signal.SIGKILL else ""
        return f"killed by {name}{oom}"
    return f"exited with code {code}"


class Retrainer:
    """Runs one training subprocess at a time and records it; shared by both scheduler hosts."""

    def __init__(
        self,
        db_path: str | Path,
        root: Path,
        cfg: ScheduleConfig | None = None,
        *,
        store: StoreBackend | None = None,
        on_finished: Callable[[RunOutcome], Awaitable[Any]] | None = None,
        coordination: Coordination | None = None,
    ) -> None:
        self.db_path = str(db_path)  # a SQLite file or a database URL (Path would mangle a URL's //)
        self.root = Path(root)
        self.cfg = cfg or ScheduleConfig.from_env()
        self.store = store  # the bot's own store; None: open one per call (the worker)
        self.on_finished = on_finished
        self.coordination = coordination  # the bot's shared state; None: opened per run (the worker)
        self._busy = threading.Lock()  # across threads too: the worker's jobs run in a thread pool
        self.runs = 0

    async def _with_store(self, fn: Callable[[StoreBackend], Awaitable[Any]]) -> Any:
        if self.store is not None:
            return await fn(self.store)
        store = await open_store(self.db_path)
        try:
            return await fn(store)
        finally:
            await store.close()

    async def pending_feedback(self) -> int:
        """Votes recorded since the newest vote the last successful run trained on."""

        async def count(store: StoreBackend) -> int:
            cursor = 0
            for run in await store.last_training_runs(50):
                last = run.metrics.get("last_feedback_id")
                if run.status == "succeeded" and isinstance(last, int):
                    cursor = last
                    break
            return await store.feedback_count_since(cursor)

        return int(await self._with_store(count))

    async def maybe_run(self) -> RunOutcome | None:
        """Run when at least min_new_feedback votes arrived since the last successful run."""
        pending = await self.pending_feedback()
        if pending < self.cfg.min_new_feedback:
            return None
        return await self.run(f"feedback: {pending} new votes")

    async def run(self, reason: str = "manual") -> RunOutcome:
        if not self._busy.acquire(blocking=False):
            return RunOutcome(None, "busy", False, "a training run is already in progress")
        try:
            outcome = await self._leased(reason)
        finally:
            self._busy.release()
        if outcome.status == "busy":
            log.info("training (%s) not started: %s", reason, outcome.reason)
            return outcome
        self.runs += 1
        if self.on_finished is not None:
            try:
                await self.on_finished(outcome)
            except Exception:
                log.exception("after-run hook failed")
        return outcome

    async def _leased(self, reason: str) -> RunOutcome:
        """Hold the deployment's retrain lease for the run; busy when another process holds it."""
        coordination = self.coordination or await open_coordination()
        try:
            lease = await coordination.try_lease(RETRAIN_LEASE, ttl_s=LEASE_TTL_S)
            if lease is None:
                return RunOutcome(None, "busy", False, "another process is training (it holds the lease)")
            try:
                return await self._run(reason)
            finally:
                await lease.release()
        finally:
            if self.coordination is None:
                await coordination.close()

    async def _running_elsewhere(self) -> str | None:
        """Why not to start: a recent "running" row (a run without the lease, or while Redis was away)."""
        stale = await self._with_store(
            lambda s: s.fail_stale_runs(
                self.cfg.timeout_s + 60.0,
                "abandoned: the process that ran it stopped before it finished (e.g. a restart)",
            )
        )
        if stale:
            log.warning("marked %d abandoned training run(s) as failed", stale)
        runs = await self._with_store(lambda s: s.last_training_runs(10))
        running = next((r for r in runs if r.status == "running"), None)
        return None if running is None else f"training run {running.id} is still running"

    async def _run(self, reason: str) -> RunOutcome:
        busy = await self._running_elsewhere()
        if busy is not None:
            return RunOutcome(None, "busy", False, busy)
        device = paths.device()
        record = await self._with_store(lambda s: s.record_training_run(device, reason))
        # Niced: on a small machine the bot's requests must win the CPU (SONGREC_TRAINING_NICE, default 10).
        nice = paths.get_settings().training_nice
        prefix = ["nice", "-n", str(nice)] if nice > 0 and shutil.which("nice") else []
        argv = [
            *prefix, sys.executable, "-m", "training", "ranker",
            "--run-id", str(record.id), "--db", self.db_path, "--artifacts", str(self.root),
            "--reason", reason, *self.cfg.job_args,
        ]  # fmt: skip
        env = {**os.environ, **self.cfg.env}  # the child inherits ours whole (not a configuration read)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
        log.info("training run %d (%s): starting", record.id, reason)
        started = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            *argv, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        try:
            output, _ = await asyncio.wait_for(proc.communicate(), self.cfg.timeout_s)
        except TimeoutError:
            proc.kill()
            output, _ = await proc.communicate()
            why = f"failed: timed out after {self.cfg.timeout_s:.0f}s and was killed"
            await self._mark_failed(record.id, why, proc.returncode, output, reason)
            return RunOutcome(record.id, "failed", False, why, proc.returncode)
        code = proc.returncode if proc.returncode is not None else -1
        if code != 0:
            why = f"failed: the training process {describe_exit(code)}"
            log.error("training run %d %s", record.id, why)
            await self._mark_failed(record.id, why, code, output, reason)
            return RunOutcome(record.id, "failed", False, why, code)
        runs = await self._with_store(lambda s: s.last_training_runs(50))
        row = next((r for r in runs if r.id == record.id), None)
        if row is None:
            return RunOutcome(record.id, "failed", False, "the run's record disappeared", code)
        log.info(
            "training run %d: %s in %.1fs (%s)", row.id, row.status, time.monotonic() - started, row.reason
        )
        return RunOutcome(row.id, row.status, row.promoted, row.reason, code)

    async def _mark_failed(
        self, run_id: int, why: str, code: int | None, output: bytes | None, trigger: str
    ) -> None:
        tail = (output or b"")[-LOG_TAIL:].decode("utf-8", "replace")
        await self._with_store(
            lambda s: s.update_training_run(
                run_id,
                status="failed",
                reason=why,
                promoted=False,
                metrics={"returncode": code, "log_tail": tail, "trigger": trigger},
            )
        )


def _job_options(cfg: ScheduleConfig) -> dict[str, Any]:
    return {"coalesce": True, "max_instances": 1, "misfire_grace_time": int(cfg.misfire_grace_s)}


class EmbeddedTraining:
    """The bot's learning loop: the AsyncIOScheduler (optional) and the ranker watcher (always)."""

    def __init__(self, retrainer: Retrainer, watcher: RankerWatcher, scheduler: Any | None) -> None:
        self.retrainer = retrainer
        self.watcher = watcher
        self.scheduler = scheduler
        self._manual: asyncio.Task[RunOutcome] | None = None

    def retrain_now(self, reason: str = "manual") -> bool:
        """Start a run in the background (/admin retrain); False when one is already going."""
        if self._manual is not None and not self._manual.done():
            return False
        self._manual = asyncio.create_task(self.retrainer.run(reason), name="songrec-retrain")
        return True

    async def stop(self) -> None:
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        await self.watcher.stop()
        if self._manual is not None and not self._manual.done():
            self._manual.cancel()


async def start_embedded(
    service: Any,
    *,
    cfg: ScheduleConfig | None = None,
    db_path: str | Path | None = None,
    root: Path | None = None,
    poll_s: float = 5.0,
    schedule: bool | None = None,
) -> EmbeddedTraining:
    """Load the current ranker now, then watch for new ones and (unless SONGREC_RETRAIN=off) retrain."""
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    cfg = cfg or ScheduleConfig.from_env()
    root = Path(root or getattr(service, "_artifacts", None) or paths.artifacts_dir())
    db_path = str(db_path or service.store.path)
    watcher = RankerWatcher(service, root, poll_s=poll_s)
    await watcher.check()
    watcher.start()

    async def after(outcome: RunOutcome) -> None:
        if outcome.promoted:
            await watcher.check()  # swap at once rather than at the next poll

    coordination = getattr(service, "coordination", None)  # shared with the bot: one lease per deployment
    retrainer = Retrainer(
        db_path, root, cfg, store=service.store, on_finished=after, coordination=coordination
    )
    if schedule is None:
        schedule = paths.get_settings().retrain
    scheduler = None
    if schedule:
        scheduler = AsyncIOScheduler(event_loop=asyncio.get_running_loop())
        opts = _job_options(cfg)
        scheduler.add_job(
            retrainer.run, "interval", seconds=cfg.interval_s, args=["scheduled"], id="retrain", **opts
        )
        scheduler.add_job(
            retrainer.maybe_run, "interval", seconds=cfg.check_s, id="retrain-on-feedback", **opts
        )
        scheduler.start()
        log.info(
            "retraining every %.0fs and after %d new votes (checked every %.0fs)",
            cfg.interval_s,
            cfg.min_new_feedback,
            cfg.check_s,
        )
    return EmbeddedTraining(retrainer, watcher, scheduler)


def run_worker(db_path: str | Path, root: Path, cfg: ScheduleConfig, *, run_first: bool = True) -> None:
    """`songrec train --schedule`: a BlockingScheduler in its own process, until interrupted."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    retrainer = Retrainer(db_path, root, cfg)

    def interval_job() -> None:
        asyncio.run(retrainer.run("scheduled"))

    def feedback_job() -> None:
        asyncio.run(retrainer.maybe_run())

    scheduler = BlockingScheduler()
    opts = _job_options(cfg)
    scheduler.add_job(interval_job, "interval", seconds=cfg.interval_s, id="retrain", **opts)
    scheduler.add_job(feedback_job, "interval", seconds=cfg.check_s, id="retrain-on-feedback", **opts)
    if run_first:
        scheduler.add_job(feedback_job, id="retrain-at-start", **opts)
    print(
        f"retraining every {cfg.interval_s:.0f}s and after {cfg.min_new_feedback} new votes "
        f"(checked every {cfg.check_s:.0f}s); Ctrl-C stops"
    )
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        scheduler.start()


def add_schedule_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db", help="feedback database: a file or a URL (default: SONGREC_DATABASE_URL, else SONGREC_DB)"
    )
    parser.add_argument("--artifacts", type=Path, help="artifacts root (default: SONGREC_HOME/artifacts)")
    parser.add_argument("--interval", type=float, help="seconds between scheduled runs")
    parser.add_argument("--check", type=float, help="seconds between new-feedback checks")
    parser.add_argument("--min-feedback", type=int, help="new votes that trigger a run")


def schedule_command(args: argparse.Namespace) -> int:
    overrides: dict[str, Any] = {}
    if args.interval:
        overrides["interval_s"] = args.interval
    if args.check:
        overrides["check_s"] = args.check
    if args.min_feedback:
        overrides["min_new_feedback"] = args.min_feedback
    cfg = ScheduleConfig.from_env(**overrides)
    db_path = str(args.db or paths.database_location())
    if is_sqlite_file_missing(parse_target(db_path)):
        print(
            f"error: no feedback database at {db_path}: run the bot or `songrec chat` first", file=sys.stderr
        )
        return 2
    run_worker(db_path, Path(args.artifacts or paths.artifacts_dir()), cfg)
    return 0
