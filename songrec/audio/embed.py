"""Embeddings of audio files with the served audio model: `songrec audio embed` and the audio seed path.

No training happens here: the vectors come from the current audio artifact, the same one the bot serves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from torch import nn

from songrec.audio.cache import SpectrogramCache
from songrec.audio.decode import UnreadableAudio
from songrec.audio.models import embed_spectrograms, output_dims
from songrec.ops.progress import progress_bar


@dataclass
class Embedded:
    paths: list[str] = field(default_factory=list)
    vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    problems: list[str] = field(default_factory=list)

    def frame(self) -> pd.DataFrame:
        """`path` then one float column per dimension (e0, e1, ...): readable by any tool."""
        dims = self.vectors.shape[1] if self.vectors.ndim == 2 else 0
        frame = pd.DataFrame(self.vectors, columns=[f"e{i}" for i in range(dims)])
        frame.insert(0, "path", self.paths)
        return frame


def embed_files(
    model: nn.Module, files: list[Path], cache: SpectrogramCache, *, progress: bool = True
) -> Embedded:
    """One vector per readable file; the others are named in `problems` and skipped."""
    out = Embedded()
    specs: list[np.ndarray] = []
    for path in progress_bar(files, desc="audio embed", unit="file", enabled=progress):
        try:
            specs.append(cache.get(path))
        except (UnreadableAudio, OSError) as exc:
            out.problems.append(str(exc))
            continue
        out.paths.append(str(path))
    out.vectors = embed_spectrograms(model, specs) if specs else np.zeros((0, output_dims(model)), np.float32)
    return out
