"""Where a command writes its file: an --out checked before any work, so a bad path is one clear line.

`map` and `export-embeddings` used to fail after minutes of work with a traceback (an empty path, a
folder, a read-only place); this module turns each of those into an InvalidInput naming the flag.
"""

from __future__ import annotations

import os
from pathlib import Path

from songrec.domain import InvalidInput


def output_file(
    raw: str | os.PathLike[str] | None, flag: str, *, default: Path, suffixes: tuple[str, ...]
) -> Path:
    """The file to write for ``flag``: ``default`` when not given, DIR/<default's name> for a folder,
    the first of ``suffixes`` added when the name has none. Refused: an empty value, a suffix not in
    ``suffixes``, and a place that cannot be written."""
    if raw is None:
        path = default
    else:
        text = os.fspath(raw)
        if not text.strip():
            raise InvalidInput(f"{flag} is empty: give a file name such as {default.name}.")
        path = Path(text).expanduser()
        if path.is_dir() or text.endswith(("/", os.sep)):
            path = path / default.name
        elif not path.suffix:
            path = path.with_suffix(suffixes[0])
    if path.suffix.lower() not in suffixes:
        raise InvalidInput(f"{flag} {path}: the file name must end in {' or '.join(suffixes)}.")
    if path.is_dir():
        raise InvalidInput(f"{flag} {path} is a folder: give a file name.")
    check_writable(path, flag)
    return path


def check_writable(path: Path, flag: str) -> None:
    """Create the parent folder and make sure a file can be written there, without leaving one behind."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInput(f"{flag} {path}: cannot create the folder {path.parent} ({_why(exc)}).") from exc
    if not path.parent.is_dir():
        raise InvalidInput(f"{flag} {path}: {path.parent} is not a folder.")
    target = path if path.exists() else path.parent
    if not os.access(target, os.W_OK):
        raise InvalidInput(f"{flag} {path}: cannot write there (permission denied).")


def write_error(path: Path, flag: str, exc: OSError) -> InvalidInput:
    """An OSError while writing, as the one-line error the command prints."""
    return InvalidInput(f"{flag} {path}: could not write the file ({_why(exc)}).")


def _why(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__
