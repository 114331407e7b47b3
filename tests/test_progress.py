"""Progress is a bar on a terminal and a few whole lines anywhere else (a log file, a pipe, CI)."""

from __future__ import annotations

import io

from songrec.ops.progress import PlainProgress, progress_bar


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
