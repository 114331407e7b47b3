"""Spectrograms cached on disk under SONGREC_HOME, keyed on the file's path, size, mtime and the
spectrogram settings: a second scan of an unchanged library decodes nothing."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from songrec.audio.decode import MAX_SECONDS, read_clip
from songrec.audio.spectrogram import SPEC_VERSION, log_mel
from songrec.settings import home


def default_cache_dir() -> Path:
    return home() / "audio" / "spectrograms"


class SpectrogramCache:
    """`get(path)` -> the file's (N_MELS, frames) log-mel spectrogram, computed once per file version."""

    def __init__(self, directory: Path | None = None, max_seconds: float = MAX_SECONDS) -> None:
        self.directory = Path(directory) if directory is not None else default_cache_dir()
        self.max_seconds = max_seconds
        self.hits = 0
        self.misses = 0

    def key(self, path: Path) -> str:
        stat = Path(path).stat()
        text = f"{Path(path).resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{SPEC_VERSION}|{self.max_seconds}"
        return hashlib.sha1(text.encode("utf-8")).hexdigest()

    def location(self, path: Path) -> Path:
        key = self.key(path)
        return self.directory / key[:2] / f"{key}.npy"

    def get(self, path: Path) -> np.ndarray:
        """The cached spectrogram, or a fresh one (then stored); UnreadableAudio for a broken file."""
        target = self.location(path)
        if target.is_file():
            try:
                spec = np.load(target, allow_pickle=False)
                self.hits += 1
                return spec.astype(np.float32)
            except (OSError, ValueError):
                target.unlink(missing_ok=True)  # a torn write: compute it again
        spec = log_mel(read_clip(path, self.max_seconds).samples)
        self.misses += 1
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp.npy")
        np.save(tmp, spec.astype(np.float16), allow_pickle=False)
        os.replace(tmp, target)
        return spec
