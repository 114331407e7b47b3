"""Serving the audio embedding: fused into the track embedding index, and audio files as seeds.

Fusion appends an audio block to every catalogue row's embedding: the row's audio vector (a unit vector)
times `weight * sqrt(d_ref)` when a scanned file names that track, zeros otherwise; the files no
catalogue track matched are appended as local tracks (songrec/audio/local_tracks.py). Rows without audio
then keep their distances to one another exactly, and tracks that sound alike draw together. The fused
vectors are written as a new version of the embedding artifact (every other file hard-linked from the
current one) and promoted, so the bot swaps it in like any retrained model.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from songrec.audio.artifact import FUSION_WEIGHT, AudioArtifact
from songrec.audio.cache import SpectrogramCache
from songrec.audio.library import group_of_tags
from songrec.audio.local_tracks import library_track_id, local_tracks
from songrec.audio.models import embed_spectrograms
from songrec.content.artifacts import MANIFEST, ArtifactStore
from songrec.content.engine import EMBEDDING_KIND, Engine
from songrec.content.index import TrackIndex
from songrec.content.serving_arrays import SERVING_DIR
from songrec.content.serving_parts import CATALOG_FILE, ServingParts
from songrec.settings import artifacts_dir

#: What fusion writes anew rather than hard-linking from the current version.
REWRITTEN = ("index", SERVING_DIR, CATALOG_FILE)
#: Library files whose catalogue tracks stand in for an audio seed.
SEED_NEIGHBOURS = 3
#: Audio block weights fuse_into_embedding chooses from, and how many grouped tracks a choice needs.
WEIGHTS = (0.25, 0.5, 1.0, 2.0, 4.0)
MIN_TRACKS_TO_CHOOSE = 6


@dataclass(frozen=True)
class AudioSeed:
    row: int  # the catalogue row
    title: str  # the library file it came from, as its tags name it
    similarity: float  # cosine of the two audio embeddings


def fused_vectors(
    embedding: np.ndarray, rows: np.ndarray, audio: np.ndarray, weight: float, d_ref: float
) -> np.ndarray:
    """[embedding | audio block]: row `rows[i]` gets `audio[i]` scaled; rows without audio get zeros."""
    block = np.zeros((len(embedding), audio.shape[1]), dtype=np.float32)
    if len(rows):
        block[np.asarray(rows, dtype=np.int64)] = audio * np.float32(weight * np.sqrt(max(d_ref, 1e-12)))
    return np.hstack([np.asarray(embedding, dtype=np.float32), block])


def matched_rows(engine: Engine, audio: AudioArtifact) -> tuple[np.ndarray, np.ndarray]:
    """(catalogue rows, their audio vectors) for the library files that name a catalogue track."""
    rows, picks = [], []
    vectors = audio.vectors
    for i, track_id in enumerate(audio.library["track_id"].tolist()):
        row = engine.row_of(track_id) if isinstance(track_id, str) and track_id else None
        if row is not None and row not in rows:
            rows.append(row)
            picks.append(i)
    return np.asarray(rows, dtype=np.int64), vectors[picks] if picks else np.zeros((0, vectors.shape[1]))


def _precision_at_k(vectors: np.ndarray, groups: list[str], k: int = 5) -> float:
    d = ((vectors[:, None, :] - vectors[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    labels = np.asarray(groups)
    k = min(k, len(groups) - 1)
    return float(np.mean([(labels[np.argsort(d[q])[:k]] == labels[q]).mean() for q in range(len(labels))]))


def choose_weight(
    base: np.ndarray, rows: np.ndarray, vectors: np.ndarray, groups: list[str | None], d_ref: float
) -> tuple[float, dict[str, float]]:
    """The audio block's weight with the best same-album/artist precision@5 among the matched tracks
    (ties: the lighter weight), and every weight's score; FUSION_WEIGHT when too few tracks share a group."""
    keep = [i for i, g in enumerate(groups) if g is not None and sum(1 for h in groups if h == g) > 1]
    if len(keep) < MIN_TRACKS_TO_CHOOSE:
        return FUSION_WEIGHT, {}
    picked_rows, picked, named = rows[keep], vectors[keep], [str(groups[i]) for i in keep]
    scores = {
        f"{w:g}": _precision_at_k(
            fused_vectors(base[picked_rows], np.arange(len(keep)), picked, w, d_ref), named
        )
        for w in (0.0, *WEIGHTS)
    }
    best = max(WEIGHTS, key=lambda w: (scores[f"{w:g}"], -w))
    return best, scores


def fuse_into_embedding(audio: AudioArtifact, root: Path | None = None, base_dims: int | None = None) -> str:
    """A new embedding artifact version with the audio block and the library's local tracks, promoted;
    returns its version.

    The block's weight is chosen on the library itself (choose_weight) and kept in the manifest. Fusing
    again (a new audio model) starts from the same base: the rows and dimensions before the last fusion."""
    root = root or artifacts_dir()
    engine = Engine.load(root)
    before = engine.manifest.info.get("audio_fusion", {})
    dims = base_dims or int(before.get("base_dims", engine.index.dim))
    base_rows = int(before.get("base_rows", engine.size))
    base = np.asarray(engine.embeddings[:base_rows, :dims], dtype=np.float32)
    rows, vectors = matched_rows(engine, audio)
    keep = rows < base_rows
    rows, vectors = rows[keep], vectors[keep]
    weight, scores = choose_weight(base, rows, vectors, matched_groups(engine, audio, rows), engine.d_ref)
    local = local_tracks(engine, audio, base, rows, vectors)
    every_row = np.concatenate([rows, base_rows + np.arange(len(local.catalog))]).astype(np.int64)
    fused = fused_vectors(
        np.vstack([base, local.base]), every_row, np.vstack([vectors, local.audio]), weight, engine.d_ref
    )
    catalog = pd.concat([engine.catalog.iloc[:base_rows], local.catalog], ignore_index=True)
    scaled = np.vstack([engine.scaled[:base_rows], np.repeat(engine.centre[None, :], len(local.catalog), 0)])
    store = ArtifactStore(root, EMBEDDING_KIND)
    source = store.path(engine.version)
    with store.writing() as writer:
        for path in source.rglob("*"):
            relative = path.relative_to(source)
            if path.is_dir() or relative.parts[0] in REWRITTEN or path.name == MANIFEST:
                continue
            target = writer.file(str(relative))
            try:
                os.link(path, target)
            except OSError:
                shutil.copy2(path, target)
        catalog.to_parquet(writer.file(CATALOG_FILE), index=False)
        ServingParts.compute(catalog, scaled).save(writer.path)
        TrackIndex.build(fused, engine.index.config, progress=False).save(writer.path / "index")
        old = engine.manifest
        writer.manifest.config = dict(old.config)
        writer.manifest.metrics = dict(old.metrics)
        writer.manifest.info = {
            **old.info,
            "audio_fusion": {
                "base_version": before.get("base_version", engine.version),
                "audio_version": audio.version,
                "weight": weight,
                "weight_precision_at_5": scores,  # same album/artist, per weight checked ({} = default)
                "rows_with_audio": len(rows),
                "local_tracks": len(local.catalog),
                "base_dims": dims,
                "base_rows": base_rows,
            },
        }
        version = writer.version
    store.promote(version)
    return version


def matched_groups(engine: Engine, audio: AudioArtifact, rows: np.ndarray) -> list[str | None]:
    """Per matched row, what it shares with others: the library file's album/artist tag group."""
    by_id = {}
    for entry in audio.library.itertuples(index=False):
        if isinstance(entry.track_id, str) and entry.track_id:
            album = entry.album if isinstance(entry.album, str) else None
            artist = entry.artist if isinstance(entry.artist, str) else None
            by_id.setdefault(entry.track_id, group_of_tags(album, artist))
    return [by_id.get(engine.track_id(r)) for r in rows]


def refuse_after_training(root: Path) -> str | None:
    """After `songrec train` promoted a new embedding: fuse the current audio artifact into it too.

    None (and nothing done) without the audio extra or an audio artifact."""
    from songrec.audio import missing_modules

    if missing_modules():
        return None
    from songrec.audio.artifact import load_artifact
    from songrec.domain import ArtifactError

    try:
        audio = load_artifact(root)
    except ArtifactError:
        return None
    return fuse_into_embedding(audio, root)


def audio_seeds(
    engine: Engine, audio: AudioArtifact, path: Path, cache: SpectrogramCache, k: int = SEED_NEIGHBOURS
) -> list[AudioSeed]:
    """The catalogue tracks of the library files that sound closest to `path` (UnreadableAudio if broken)."""
    vector = embed_spectrograms(audio.model, [cache.get(path)])[0]
    library = audio.vectors
    norms = np.maximum(np.linalg.norm(library, axis=1) * max(float(np.linalg.norm(vector)), 1e-12), 1e-12)
    similarity = library @ vector / norms
    titles = audio.library["title"].tolist()
    track_ids = audio.library["track_id"].tolist()
    paths = audio.library["path"].tolist()
    out: list[AudioSeed] = []
    for i in np.argsort(-similarity).tolist():
        track_id = track_ids[i]
        row = engine.row_of(track_id) if isinstance(track_id, str) and track_id else None
        if row is None:  # a local track, once fused into the index
            row = engine.row_of(library_track_id(str(paths[i])))
        if row is None or any(s.row == row for s in out):
            continue
        out.append(AudioSeed(row, str(titles[i]), float(similarity[i])))
        if len(out) == k:
            break
    return out


def sounds_close_reason(seed: AudioSeed, reason: str) -> str:
    """E.g. "sounds close to Ring of Fire (from your library); close to Ring of Fire: similar tempo"."""
    return f"sounds close to {seed.title} (from your library); {reason}"
