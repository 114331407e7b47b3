"""Running two training stages side by side on a CPU without losing reproducibility.

Each stage trains a small model on one torch thread, so on a 2-core machine a second stage can run
beside the first on the other core (torch releases the GIL inside its kernels). Two things in torch
are process-wide and would make such a run depend on timing: the global random generator that
initialises weights (``seeded`` serialises model construction, each under its own seed) and the
intra-op thread count (``torch_threads`` sets it once around the whole parallel section; the stages'
own settings then leave it unchanged).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

import torch

T = TypeVar("T")

_INIT_LOCK = threading.Lock()


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Seed torch's global generator and hold it while the body builds a model: concurrent stages build
    theirs one at a time, so each model's initial weights depend on its seed alone."""
    with _INIT_LOCK:
        torch.manual_seed(seed)
        yield


def reseed(seed: int) -> None:
    """``torch.manual_seed`` that never lands in the middle of another stage's ``seeded`` block."""
    with _INIT_LOCK:
        torch.manual_seed(seed)


@contextmanager
def torch_threads(device: str, n: int | None) -> Iterator[None]:
    """torch's intra-op threads set to ``n`` on a CPU for the body (unchanged elsewhere, or for n=0/None)."""
    if torch.device(device).type != "cpu" or not n:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class Background(Generic[T]):
    """``fn(*args)`` on a daemon thread; ``result()`` waits and re-raises its error. Daemon, so a
    Ctrl-C in the main thread ends the job without waiting for the stage to finish."""

    def __init__(self, name: str, fn: Callable[..., T], *args: object) -> None:
        self._value: T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(fn, args), name=name, daemon=True)
        self._thread.start()

    def _run(self, fn: Callable[..., T], args: tuple[object, ...]) -> None:
        try:
            self._value = fn(*args)
        except BaseException as exc:  # handed to the caller by result()
            self._error = exc

    def result(self) -> T:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]


class Done(Generic[T]):
    """A stage that already ran (the serial path), with Background's ``result()``."""

    def __init__(self, value: T) -> None:
        self._value = value

    def result(self) -> T:
        return self._value
