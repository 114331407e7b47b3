"""Audio written in code for the audio tests: tones, noise and rhythmic clicks, with or without tags."""

from __future__ import annotations

from pathlib import Path

import numpy as np

RATE = 8_000


def tone(seconds: float, freq: float, rate: int = RATE, seed: int = 0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    noise = np.random.default_rng(seed).normal(0, 0.01, len(t))
    return (0.4 * np.sin(2 * np.pi * freq * t) + noise).astype(np.float32)


def clicks(seconds: float, every: float, rate: int = RATE, seed: int = 0) -> np.ndarray:
    """Noise bursts on a beat: a rhythmic pattern with a broad spectrum."""
    rng = np.random.default_rng(seed)
    out = rng.normal(0, 0.005, int(seconds * rate)).astype(np.float32)
    burst = int(0.03 * rate)
    for start in range(0, len(out) - burst, max(int(every * rate), 1)):
        out[start : start + burst] += rng.normal(0, 0.5, burst).astype(np.float32)
    return out


def write(path: Path, samples: np.ndarray, rate: int = RATE, **tags: str) -> Path:
    import soundfile as sf

    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), samples, rate)
    if tags:
        import mutagen

        found = mutagen.File(str(path), easy=True)
        if found.tags is None:
            found.add_tags()
        for key, value in tags.items():
            found.tags[key] = value
        found.save()
    return path


def style_library(folder: Path, per_style: int = 6, seconds: float = 8.0) -> list[Path]:
    """Two styles a spectrogram tells apart: low tones and fast clicks, tagged by album."""
    files = []
    for i in range(per_style):
        files.append(
            write(
                folder / f"low{i}.flac",
                tone(seconds, 180 + 25 * i, seed=i),
                title=f"Low {i}",
                artist="Tone Band",
                album="Low",
            )
        )
        files.append(
            write(
                folder / f"click{i}.ogg",
                clicks(seconds, 0.12 + 0.02 * i, seed=i),
                title=f"Click {i}",
                artist="Beat Crew",
                album="Clicks",
            )
        )
    return files
