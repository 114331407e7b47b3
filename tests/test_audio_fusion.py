"""Serving: the audio block and the library's local tracks fused into the embedding index (a new promoted
version), the fusion weight chosen on the library, re-fusing after retraining, and an audio file as a seed
(`songrec recommend FILE.ogg`, and through the service's seed resolver)."""

from __future__ import annotations

import io
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("soundfile")

from songrec.audio.artifact import AudioArtifact, embedding_frame, load_artifact, save_artifact
from songrec.audio.cache import SpectrogramCache
from songrec.audio.fusion import choose_weight, fuse_into_embedding, fused_vectors, refuse_after_training
from songrec.audio.library import LibraryEntry
from songrec.audio.local_tracks import library_track_id
from songrec.audio.models import AudioModelConfig, embed_spectrograms
from songrec.audio.recommend import recommend_file
from songrec.audio.train import TrainItem, TrainOptions, train_model
from songrec.content.engine import Engine
from songrec.service import reasons
from songrec.service.seeds import audio_seed
from tests.support.audio_files import clicks, tone, write

SMALL = AudioModelConfig(dims=8, channels=(4, 8, 8, 8), crop_frames=32, crops_per_file=2)
MATCHED_ROWS = [0, 1, 2, 150, 151, 152]


@dataclass(frozen=True)
class Fused:
    root: Path
    files: list[Path]
    audio: AudioArtifact
    version: str
    engine: Engine


@pytest.fixture(scope="module")
def fused(tmp_path_factory: pytest.TempPathFactory, small_artifact: Path, small_engine: Engine) -> Fused:
    """Six files naming catalogue tracks, a tagged local one by a catalogue artist, an untagged one."""
    tmp = tmp_path_factory.mktemp("fusion")
    root = tmp / "artifacts"
    shutil.copytree(small_artifact, root)
    files = [write(tmp / f"low{i}.ogg", tone(2.0, 200 + 30 * i, seed=i)) for i in range(3)]
    files += [write(tmp / f"click{i}.ogg", clicks(2.0, 0.1 + 0.03 * i, seed=i)) for i in range(3)]
    files += [write(tmp / "demo.ogg", tone(2.0, 260, seed=7)), write(tmp / "untagged.ogg", clicks(2.0, 0.12))]
    specs = [SpectrogramCache(tmp / "cache").get(p) for p in files]
    result = train_model([TrainItem(s) for s in specs], SMALL, TrainOptions(epochs=1, progress=False))
    entries = [
        LibraryEntry(str(p), small_engine.name(r), None, None, True, small_engine.info(r).track_id, 1)
        for p, r in zip(files, MATCHED_ROWS, strict=False)
    ]
    entries.append(LibraryEntry(str(files[6]), "My Demo", "Artist 0", None, True, None, 1))
    entries.append(LibraryEntry(str(files[7]), "untagged", None, None, False, None, 1))
    save_artifact(result, embedding_frame(entries, embed_spectrograms(result.model, specs)), root=root)
    audio = load_artifact(root)
    version = fuse_into_embedding(audio, root)
    return Fused(root, files, audio, version, Engine.load(root))


def test_rows_without_audio_keep_their_distances() -> None:
    base = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    audio = np.eye(2, dtype=np.float32)
    fused = fused_vectors(base, np.asarray([1, 3]), audio, weight=0.5, d_ref=4.0)
    assert fused.shape == (5, 5)
    np.testing.assert_allclose(fused[:, :3], base)
    assert not fused[[0, 2, 4], 3:].any()
    np.testing.assert_allclose(fused[1, 3:], [1.0, 0.0])  # 0.5 * sqrt(4)


def test_the_weight_is_the_one_that_groups_albums_best() -> None:
    rng = np.random.default_rng(0)
    groups = [f"album:{i % 2}" for i in range(12)]  # two albums of six: 5 same-album neighbours each
    base = rng.normal(size=(12, 4)).astype(np.float32)  # says nothing about the albums
    audio = np.eye(2, dtype=np.float32)[[i % 2 for i in range(12)]]  # the albums exactly
    weight, scores = choose_weight(base, np.arange(12), audio, groups, d_ref=4.0)
    assert weight == 2.0 and scores["2"] == 1.0 and scores["0"] < 0.7
    noise = rng.normal(size=(12, 2)).astype(np.float32)
    album_base = audio @ np.eye(2, 4, dtype=np.float32) * 10  # the base already groups them
    assert choose_weight(album_base, np.arange(12), noise, groups, 1.0)[0] == 0.25  # ties: the lightest
    assert choose_weight(base, np.arange(3), audio[:3], [None, None, "a"], 1.0) == (0.5, {})  # too few


def test_fusion_adds_the_audio_block_and_the_local_tracks(fused: Fused, small_engine: Engine) -> None:
    engine, base_dim, size = fused.engine, small_engine.index.dim, small_engine.size
    assert engine.version == fused.version != small_engine.version
    assert engine.index.dim == base_dim + SMALL.dims + 40 == base_dim + fused.audio.vectors.shape[1]
    assert engine.size == size + 2
    info = engine.manifest.info["audio_fusion"]
    assert (info["rows_with_audio"], info["local_tracks"], info["base_rows"]) == (6, 2, size)
    np.testing.assert_allclose(engine.embeddings[:size, :base_dim], small_engine.embeddings, atol=1e-6)
    demo, bare = engine.info(size), engine.info(size + 1)
    assert (demo.name, demo.artists, demo.source) == ("My Demo", ("Artist 0",), "library")
    assert demo.track_id == library_track_id(str(fused.files[6])) and demo.from_library
    assert (bare.name, bare.artists) == ("untagged", ()) and not small_engine.info(0).from_library
    assert demo.spotify_url == "" and demo.listen_at == "(from your library)"  # Spotify does not know it
    assert small_engine.info(0).listen_at == small_engine.info(0).spotify_url.strip() != ""
    artist_rows = [r for r in range(size) if small_engine.info(r).artists == ("Artist 0",)]
    np.testing.assert_allclose(  # placed by its tags: the mean of the artist's catalogue songs
        engine.embeddings[size, :base_dim], small_engine.embeddings[artist_rows].mean(0), atol=1e-4
    )
    assert engine.row_of(demo.track_id) == size and size in engine.titles.search("my demo", 5)
    assert reasons.seed_reason(engine, size, 0) == "sounds close to My Demo"
    assert reasons.seed_reason(engine, 0, size).endswith("(from your library)")
    assert reasons.seed_reason(engine, 0, size).startswith(f"sounds close to {engine.name(0)}")


def test_fusing_again_starts_from_the_same_base(fused: Fused, small_engine: Engine, tmp_path: Path) -> None:
    root = tmp_path / "artifacts"
    shutil.copytree(fused.root, root)
    again = refuse_after_training(root)  # what `songrec train` runs after promoting a new embedding
    engine = Engine.load(root)
    assert again == engine.version != fused.version
    assert engine.index.dim == fused.engine.index.dim and engine.size == small_engine.size + 2  # not stacked
    empty = tmp_path / "no-audio"
    shutil.copytree(fused.root / "embedding", empty / "embedding")
    assert refuse_after_training(empty) is None  # no audio model: nothing done


def test_an_audio_file_as_a_seed(fused: Fused, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SONGREC_HOME", str(tmp_path / "home"))
    import songrec.audio.artifact as artifact
    import songrec.audio.recommend as recommend

    monkeypatch.setattr(recommend, "load_artifact", lambda: fused.audio)
    query = write(tmp_path / "query.ogg", tone(2.0, 215, seed=9))
    out = io.StringIO()
    assert recommend_file(fused.engine, query, 5, None, False, out) == 0
    text = out.getvalue()
    assert text.startswith("Songs like query.ogg") and "sounds close to" in text
    assert text.count("\n") == 1 + 2 * 5

    monkeypatch.setattr(artifact, "load_artifact", lambda: fused.audio)
    seed = audio_seed(fused.engine, f" {query} ")
    assert seed is not None and seed.collection and len(seed.rows) == 3
    assert audio_seed(fused.engine, "Ring of Fire") is None
    assert audio_seed(fused.engine, str(tmp_path / "missing.ogg")) is None  # not a file: a title
