"""Progress for long jobs: a tqdm bar on a terminal, a few plain lines anywhere else.

A bar redrawn with carriage returns is noise in a log file, a CI job or a pipe; there the same progress
is told in whole lines ("text features: 40% (8/20 batches), 12s, about 18s left"), at most one every
few seconds. Neither guesses the time left before it can know: the first steps of a stage (warm-up,
a first batch that loads everything) say little about the rest, so an estimate waits until 5% is done
or 10 s have passed (a bar's first guess was once 27:41 for a stage that took 107 s).
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterable, Iterator
from typing import IO, Any

from tqdm.auto import tqdm

PLAIN_EVERY_S = 10.0  # at most one plain line this often ...
PLAIN_STEP = 0.10  # ... and only after another 10% is done
ETA_AFTER_FRACTION = 0.05  # the time left is estimated once this share is done ...
ETA_AFTER_S = 10.0  # ... or this much time has passed
#: tqdm's own layout with the time left shown as "?" (its default r_bar otherwise).
_NO_ETA_FORMAT = "{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<?, {rate_fmt}{postfix}]"


def eta_is_meaningful(done: float, total: float | None, elapsed: float) -> bool:
    """Whether `done` of `total` after `elapsed` seconds says enough to estimate the time left."""
    if not total or done <= 0:
        return False
    return done / total >= ETA_AFTER_FRACTION or elapsed >= ETA_AFTER_S


def time_left(done: float, total: float | None, elapsed: float) -> float | None:
    """Seconds left at the average rate so far; None until the estimate is meaningful."""
    if total is None or not eta_is_meaningful(done, total, elapsed):
        return None
    return max(total - done, 0.0) * elapsed / done


class HonestBar(tqdm):
    """tqdm that shows "?" for the time left until eta_is_meaningful (its rate is still shown)."""

    @property
    def format_dict(self) -> dict[str, Any]:
        values = super().format_dict
        custom = self.bar_format is not None
        done = values.get("n", 0) - (values.get("initial") or 0)
        if (
            not custom
            and values.get("total")
            and not eta_is_meaningful(done, values["total"], values["elapsed"])
        ):
            values = {**values, "bar_format": _NO_ETA_FORMAT}
        return values


def progress_bar(
    iterable: Iterable[Any] | None = None,
    *,
    desc: str,
    total: float | None = None,
    unit: str = "it",
    enabled: bool = True,
    stream: IO[str] | None = None,
    **bar_options: Any,
) -> Any:
    """tqdm when ``stream`` (default stderr) is a terminal, PlainProgress when not, a silent bar when
    not ``enabled``. All three iterate, update(n), set_postfix(...) and work as context managers."""
    out = stream if stream is not None else sys.stderr
    if not enabled:
        return tqdm(iterable, desc=desc, total=total, unit=unit, disable=True)
    if _is_terminal(out):
        return HonestBar(iterable, desc=desc, total=total, unit=unit, file=out, **bar_options)
    return PlainProgress(iterable, desc=desc, total=total, unit=unit, stream=out)


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class PlainProgress:
    """The few-lines stand-in for a bar: a first line, a line per 10% (at most one per PLAIN_EVERY_S),
    and a last line with the time taken."""

    def __init__(
        self,
        iterable: Iterable[Any] | None = None,
        *,
        desc: str,
        total: float | None = None,
        unit: str = "it",
        stream: IO[str] | None = None,
        clock: Any = time.monotonic,
    ) -> None:
        self.iterable = iterable
        self.desc = desc
        self.unit = unit
        self.stream = stream if stream is not None else sys.stderr
        self.clock = clock
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)  # type: ignore[arg-type]
        self.total = total
        self.n = 0.0
        self.postfix = ""
        self.started = clock()
        self._last_line_at = self.started
        self._last_fraction = 0.0
        self._closed = False
        size = f" ({_amount(total)} {unit})" if total else ""
        self._say(f"{desc}: started{size}")

    def __iter__(self) -> Iterator[Any]:
        assert self.iterable is not None, "PlainProgress without an iterable: use update()"
        try:
            for item in self.iterable:
                yield item
                self.update(1)
        finally:
            self.close()

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def update(self, n: float = 1) -> None:
        self.n += n
        if not self.total:
            return
        fraction = min(self.n / self.total, 1.0)
        now = self.clock()
        if fraction - self._last_fraction >= PLAIN_STEP and now - self._last_line_at >= PLAIN_EVERY_S:
            self._last_fraction, self._last_line_at = fraction, now
            elapsed = now - self.started
            left = time_left(self.n, self.total, elapsed)
            eta = f", about {_duration(left)} left" if left is not None and fraction < 1.0 else ""
            self._say(
                f"{self.desc}: {fraction:.0%} ({_amount(self.n)}/{_amount(self.total)} {self.unit}), "
                f"{elapsed:.0f}s{eta}{self.postfix}"
            )

    def set_postfix(self, ordered_dict: dict[str, Any] | None = None, **values: Any) -> None:
        items = {**(ordered_dict or {}), **values}
        self.postfix = "; " + ", ".join(f"{k} {v}" for k, v in items.items()) if items else ""

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._say(
            f"{self.desc}: done, {_amount(self.n)} {self.unit} in {self.clock() - self.started:.0f}s{self.postfix}"
        )

    def _say(self, line: str) -> None:
        with contextlib.suppress(OSError, ValueError):  # a closed pipe must not stop the job
            print(line, file=self.stream, flush=True)


def _amount(value: float | None) -> str:
    if value is None:
        return "?"
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.1f}"


def _duration(seconds: float) -> str:
    """45s, 3m 05s, 1h 02m: a time left reads best in the units that matter."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"
