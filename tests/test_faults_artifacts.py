"""Damaged, missing and half-written artifacts: the service keeps serving the last good version and says
so (Service.status, `songrec status`), and says plainly when nothing usable is left. A full disk while
an artifact is written never leaves a half-written version or a CURRENT pointing at one."""

from __future__ import annotations

import asyncio
import errno
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from songrec.cli import main as cli
from songrec.content.artifacts import ArtifactStore, new_version
from songrec.content.engine import EMBEDDING_KIND, Engine
from songrec.content.index import TrackIndex
from songrec.domain import ServiceUnavailable
from songrec.service import Service, ServiceConfig
from tests.support.factories import make_catalog
from tests.support.hostile_check import logging_restored

CONFIG = ServiceConfig(seed=0, cpu_workers=2)


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    with logging_restored():
        yield


@pytest.fixture
def home(small_artifact: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A SONGREC_HOME whose artifacts are a private copy of the small test artifact."""
    home = tmp_path / "home"
    shutil.copytree(small_artifact, home / "artifacts", symlinks=True)
    monkeypatch.setenv("SONGREC_HOME", str(home))
    monkeypatch.delenv("SONGREC_DB", raising=False)
    return home


def store_of(home: Path) -> ArtifactStore:
    return ArtifactStore(home / "artifacts", EMBEDDING_KIND)


def copy_version(store: ArtifactStore, source: str) -> str:
    """A new, intact version (a copy of `source`), promoted to CURRENT."""
    version = new_version()
    shutil.copytree(store.path(source), store.path(version))
    manifest = store.path(version) / "manifest.json"
    manifest.write_text(manifest.read_text().replace(source, version))
    store.promote(version)
    return version


def corrupt(store: ArtifactStore, version: str, name: str = "catalog.parquet") -> None:
    path = store.path(version) / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


async def status_output(capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """`songrec status` as run from a shell (in a thread: it runs its own event loop)."""
    code = await asyncio.to_thread(cli.main, ["status"])
    out, err = capsys.readouterr()
    return code, out + err


async def test_corrupt_current_falls_back_and_says_why(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = store_of(home)
    good = store.current_version()
    assert good is not None
    bad = copy_version(store, good)
    corrupt(store, bad)

    service = await Service.open(db_path=tmp_path / "db.sqlite3", artifacts=home / "artifacts", config=CONFIG)
    try:
        status = await service.status()
        assert status["model_version"] == good and status["current_version"] == bad
        assert f"serving last good version {good} because" in status["serving_note"]
        assert "corrupt (checksum mismatch)" in status["serving_note"]
        assert await service.recommend(1, ["Song 12"], k=2)  # still serving
    finally:
        await service.close()

    code, out = await status_output(capsys)
    assert code == cli.EXIT_OK
    assert f"warning: serving last good version {good} because" in out and "catalog.parquet is corrupt" in out
    assert "recall@10" in out and "catalogue 602 tracks" in out


async def test_missing_file_and_hot_reload_keep_the_last_good_version(home: Path, tmp_path: Path) -> None:
    store = store_of(home)
    first = store.current_version()
    assert first is not None
    service = await Service.open(db_path=tmp_path / "db.sqlite3", artifacts=home / "artifacts", config=CONFIG)
    try:
        second = copy_version(store, first)
        assert await service.reload_engine() == second  # a good new version is picked up
        third = copy_version(store, first)
        (store.path(third) / "index" / "index.bin").unlink()  # promoted, then a file went missing
        assert await service.reload_engine() == second  # the newest intact one, not the broken current
        status = await service.status()
        assert status["current_version"] == third
        assert "index/index.bin is missing" in status["serving_note"]
        assert await service.recommend(1, ["Song 12"], k=2)
    finally:
        await service.close()


async def test_nothing_usable_is_a_clear_message(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = store_of(home)
    only = store.current_version()
    assert only is not None
    corrupt(store, only, "pipeline.joblib")
    with pytest.raises(ServiceUnavailable, match="songrec train"):
        await Service.open(db_path=tmp_path / "db.sqlite3", artifacts=home / "artifacts", config=CONFIG)
    assert not (tmp_path / "db.sqlite3").exists(), "no database is created for a service that cannot serve"

    code, out = await status_output(capsys)
    assert code == cli.EXIT_NO_MODEL
    assert "nothing usable" in out and "pipeline.joblib is corrupt" in out and "songrec train" in out
    assert await asyncio.to_thread(cli.main, ["recommend", "Song 12"]) == cli.EXIT_NO_MODEL
    assert "songrec train" in capsys.readouterr().err

    shutil.rmtree(home / "artifacts")
    code, out = await status_output(capsys)
    assert code == cli.EXIT_NO_MODEL and "songrec train" in out


def _no_space(*args: object, **kwargs: object) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_full_disk_while_writing_an_artifact_leaves_nothing_half_written(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from training.autoencoder import TrainConfig
    from training.embedding import EmbeddingJob, build_embedding_artifact

    store = store_of(home)
    before_versions, before_current = store.versions(), store.current_version()

    real_save = TrackIndex.save

    def save_then_fill_the_disk(self: TrackIndex, directory: Path) -> None:
        real_save(self, directory)  # some files land...
        with (directory / "index.bin").open("ab") as handle:
            handle.write(b"\0" * 1024)
        _no_space()  # ...then the disk is full

    monkeypatch.setattr(TrackIndex, "save", save_then_fill_the_disk)
    job = EmbeddingJob(train=TrainConfig(epochs=1, seed=0))
    with pytest.raises(OSError) as caught:
        build_embedding_artifact(make_catalog(120, seed=9), home / "artifacts", job, progress=False)
    assert caught.value.errno == errno.ENOSPC
    monkeypatch.undo()

    assert store.versions() == before_versions and store.current_version() == before_current
    leftovers = [p.name for p in store.directory.iterdir() if p.name.startswith(".tmp-")]
    assert leftovers == [], f"half-written versions left behind: {leftovers}"
    assert Engine.load(home / "artifacts").version == before_current


def test_full_disk_while_promoting_keeps_the_old_pointer(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = store_of(home)
    old = store.current_version()
    assert old is not None
    version = new_version()
    shutil.copytree(store.path(old), store.path(version))
    manifest = store.path(version) / "manifest.json"
    manifest.write_text(manifest.read_text().replace(old, version))

    monkeypatch.setattr(os, "fsync", _no_space)  # the CURRENT.tmp write cannot be made durable
    with pytest.raises(OSError):
        store.promote(version)
    monkeypatch.undo()
    assert store.current_version() == old
    assert Engine.load(home / "artifacts").version == old

    with store.writing() as writer:  # the next write after space is freed works, tmp files and all
        writer.file("note.txt").write_text("ok")
        writer.manifest.metrics = {"n_tracks": 0}
    assert writer.path.name in store.versions()
