"""Where songrec keeps its data: one home directory, overridable from the environment."""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    """SONGREC_HOME holds the catalogue cache, artifacts and the database (default ~/.songrec)."""
    path = Path(os.environ.get("SONGREC_HOME", Path.home() / ".songrec")).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def data_dir() -> Path | None:
    """The shared datasets folder named by SONGREC_DATA, if it exists."""
    value = os.environ.get("SONGREC_DATA")
    if not value:
        return None
    path = Path(value).expanduser()
    return path if path.is_dir() else None


def artifacts_dir() -> Path:
    path = home() / "artifacts"
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_path() -> Path:
    return Path(os.environ.get("SONGREC_DB", home() / "songrec.sqlite3"))


def device() -> str:
    """cuda when a GPU is there, else cpu."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
