"""The embedding job: catalogue -> fitted features -> autoencoder -> HNSW index -> artifact.

Everything the serving side needs travels in one versioned artifact (catalogue snapshot,
pipeline, weights, index, metrics), so serving never re-derives anything from raw data.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from songrec.artifacts import ArtifactStore
from songrec.config import device as default_device
from songrec.features import FeatureConfig, FeaturePipeline
from songrec.index import IndexConfig, TrackIndex
from songrec.models.autoencoders import CAEConfig, DeepAEConfig, build_autoencoder
from training.autoencoder import FAST, TrainConfig, TrainResult, encode, plot_losses, train_autoencoder
from training.fusion import Fusion
from training.text_embedding import TextConfig, TextEmbedding, fit_text_embedding

log = logging.getLogger(__name__)

EMBEDDING_KIND = "embedding"
MIN_RECALL = 0.99


@dataclass(frozen=True)
class EmbeddingJob:
    model: CAEConfig | DeepAEConfig = field(default_factory=CAEConfig)
    train: TrainConfig = FAST
    features: FeatureConfig = field(default_factory=FeatureConfig)
    index: IndexConfig = field(default_factory=IndexConfig)
    #: The text branch fused with the audio code (None = audio only); see training/text_embedding.py.
    text: TextConfig | None = None
    text_weight: float = 4.0  # weight of the text block against the audio block (each scaled to unit spread)


#: What `songrec train` (and so `make run`) builds, chosen by `songrec search` on playlist quality
#: (reports/search.md, reports/quality.md). The dataclass defaults above stay audio-only, so code
#: that builds an EmbeddingJob for planted audio-only data keeps its meaning.
DEFAULT_JOB = EmbeddingJob(model=CAEConfig(hidden=16), text=TextConfig(), text_weight=4.0)


@dataclass
class FittedEmbedding:
    """Everything one job fits; ``embeddings`` is what the index serves (fused when text is on)."""

    pipeline: FeaturePipeline
    model: Any
    audio: np.ndarray
    result: TrainResult
    text: TextEmbedding | None = None
    fusion: Fusion | None = None

    @property
    def embeddings(self) -> np.ndarray:
        if self.text is None or self.fusion is None:
            return self.audio
        return self.fusion.transform([self.audio, self.text.embeddings])


@dataclass(frozen=True)
class EmbeddingBuild:
    version: str
    path: Path
    metrics: dict[str, Any]


def fit_embeddings(
    catalog: pd.DataFrame, job: EmbeddingJob, device: str | None = None, progress: bool = True
) -> tuple[FeaturePipeline, Any, np.ndarray, Any]:
    """Fit the pipeline and the autoencoder; return them with every track's embedding."""
    pipeline = FeaturePipeline.fit(catalog, job.features)
    features = pipeline.transform(catalog)
    torch.manual_seed(job.train.seed)  # reproducible initial weights
    model = build_autoencoder(replace(job.model, n_inputs=pipeline.n_features))
    result = train_autoencoder(model, features, job.train, device=device, progress=progress)
    return pipeline, model, encode(model, features), result


def fit_job(
    catalog: pd.DataFrame, job: EmbeddingJob, device: str | None = None, progress: bool = True
) -> FittedEmbedding:
    """The audio autoencoder and, when ``job.text`` is set, the text autoencoder and their fusion."""
    pipeline, model, audio, result = fit_embeddings(catalog, job, device, progress)
    fitted = FittedEmbedding(pipeline, model, audio, result)
    if job.text is not None:
        fitted.text = fit_text_embedding(catalog, job.text, device=device, progress=progress)
        fitted.fusion = Fusion.fit([audio, fitted.text.embeddings], [1.0, job.text_weight])
    return fitted


def build_embedding_artifact(
    catalog: pd.DataFrame,
    root: Path,
    job: EmbeddingJob | None = None,
    catalog_hash: str = "",
    promote: bool = True,
    progress: bool = True,
) -> EmbeddingBuild:
    job = job or DEFAULT_JOB
    device = default_device()
    catalog = catalog.reset_index(drop=True)
    fitted = fit_job(catalog, job, device, progress)
    pipeline, model, embeddings, result = fitted.pipeline, fitted.model, fitted.embeddings, fitted.result
    index = TrackIndex.build(embeddings, job.index, progress=progress)
    recall = index.recall_at(10)
    if recall < MIN_RECALL:
        # A denser graph and a wider beam buy recall; one retry is enough in practice.
        log.warning("recall@10 %.4f < %.2f: rebuilding with a denser graph", recall, MIN_RECALL)
        wider = replace(job.index, M=job.index.M * 2, ef=job.index.ef * 2, ef_construction=400)
        index = TrackIndex.build(embeddings, wider, progress=progress)
        recall = index.recall_at(10)
    store = ArtifactStore(root, EMBEDDING_KIND)
    metrics = {**result.metrics(), "recall_at_10": round(recall, 4), "n_tracks": len(catalog)}
    if fitted.text is not None:
        metrics.update(
            text_best_val_mse=fitted.text.result.best_val_mse,
            text_seconds=round(fitted.text.result.seconds, 2),
        )
    with store.writing() as writer:
        catalog.to_parquet(writer.file("catalog.parquet"), index=False)
        pipeline.save(writer.file("pipeline.joblib"))
        torch.save(model.cpu().state_dict(), writer.file("model.pt"))
        index.save(writer.path / "index")
        plot_losses(result, writer.file("loss.png"), f"{type(model).__name__} on {len(catalog):,} tracks")
        writer.file("history.json").write_text(json.dumps(asdict(result)))
        if fitted.text is not None:
            fitted.text.save(writer.path / "text")
        writer.manifest.config = {
            "model": asdict(model.config),
            "train": asdict(job.train),
            "features": asdict(job.features),
            "index": asdict(index.config),
            "text": asdict(job.text) if job.text is not None else None,
            "fusion": fitted.fusion.as_dict() if fitted.fusion is not None else None,
        }
        writer.manifest.metrics = metrics
        writer.manifest.info = {
            "catalog_hash": catalog_hash,
            "device": device,
            "feature_names": pipeline.feature_names,
            "embedding_dim": int(embeddings.shape[1]),
            "audio_dim": int(fitted.audio.shape[1]),
        }
    if promote:
        store.promote(writer.version)
    log.info("embedding artifact %s: %s", writer.version, metrics)
    return EmbeddingBuild(writer.version, store.path(writer.version), metrics)
