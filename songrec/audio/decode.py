"""Audio files to mono float samples at one rate, reading only the first minute.

A three-hour file must cost what a one-minute file costs: soundfile reads `frames=N` from the start and
never decodes the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import gcd
from pathlib import Path

import numpy as np

from songrec.domain import InvalidInput

SAMPLE_RATE = 16_000
#: The study's window: only the first 60 s of each song are read.
MAX_SECONDS = 60.0
AUDIO_SUFFIXES = (".ogg", ".oga", ".mp3", ".flac", ".wav")


@dataclass(frozen=True)
class Clip:
    """The first MAX_SECONDS of a file, mono at SAMPLE_RATE, and how long the whole file is."""

    samples: np.ndarray  # float32, shape (n,)
    file_seconds: float

    @property
    def seconds(self) -> float:
        return len(self.samples) / SAMPLE_RATE


class UnreadableAudio(InvalidInput):
    """A file that cannot be decoded, or holds no sound: str() names the path."""


def audio_files(directory: Path, limit: int | None = None) -> list[Path]:
    """Audio files under `directory` (recursively), in path order, at most `limit`."""
    found = sorted(
        p for p in Path(directory).rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES
    )
    return found[:limit] if limit is not None else found


def read_clip(path: Path, max_seconds: float = MAX_SECONDS, rate: int = SAMPLE_RATE) -> Clip:
    """The first `max_seconds` of `path`, mono, resampled to `rate`; UnreadableAudio when it cannot be."""
    import soundfile as sf

    try:
        with sf.SoundFile(str(path)) as handle:
            source_rate = int(handle.samplerate)
            total = int(handle.frames) if handle.frames and handle.frames > 0 else 0
            wanted = int(max_seconds * source_rate)
            data = handle.read(frames=wanted, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError, ValueError, TypeError) as exc:
        raise UnreadableAudio(f"{path}: not readable as audio ({_short(exc)})") from exc
    if data.size == 0:
        raise UnreadableAudio(f"{path}: holds no sound (0 seconds)")
    mono = data.mean(axis=1)
    if not np.all(np.isfinite(mono)):
        mono = np.nan_to_num(mono, nan=0.0, posinf=0.0, neginf=0.0)
    return Clip(resample(mono, source_rate, rate).astype(np.float32), (total or len(mono)) / source_rate)


def resample(samples: np.ndarray, source: int, target: int) -> np.ndarray:
    """Polyphase resampling (scipy ships with scikit-learn, so no extra dependency)."""
    if source == target:
        return samples
    from scipy.signal import resample_poly

    g = gcd(source, target)
    return resample_poly(samples, target // g, source // g)


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:160]
