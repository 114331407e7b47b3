"""The audio model as a versioned artifact (kind "audio"), like every other model: written whole,
checksummed, promoted atomically, and the newest intact one loaded when CURRENT is damaged.

Files: model.pt (the weights), library.parquet (every scanned file, its catalogue track and its
embedding, columns e0..), loss.png; the manifest's config holds the AudioModelConfig and the fusion
weight.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from songrec.audio.library import LibraryEntry
from songrec.audio.models import AudioModelConfig, build
from songrec.audio.train import TrainResult
from songrec.content.artifacts import ArtifactStore, Manifest
from songrec.settings import artifacts_dir

AUDIO_KIND = "audio"
#: How much the audio block weighs against a track's current embedding in the fused index
#: (bench/audio.py; the audio block is a unit vector, the embedding's typical neighbour gap sets the scale).
FUSION_WEIGHT = 0.5


@dataclass(frozen=True)
class AudioArtifact:
    version: str
    manifest: Manifest
    model: nn.Module
    config: AudioModelConfig
    library: pd.DataFrame  # path, title, artist, album, tagged, track_id, frames, e0..e{dims-1}

    @property
    def vectors(self) -> np.ndarray:
        columns = [c for c in self.library.columns if c.startswith("e") and c[1:].isdigit()]
        return self.library[columns].to_numpy(dtype=np.float32)

    @property
    def fusion_weight(self) -> float:
        return float(self.manifest.config.get("fusion_weight", FUSION_WEIGHT))


def embedding_frame(entries: list[LibraryEntry], vectors: np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame([e.__dict__ for e in entries])
    dims = pd.DataFrame(vectors, columns=[f"e{i}" for i in range(vectors.shape[1])])
    return pd.concat([frame.reset_index(drop=True), dims], axis=1)


def save_artifact(
    result: TrainResult,
    library: pd.DataFrame,
    loss_png: bytes | None = None,
    root: Path | None = None,
    promote: bool = True,
) -> str:
    """Write a new audio artifact version and (by default) make it the current one."""
    store = ArtifactStore(root or artifacts_dir(), AUDIO_KIND)
    with store.writing() as writer:
        buffer = io.BytesIO()
        torch.save({k: v.detach().cpu() for k, v in result.model.state_dict().items()}, buffer)
        writer.file("model.pt").write_bytes(buffer.getvalue())
        library.to_parquet(writer.file("library.parquet"), index=False)
        if loss_png is not None:
            writer.file("loss.png").write_bytes(loss_png)
        writer.manifest.config = {**result.config.to_dict(), "fusion_weight": FUSION_WEIGHT}
        writer.manifest.metrics = result.metrics()
        writer.manifest.info = {"files": len(library), "matched": int(library["track_id"].notna().sum())}
        version = writer.version
    if promote:
        store.promote(version)
    store.prune(keep=5)
    return version


def load_artifact(root: Path | None = None) -> AudioArtifact:
    """The current audio artifact; ArtifactError (with "run `songrec audio train`") when there is none."""
    store = ArtifactStore(root or artifacts_dir(), AUDIO_KIND)
    version, manifest, _ = store.resolve_good()
    path = store.path(version)
    params = {k: v for k, v in manifest.config.items() if k != "fusion_weight"}
    config = AudioModelConfig.from_dict(params)
    model = build(config)
    state = torch.load(path / "model.pt", map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    model.eval()
    return AudioArtifact(version, manifest, model, config, pd.read_parquet(path / "library.parquet"))
