"""Shared checks for the hostile-input tests: a call either answers or fails with a clear SongrecError,
and the database changes only when the call succeeded."""

from __future__ import annotations

import contextlib
import logging
import re
import sqlite3
import sys
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from songrec.domain import SongrecError

TABLES = (
    "users",
    "feedback",
    "suggestions",
    "sessions",
    "session_members",
    "session_tracks",
    "guild_settings",
)
#: A clear answer is a sentence: some words, no traceback, not an echo of a 10,000-character input.
MAX_MESSAGE = 1500


def row_counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in TABLES}


def clear_message_problem(message: str) -> str | None:
    """Why `message` is not a clear answer for a user, or None when it is."""
    if not re.search(r"[A-Za-z]{3,}", message):
        return "no words"
    if "Traceback" in message or 'File "' in message:
        return "a traceback"
    if len(message) > MAX_MESSAGE:
        return f"{len(message)} characters long"
    if "\x00" in message:
        return "a null byte"
    return None


@dataclass
class Outcome:
    ok: bool
    value: Any = None
    error: BaseException | None = None


@dataclass
class Findings:
    """Collects every problem instead of stopping at the first, so one run shows them all."""

    problems: list[str] = field(default_factory=list)
    calls: int = 0
    errors: int = 0

    async def call(self, what: str, awaitable: Awaitable[Any]) -> Outcome:
        self.calls += 1
        try:
            return Outcome(True, await awaitable)
        except SongrecError as error:
            self.errors += 1
            problem = clear_message_problem(str(error))
            if problem:
                self.problems.append(f"{what}: unclear error ({problem}): {str(error)[:200]!r}")
            return Outcome(False, error=error)
        except Exception as error:  # the bug this suite exists to find
            self.problems.append(f"{what}: unhandled {type(error).__name__}: {str(error)[:200]}")
            return Outcome(False, error=error)

    def expect(self, condition: bool, what: str) -> None:
        if not condition:
            self.problems.append(what)

    def unchanged(self, before: dict[str, int], after: dict[str, int], what: str) -> None:
        changed = {t: (before[t], after[t]) for t in before if before[t] != after[t]}
        if changed:
            self.problems.append(f"{what}: a failed call wrote to the database {changed}")

    def assert_clean(self) -> None:
        assert not self.problems, f"{len(self.problems)} problems:\n" + "\n".join(self.problems[:40])


@contextlib.contextmanager
def logging_restored() -> Iterator[None]:
    """Undo what an in-process `songrec.cli.main` does to logging (a root handler on this test's stderr)."""
    root = logging.getLogger()
    handlers, level, hook = list(root.handlers), root.level, sys.excepthook
    try:
        yield
    finally:
        for handler in [h for h in root.handlers if h not in handlers]:
            root.removeHandler(handler)
        root.setLevel(level)
        sys.excepthook = hook
        logging.captureWarnings(False)
