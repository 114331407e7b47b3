"""Progress is a bar on a terminal and a few whole lines anywhere else (a log file, a pipe, CI)."""

from __future__ import annotations

import io
import re

from songrec.ops.progress import PlainProgress, eta_is_meaningful, progress_bar, time_left


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 3.0  # every reading is three seconds later
        return self.now


def test_not_a_terminal_gets_plain_lines_without_carriage_returns() -> None:
    out = io.StringIO()
    items = list(progress_bar(range(5), desc="index", unit="batch", stream=out))
    assert items == [0, 1, 2, 3, 4]
    text = out.getvalue()
    assert "\r" not in text
    lines = text.splitlines()
    assert lines[0] == "index: started (5 batch)"
    assert lines[-1].startswith("index: done, 5 batch in ")


def test_plain_lines_are_few_and_carry_the_postfix() -> None:
    out = io.StringIO()
    bar = PlainProgress(range(1000), desc="train", unit="step", stream=out, clock=Clock())
    for i in bar:
        if i % 100 == 0:
            bar.set_postfix(loss=f"{1 / (i + 1):.3f}")
    lines = out.getvalue().splitlines()
    assert 3 <= len(lines) <= 12  # a start, about one per 10%, and an end: never one per step
    assert any("50%" in line for line in lines)
    assert "loss" in lines[-1]


def test_a_terminal_gets_a_tqdm_bar_and_disabled_prints_nothing() -> None:
    tty = Terminal()
    with progress_bar(total=10, desc="download", unit="B", stream=tty) as bar:
        bar.update(10)
    assert "\r" in tty.getvalue() and "download" in tty.getvalue()
    quiet = io.StringIO()
    for _ in progress_bar(range(3), desc="x", enabled=False, stream=quiet):
        pass
    assert quiet.getvalue() == ""


def test_a_bar_shows_no_time_left_until_it_can_know() -> None:
    """The first steps of a stage say little about the rest: no estimate before 5% or 10 seconds."""
    with progress_bar(total=1000, desc="co-listing encoder", unit="step", stream=Terminal()) as bar:
        bar.update(1)
        assert "<?," in str(bar)  # 0.1% after a moment: "?" left, not a wild guess
        bar.update(60)
        assert "<?," not in str(bar) and "<00:" in str(bar)  # 6%: an estimate
    with progress_bar(total=1000, desc="slow start", unit="step", stream=Terminal()) as bar:
        bar.start_t -= 11  # the first step took 11 seconds
        bar.update(1)
        assert "<?," not in str(bar), "after 10 s an estimate is worth showing"
    with progress_bar(total=None, desc="unsized", stream=Terminal()) as bar:
        bar.update(5)
        assert "5" in str(bar)


def test_eta_rule_and_plain_lines_tell_the_time_left() -> None:
    assert not eta_is_meaningful(1, 1000, 3.0) and not eta_is_meaningful(0, 1000, 60.0)
    assert eta_is_meaningful(50, 1000, 0.5) and eta_is_meaningful(1, 1000, 10.0)
    assert time_left(1, 1000, 3.0) is None and time_left(500, 1000, 30.0) == 30.0
    out = io.StringIO()
    for _ in PlainProgress(range(100), desc="index", unit="batch", stream=out, clock=Clock()):
        pass
    lines = out.getvalue().splitlines()
    middle = [line for line in lines if "%" in line]
    assert middle and all("left" in line for line in middle if "100%" not in line)
    # Every reading is 3 s later: at 10% (10 of 100 batches, ~33 s) about 5 minutes remain.
    first = next(line for line in middle if line.startswith("index: 1"))
    assert re.search(r"about \d+m \d\ds left", first), first
    assert "left" not in lines[0] and "left" not in lines[-1]
