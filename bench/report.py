"""Where every benchmark's figures go: a markdown file under reports/ and the terminal."""

from __future__ import annotations

from pathlib import Path


def write_report(text: str, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(text)
