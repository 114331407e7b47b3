"""Planning on every core: worker processes, each holding its own copy of the engine (and the ranker),
plan the requests the event loop hands them.

Why: a request's planning is ~2.5 ms of Python. Threads in one process run it one at a time behind the
GIL and fight the event loop for it, so a second planner thread made answers slower, not faster. A worker
process plans beside the loop instead of against it.

The pool is an accelerator, never a dependency: `plan` answers None, and the service plans in its own
thread pool, while no worker holds the request's engine and ranker (starting up, reloading after a
swap, a ranker that cannot be pickled) and when a worker dies mid-plan; a dead worker is restarted.
Answers are the same either way: the same code on the same artifact files, and every request carries
its own random seed. Only the engine's files cross (each worker loads them); a ranker crosses pickled,
with its references to the serving engine and to the live votes swapped for the worker's own
(`_RankerPickler`), so a worker scores with the same model against the same rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import io
import itertools
import logging
import multiprocessing
import pickle
import signal
import time
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from songrec.content.engine import Engine
from songrec.service.config import ServiceConfig
from songrec.service.pipe_frames import NonBlockingReader
from songrec.service.planner import Pick, RecommendRequest, plan_recommendations
from songrec.service.scoring import CandidateScorer

log = logging.getLogger(__name__)

#: Requests handed to one worker before the next must wait: enough that a worker never idles between
#: two, few enough that the pipe never fills (a send then blocks the event loop).
PER_WORKER = 2
#: A message larger than this is written from a thread: a pipe holds 64 KiB, and a full pipe blocks.
INLINE_SEND_BYTES = 16 * 1024
#: A worker that has not answered a request for this long is hung: it is killed (and restarted), and
#: its requests are planned in the threads. A plan takes milliseconds; this is far past any slow one.
PLAN_TIMEOUT_S = 10.0
#: Restarts allowed within RESTART_WINDOW_S; past that the pool stays down and the threads serve.
MAX_RESTARTS = 5
RESTART_WINDOW_S = 600.0

#: A user's live votes by track id (Service.user_ratings).
VotesOf = Callable[[int], dict[str, int]]

#: The ranker token of "no ranker": every worker holds it.
NO_RANKER = 0


class WorkerLost(Exception):
    """A worker died (or was stopped) with this request in flight: plan it somewhere else."""


@dataclass
class _Worker:
    name: str
    process: BaseProcess
    conn: Connection
    engine: str | None = None  # the engine version it holds and can plan on
    ranker: int = NO_RANKER  # the ranker token it holds (NO_RANKER: none, or being replaced)
    busy: bool = False  # an engine or ranker is on its way: no plans until it answers
    inflight: dict[int, asyncio.Future[list[Pick]]] = field(default_factory=dict)
    sent_at: dict[int, float] = field(default_factory=dict)  # job -> when it was handed over (monotonic)
    send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    alive: bool = True
    reader: NonBlockingReader | None = None  # its answers, read on the event loop

    def holds(self, engine: str, ranker: int) -> bool:
        held = ranker == NO_RANKER or self.ranker == ranker
        return self.alive and not self.busy and self.engine == engine and held


@dataclass(frozen=True)
class _Shipped:
    """The ranker the workers should hold. `token` None: not pickled yet, or it cannot be (the threads
    plan with it). `engine`: the engine version it scores against (None when it names no engine)."""

    ranker: CandidateScorer | None
    token: int | None
    blob: bytes = b""
    needs_votes: bool = False
    engine: str | None = None

    def token_for(self, ranker: CandidateScorer | None, engine: str) -> int | None:
        if ranker is None:
            return NO_RANKER
        if ranker is not self.ranker or (self.engine is not None and self.engine != engine):
            return None
        return self.token


@dataclass
class PoolStats:
    """What the pool did, for status and the bench."""

    planned: int = 0  # requests a worker planned
    declined: int = 0  # requests handed back to the threads (nobody ready, or a worker lost)
    restarts: int = 0


class PlanProcesses:
    """`count` planning processes (spawned: no copy of the parent's threads or locks).

    `votes_of` is the service's live votes by user (what a ranker folds a new listener in from): a ranker
    that holds it gets, in a worker, the planned user's votes sent with each request instead.
    """

    def __init__(
        self, count: int, votes_of: VotesOf | None = None, *, plan_timeout_s: float = PLAN_TIMEOUT_S
    ) -> None:
        self.count = count
        self.votes_of = votes_of
        self.plan_timeout_s = plan_timeout_s
        self.stats = PoolStats()
        self._workers: list[_Worker] = []
        self._jobs = itertools.count(1)
        self._tokens = itertools.count(1)
        self._changed: asyncio.Condition | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._engine: Engine | None = None
        self._ranker = _Shipped(None, NO_RANKER)
        self._restarts: list[float] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    # ------------------------------------------------------------------ lifecycle

    def start(self, engine: Engine, ranker: CandidateScorer | None = None) -> None:
        """Spawn the workers in the background; until one has loaded the engine, the threads plan."""
        self._loop = asyncio.get_running_loop()
        self._changed = asyncio.Condition()
        self._engine = engine
        self.use_ranker(ranker)
        for i in range(self.count):
            self._background(self._spawn(f"songrec-plan-{i}"))
        self._background(self._watch())

    async def close(self) -> None:
        """Stop every worker (requests in flight are handed back to the threads). Safe to call twice."""
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        workers, self._workers = list(self._workers), []
        for worker in workers:
            self._lose(worker, "the service is closing")
            with contextlib.suppress(OSError, ValueError):
                worker.conn.send_bytes(pickle.dumps(("stop",)))
        for worker in workers:
            self._stop_watching(worker)
        await asyncio.to_thread(_join_all, [w.process for w in workers])
        for worker in workers:
            worker.conn.close()

    @property
    def ready(self) -> int:
        """Workers that can plan for the current engine and ranker now."""
        if self._engine is None:
            return 0
        token = self._ranker.token_for(self._ranker.ranker, self._engine.version)
        return 0 if token is None else sum(w.holds(self._engine.version, token) for w in self._workers)

    def use_engine(self, engine: Engine) -> None:
        """Serve `engine` from the next request on: every worker loads it (the threads plan meanwhile)."""
        if self._loop is None or self._closed or engine is self._engine:
            return
        self._engine = engine
        for worker in self._workers:
            if worker.alive:
                self._background(self._ship_engine(worker, engine))

    def use_ranker(self, ranker: CandidateScorer | None) -> None:
        """Score with `ranker` from the next request on (pickled once, off the loop, then shipped)."""
        if self._changed is None or self._closed or self._engine is None:
            return
        # Until pickled, the threads plan with it.
        self._ranker = _Shipped(ranker, NO_RANKER if ranker is None else None)
        self._background(self._prepare_ranker(ranker, self._engine))

    # ------------------------------------------------------------------ planning

    async def plan(
        self,
        engine: Engine,
        ranker: CandidateScorer | None,
        request: RecommendRequest,
        cfg: ServiceConfig,
    ) -> list[Pick] | None:
        """The picks a worker planned, or None: plan it in the threads (no worker ready, or one died)."""
        shipped = self._ranker
        token = shipped.token_for(ranker, engine.version)
        if token is None or self._changed is None or self._closed:
            self.stats.declined += 1
            return None
        async with self._changed:
            while True:
                ready = [w for w in self._workers if w.holds(engine.version, token)]
                if not ready:
                    self.stats.declined += 1
                    return None
                worker = min(ready, key=lambda w: len(w.inflight))
                if len(worker.inflight) < PER_WORKER:
                    break
                await self._changed.wait()
            job = next(self._jobs)
            future: asyncio.Future[list[Pick]] = asyncio.get_running_loop().create_future()
            worker.inflight[job] = future
            worker.sent_at[job] = time.monotonic()
        needs_votes = shipped.needs_votes and token != NO_RANKER
        # The user's votes, for a ranker that reads them (its fold-in), as they are now.
        votes = self.votes_of(request.user_id) if needs_votes and self.votes_of is not None else None
        message = ("plan", job, engine.version, token, request, cfg, votes)
        try:
            await self._send(worker, pickle.dumps(message, pickle.HIGHEST_PROTOCOL))
            picks = await future
        except WorkerLost:
            self.stats.declined += 1
            return None
        finally:
            worker.inflight.pop(job, None)
            worker.sent_at.pop(job, None)
            await self._notify(everyone=False)
        self.stats.planned += 1
        return picks

    # ------------------------------------------------------------------ workers

    async def _spawn(self, name: str) -> None:
        try:
            worker = await asyncio.to_thread(_start_process, name)
        except (OSError, RuntimeError) as exc:  # out of processes or memory: the threads serve
            log.error("could not start planning process %s: %s", name, exc)
            return
        if self._closed:
            worker.conn.close()
            await asyncio.to_thread(_join_all, [worker.process])
            return
        self._workers.append(worker)
        self._watch_answers(worker)
        if self._engine is not None:
            await self._ship_engine(worker, self._engine)

    async def _ship_engine(self, worker: _Worker, engine: Engine) -> None:
        worker.busy, worker.engine, worker.ranker = True, None, NO_RANKER  # it drops its ranker too
        message = (
            "engine",
            engine.version,
            str(engine.catalog_path.parent),
            engine.manifest,
            engine.problems,
        )
        await self._send(worker, pickle.dumps(message, pickle.HIGHEST_PROTOCOL))
        await self._ship_ranker(worker)

    async def _prepare_ranker(self, ranker: CandidateScorer | None, engine: Engine) -> None:
        shipped = _Shipped(None, NO_RANKER)
        if ranker is not None:
            try:
                blob, needs_votes, names_engine = await asyncio.to_thread(
                    _pickle_ranker, ranker, engine, self.votes_of
                )
            except Exception as exc:  # any object may refuse pickling in its own way
                log.info(
                    "ranker %r cannot cross to the planning processes (%s): threads plan with it", ranker, exc
                )
                return
            version = engine.version if names_engine else None
            shipped = _Shipped(ranker, next(self._tokens), blob, needs_votes, version)
        if self._ranker.ranker is not ranker:
            return  # swapped again meanwhile
        self._ranker = shipped
        if ranker is None:
            return  # every worker can plan without one
        for worker in self._workers:
            if worker.alive and not worker.busy:
                worker.busy = True
                self._background(self._ship_ranker(worker))

    async def _ship_ranker(self, worker: _Worker) -> None:
        """The current ranker to `worker` (which is busy until its answer): the last step of a load."""
        shipped = self._ranker
        if shipped.token is None or shipped.token == NO_RANKER:  # none, or still being pickled
            worker.busy = False  # (_prepare_ranker ships it when done)
            self._background(self._notify())
            return
        message = ("ranker", shipped.token, shipped.blob)
        # Framing the blob copies it (megabytes for a trained ranker): off the loop.
        await self._send(worker, await asyncio.to_thread(pickle.dumps, message, pickle.HIGHEST_PROTOCOL))

    async def _send(self, worker: _Worker, data: bytes) -> None:
        async with worker.send_lock:
            if not worker.alive:
                raise WorkerLost(worker.name)
            try:
                if len(data) <= INLINE_SEND_BYTES:
                    worker.conn.send_bytes(data)
                else:
                    await asyncio.to_thread(worker.conn.send_bytes, data)
            except (OSError, ValueError) as exc:
                self._lose(worker, f"cannot write to it ({exc})")
                raise WorkerLost(worker.name) from exc

    def _watch_answers(self, worker: _Worker) -> None:
        """Read the worker's answers on the loop as they arrive (songrec.service.pipe_frames says why)."""
        assert self._loop is not None
        reader = worker.reader = NonBlockingReader(worker.conn.fileno())
        self._loop.add_reader(reader.fileno(), self._readable, worker)

    def _readable(self, worker: _Worker) -> None:
        reader = worker.reader
        if reader is None:
            return
        messages, closed = reader.read()
        for data in messages:
            try:
                message = pickle.loads(data)
            except Exception as exc:  # a torn or foreign message: this pipe cannot be trusted any more
                closed = True
                why = f"it sent an unreadable answer ({exc!r})"
                break
            self._received(worker, message)
        else:
            why = "it stopped"
        if closed:
            self._stop_watching(worker)
            with contextlib.suppress(OSError):
                worker.conn.close()
            self._lost_and_restart(worker, why)

    def _stop_watching(self, worker: _Worker) -> None:
        reader, worker.reader = worker.reader, None
        if reader is None:
            return
        if self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(reader.fileno())
        reader.close()

    def _received(self, worker: _Worker, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "done" or kind == "failed":
            future = worker.inflight.get(message[1])
            if future is not None and not future.done():
                if kind == "done":
                    future.set_result(message[2])
                else:  # the threads plan it again, and raise the same error with a real traceback
                    log.warning("planning process %s failed a request: %s", worker.name, message[2])
                    future.set_exception(WorkerLost(worker.name))
        elif kind == "engine":
            _, version, problem = message
            if problem:
                log.error("planning process %s cannot load engine %s: %s", worker.name, version, problem)
            elif self._engine is not None and version == self._engine.version:
                worker.engine = version
                self._background(self._notify())
        elif kind == "ranker":
            _, token, problem = message
            worker.busy = False
            if problem:
                log.error("planning process %s cannot load the ranker: %s", worker.name, problem)
                worker.ranker = NO_RANKER
            else:
                worker.ranker = token
            current = self._ranker.token
            if worker.engine and current not in (None, NO_RANKER) and token != current:
                worker.busy = True  # the ranker changed while this one was on its way
                self._background(self._ship_ranker(worker))
            self._background(self._notify())

    def _lose(self, worker: _Worker, why: str) -> None:
        if not worker.alive:
            return
        worker.alive = False
        if not self._closed:
            log.warning("planning process %s lost: %s", worker.name, why)
        for future in worker.inflight.values():
            if not future.done():
                future.set_exception(WorkerLost(worker.name))
        if self._changed is not None:
            self._background(self._notify())

    def _lost_and_restart(self, worker: _Worker, why: str) -> None:
        self._lose(worker, why)
        if worker in self._workers:
            self._workers.remove(worker)
        if self._closed:
            return
        now = time.monotonic()
        self._restarts = [t for t in self._restarts if now - t < RESTART_WINDOW_S]
        if len(self._restarts) >= MAX_RESTARTS:
            log.error("planning processes keep dying; planning in threads from now on")
            return
        self._restarts.append(now)
        self.stats.restarts += 1
        self._background(self._spawn(worker.name))

    async def _watch(self) -> None:
        """Kill a worker that sits on a request far longer than any plan takes (a hang, a stopped process)."""
        period = min(1.0, self.plan_timeout_s / 4)
        while not self._closed:
            await asyncio.sleep(period)
            now = time.monotonic()
            for worker in list(self._workers):
                oldest = min(worker.sent_at.values(), default=now)
                if worker.alive and now - oldest > self.plan_timeout_s:
                    self._lose(worker, f"no answer in {self.plan_timeout_s:.0f} s; killed")
                    with contextlib.suppress(OSError):
                        worker.process.kill()  # its reader sees the pipe close and a new worker starts

    async def _notify(self, *, everyone: bool = True) -> None:
        """Wake the requests waiting for a worker: one when a slot frees, all when readiness changed."""
        if self._changed is not None:
            async with self._changed:
                if everyone:
                    self._changed.notify_all()
                else:
                    self._changed.notify(1)

    def _background(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if error is not None and not isinstance(error, WorkerLost):  # a lost worker is already logged
            log.error("planning processes: %s", error, exc_info=error)


def _start_process(name: str) -> _Worker:
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe(duplex=True)
    process = context.Process(target=worker_main, args=(child,), name=name, daemon=True)
    process.start()
    child.close()
    return _Worker(name=name, process=process, conn=parent)


def _join_all(processes: list[BaseProcess]) -> None:
    for process in processes:
        process.join(timeout=5.0)
        if process.is_alive():
            process.kill()
            process.join(timeout=5.0)


# ---------------------------------------------------------------------- ranker pickling


_ENGINE_REF = "songrec-engine"
_VOTES_REF = "songrec-votes"


class _RankerPickler(pickle.Pickler):
    """Pickles a ranker without the engine it scores against (the worker has its own copy, loaded from
    the same files) and without the service's live votes (each request brings its user's)."""

    def __init__(self, file: io.BytesIO, engine: Engine, votes_of: Callable[..., Any] | None) -> None:
        super().__init__(file, pickle.HIGHEST_PROTOCOL)
        self.engine = engine
        self.votes_of = votes_of
        self.needs_votes = False
        self.names_engine = False

    def persistent_id(self, obj: Any) -> str | None:
        if obj is self.engine:
            self.names_engine = True
            return _ENGINE_REF
        if isinstance(obj, Engine):
            raise pickle.PicklingError("the ranker scores against an engine that is not serving")
        votes_of = self.votes_of
        if votes_of is not None and (
            obj is votes_of or (isinstance(obj, types.MethodType) and obj == votes_of)
        ):
            self.needs_votes = True
            return _VOTES_REF
        return None


def _pickle_ranker(
    ranker: CandidateScorer, engine: Engine, votes_of: Callable[..., Any] | None
) -> tuple[bytes, bool, bool]:
    """The ranker's pickle; whether it reads live votes; whether it names the engine."""
    buffer = io.BytesIO()
    pickler = _RankerPickler(buffer, engine, votes_of)
    pickler.dump(ranker)
    return buffer.getvalue(), pickler.needs_votes, pickler.names_engine


class _RankerUnpickler(pickle.Unpickler):
    def __init__(self, data: bytes, state: _WorkerState) -> None:
        super().__init__(io.BytesIO(data))
        self.state = state

    def persistent_load(self, pid: Any) -> Any:
        if pid == _ENGINE_REF:
            return self.state.engine
        if pid == _VOTES_REF:
            return self.state.votes_of
        raise pickle.UnpicklingError(f"unknown reference {pid!r}")


# ---------------------------------------------------------------------- the worker side


@dataclass
class _WorkerState:
    engine: Engine | None = None
    rankers: dict[int, CandidateScorer | None] = field(default_factory=lambda: {NO_RANKER: None})
    votes: dict[int, dict[str, int]] = field(default_factory=dict)

    def votes_of(self, user_id: int) -> dict[str, int]:
        return self.votes.get(user_id, {})


def worker_main(conn: Connection) -> None:
    """A planning process: load what it is sent, plan what it is asked, until the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the service, which stops us
    from songrec.service.runtime import single_threaded_blas

    single_threaded_blas()
    state = _WorkerState()
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        kind = message[0]
        if kind == "stop":
            return
        if kind == "plan":
            _, job, version, token, request, cfg, votes = message
            try:
                if state.engine is None or state.engine.version != version:
                    raise RuntimeError(f"engine {version} is not loaded here")
                if votes is not None:
                    state.votes = {request.user_id: votes}
                picks = plan_recommendations(state.engine, request, cfg, state.rankers[token])
                reply: tuple[Any, ...] = ("done", job, picks)
            except Exception as exc:
                reply = ("failed", job, f"{type(exc).__name__}: {exc}"[:500])
            finally:
                state.votes = {}
            conn.send(reply)
        elif kind == "engine":
            _, version, path, manifest, problems = message
            problem = ""
            try:
                state.engine = None  # the old one goes before the new one comes
                state.rankers = {NO_RANKER: None}
                gc.unfreeze()
                gc.collect()
                engine = Engine.from_directory(Path(path), manifest, problems)
                if engine.version != version:
                    raise ValueError(f"found version {engine.version}")
                state.engine = engine
                gc.freeze()
            except Exception as exc:
                problem = f"{type(exc).__name__}: {exc}"[:500]
            conn.send(("engine", version, problem))
        elif kind == "ranker":
            _, token, blob = message
            problem = ""
            try:
                state.rankers = {NO_RANKER: None, token: _RankerUnpickler(blob, state).load()}
            except Exception as exc:
                problem = f"{type(exc).__name__}: {exc}"[:500]
            conn.send(("ranker", token, problem))
