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

from songrec.content.artifacts import ArtifactStore
from songrec.content.features import FeatureConfig, FeaturePipeline, model_inputs
from songrec.content.index import IndexConfig, TrackIndex
from songrec.content.serving_parts import ServingParts
from songrec.models.autoencoders import CAEConfig, DeepAEConfig, build_autoencoder
from songrec.settings import device as default_device
from training.autoencoder import FAST, TrainConfig, TrainResult, encode, plot_losses, train_autoencoder
from training.colisting import CoListings, load_colistings
from training.fusion import Fusion
from training.metric_learning import CoListedEncoder, MetricConfig, MetricResult, embed, train_colisted
from training.parallel import Background, Done, seeded, torch_threads, usable_cores
from training.text_embedding import TextConfig, TextEmbedding, fit_text_embedding, text_features

log = logging.getLogger(__name__)

EMBEDDING_KIND = "embedding"
MIN_RECALL = 0.99
MAX_EF = 1024


@dataclass(frozen=True)
class EmbeddingJob:
    model: CAEConfig | DeepAEConfig = field(default_factory=CAEConfig)
    train: TrainConfig = FAST
    features: FeatureConfig = field(default_factory=FeatureConfig)
    index: IndexConfig = field(default_factory=IndexConfig)
    #: The text branch fused with the audio code (None = audio only); see training/text_embedding.py.
    text: TextConfig | None = None
    text_weight: float = 4.0  # weight of the text block against the audio block (each scaled to unit spread)
    #: The co-listing stage (None = off): an encoder trained on which tracks playlists list together.
    colisted: MetricConfig | None = None
    colisted_weight: float = 16.0


#: What `songrec train` (and so `make run`) builds, chosen on playlist quality: the autoencoders and
#: text weight by `songrec arch-search` (reports/search.md), the co-listing stage and its weight on
#: validation playlists carved out of the training playlists (reports/quality.md). Without a playlists
#: file the co-listing stage is skipped with a warning. The dataclass defaults above stay audio-only,
#: so code that builds an EmbeddingJob for planted audio-only data keeps its meaning.
DEFAULT_JOB = EmbeddingJob(
    model=CAEConfig(hidden=16),
    # FAST's recipe on a 20-epoch cycle: the 16-unit CAE passes the paper's 10-unit MSE within a few
    # epochs, and the audio block weighs 1 in 21 of the fused distance.
    train=replace(FAST, epochs=20, patience=20),
    text=TextConfig(),
    text_weight=4.0,
    # 2,000 one-cycle steps score as well as the 3,000 constant-rate steps they replaced
    # (held-out NDCG@100 0.158 vs 0.155) in two thirds of the work.
    colisted=MetricConfig(steps=2000, lr=3e-3, schedule="onecycle"),
    colisted_weight=16.0,
    # Recall@10 stays 0.9999 on the fused 80-d embedding at a third of ef_construction=200's build time.
    index=IndexConfig(ef_construction=64),
)


@dataclass
class FittedEmbedding:
    """Everything one job fits; ``embeddings`` is what the index serves (fused when text is on)."""

    pipeline: FeaturePipeline
    model: Any
    audio: np.ndarray
    result: TrainResult
    text: TextEmbedding | None = None
    colisted: CoListedStage | None = None
    fusion: Fusion | None = None

    @property
    def blocks(self) -> list[np.ndarray]:
        """The fused blocks in order: audio code, text code (if on), co-listing code (if on)."""
        out = [self.audio]
        if self.text is not None:
            out.append(self.text.embeddings)
        if self.colisted is not None:
            out.append(self.colisted.embeddings)
        return out

    @property
    def embeddings(self) -> np.ndarray:
        if self.fusion is None:
            return self.audio
        return self.fusion.transform(self.blocks)


@dataclass
class CoListedStage:
    model: CoListedEncoder
    embeddings: np.ndarray
    result: MetricResult
    info: dict[str, object]


def train_colisted_stage(
    catalog: pd.DataFrame,
    pipeline: FeaturePipeline,
    listings: CoListings,
    text: np.ndarray,
    config: MetricConfig,
    device: str | None,
    progress: bool,
) -> CoListedStage:
    """The co-listing encoder over audio features + text features (training playlists only)."""
    inputs = np.hstack([pipeline.transform(catalog), text]).astype(np.float32)
    model, result = train_colisted(inputs, listings.playlists, config, device=device, progress=progress)
    info = {**listings.summary(), "n_inputs": int(inputs.shape[1])}
    log.info(
        "co-listing stage: %d playlists, %d steps in %.0fs, final loss %s",
        len(listings.playlists), len(result.losses), result.seconds, result.final_loss,
    )  # fmt: skip
    return CoListedStage(model, embed(model, inputs), result, info)


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
    return (pipeline, *train_audio(pipeline.transform(catalog), pipeline.n_features, job, device, progress))


def train_audio(
    features: np.ndarray, n_features: int, job: EmbeddingJob, device: str | None, progress: bool
) -> tuple[Any, np.ndarray, TrainResult]:
    with seeded(job.train.seed):  # reproducible initial weights
        model = build_autoencoder(replace(job.model, n_inputs=n_features))
    result = train_autoencoder(model, features, job.train, device=device, progress=progress)
    return model, encode(model, features), result


def fit_job(
    catalog: pd.DataFrame,
    job: EmbeddingJob,
    device: str | None = None,
    progress: bool = True,
    playlists: Path | None = None,
) -> FittedEmbedding:
    """The audio autoencoder and, as the job asks, the text autoencoder, the co-listing encoder and
    their fusion (``playlists`` overrides the default playlists file).

    On a CPU with two or more cores the co-listing encoder trains on a thread of its own while the
    autoencoders train (each stage on one torch thread): the same models, in about the time of the
    longer part (training/parallel.py says why that stays reproducible).
    """
    device = device or default_device()
    pipeline = FeaturePipeline.fit(catalog, job.features)
    features = pipeline.transform(catalog)
    listings = load_colistings(catalog, playlists) if job.colisted is not None else None
    text_inputs = None
    if job.text is not None or listings is not None:
        text_inputs = text_features(catalog, job.text or TextConfig(), progress=progress)
    alongside = torch.device(device).type == "cpu" and usable_cores() >= 2
    with torch_threads(device, 1 if alongside else None):
        colisted: Background[CoListedStage] | Done[CoListedStage] | None = None
        if listings is not None and job.colisted is not None and text_inputs is not None:
            stage = (catalog, pipeline, listings, text_inputs[1], job.colisted, device, progress)
            if alongside:
                colisted = Background("co-listing stage", train_colisted_stage, *stage)
            else:
                colisted = Done(train_colisted_stage(*stage))
        model, audio, result = train_audio(features, pipeline.n_features, job, device, progress)
        fitted = FittedEmbedding(pipeline, model, audio, result)
        weights = [1.0]
        if job.text is not None:
            fitted.text = fit_text_embedding(
                catalog, job.text, device=device, progress=progress, features=text_inputs
            )
            weights.append(job.text_weight)
        if colisted is not None:
            fitted.colisted = colisted.result()
            weights.append(job.colisted_weight)
    if len(weights) > 1:
        fitted.fusion = Fusion.fit(fitted.blocks, weights)
    return fitted


def _refuse_audio(root: Path) -> None:
    """An operator's audio artifact is fused into the new embedding too (songrec.audio, when installed)."""
    import importlib.util

    if importlib.util.find_spec("songrec.audio") is None:
        return
    from songrec.audio.fusion import refuse_after_training

    fused = refuse_after_training(root)
    if fused is not None:
        log.info("audio block fused into the new embedding: %s", fused)


def build_embedding_artifact(
    catalog: pd.DataFrame,
    root: Path,
    job: EmbeddingJob | None = None,
    catalog_hash: str = "",
    promote: bool = True,
    progress: bool = True,
    playlists: Path | None = None,
) -> EmbeddingBuild:
    job = job or DEFAULT_JOB
    device = default_device()
    catalog = catalog.reset_index(drop=True)
    fitted = fit_job(catalog, job, device, progress, playlists)
    pipeline, model, embeddings, result = fitted.pipeline, fitted.model, fitted.embeddings, fitted.result
    index = TrackIndex.build(embeddings, job.index, progress=progress)
    recall = index.recall_at(10)
    if recall < MIN_RECALL:
        # A denser graph and a wider beam buy recall; wider fused embeddings may also need the beam
        # widened again (cheap: no rebuild), up to MAX_EF.
        log.warning("recall@10 %.4f < %.2f: rebuilding with a denser graph", recall, MIN_RECALL)
        wider = replace(job.index, M=job.index.M * 2, ef=job.index.ef * 2, ef_construction=400)
        index = TrackIndex.build(embeddings, wider, progress=progress)
        recall = index.recall_at(10)
        while recall < MIN_RECALL and index.config.ef * 2 <= MAX_EF:
            log.warning(
                "recall@10 %.4f < %.2f: widening the beam to ef=%d", recall, MIN_RECALL, index.config.ef * 2
            )
            index = index.with_ef(index.config.ef * 2)
            recall = index.recall_at(10)
    index.build_table(progress=progress)  # at the beam width it will serve with
    store = ArtifactStore(root, EMBEDDING_KIND)
    metrics = {**result.metrics(), "recall_at_10": round(recall, 4), "n_tracks": len(catalog)}
    if fitted.text is not None:
        metrics.update(
            text_best_val_mse=fitted.text.result.best_val_mse,
            text_seconds=round(fitted.text.result.seconds, 2),
        )
    if fitted.colisted is not None:
        metrics.update(
            colisted_seconds=round(fitted.colisted.result.seconds, 2),
            colisted_final_loss=fitted.colisted.result.final_loss,
        )
    with store.writing() as writer:
        catalog.to_parquet(writer.file("catalog.parquet"), index=False)
        pipeline.save(writer.file("pipeline.joblib"))
        torch.save(model.cpu().state_dict(), writer.file("model.pt"))
        index.save(writer.path / "index")
        # What serving would otherwise derive at every start (sklearn, a regex per row): memory-mapped.
        ServingParts.compute(catalog, pipeline.base.transform(model_inputs(catalog))).save(writer.path)
        plot_losses(result, writer.file("loss.png"), f"{type(model).__name__} on {len(catalog):,} tracks")
        writer.file("history.json").write_text(json.dumps(asdict(result)))
        if fitted.text is not None:
            fitted.text.save(writer.path / "text")
        if fitted.colisted is not None:
            torch.save(fitted.colisted.model.cpu().state_dict(), writer.file("colisted.pt"))
        writer.manifest.config = {
            "model": asdict(model.config),
            "train": asdict(job.train),
            "features": asdict(job.features),
            "index": asdict(index.config),
            "text": asdict(job.text) if job.text is not None else None,
            "fusion": fitted.fusion.as_dict() if fitted.fusion is not None else None,
            "colisted": asdict(job.colisted) if fitted.colisted is not None else None,
        }
        writer.manifest.metrics = metrics
        writer.manifest.info = {
            "catalog_hash": catalog_hash,
            "device": device,
            "feature_names": pipeline.feature_names,
            "embedding_dim": int(embeddings.shape[1]),
            "audio_dim": int(fitted.audio.shape[1]),
            "colisted": fitted.colisted.info if fitted.colisted is not None else None,
        }
    if promote:
        store.promote(writer.version)
        _refuse_audio(root)
    log.info("embedding artifact %s: %s", writer.version, metrics)
    return EmbeddingBuild(writer.version, store.path(writer.version), metrics)
