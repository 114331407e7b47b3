from __future__ import annotations

import pytest

from songrec.content.artifacts import ArtifactStore
from songrec.domain import ArtifactError


def write(store: ArtifactStore, version: str, text: str) -> None:
    with store.writing(version) as w:
        w.file("model.txt").write_text(text)
        w.file("sub/extra.bin").write_bytes(b"\x00\x01")
        w.manifest.metrics = {"score": len(text)}


def test_write_promote_and_verify(tmp_path) -> None:
    store = ArtifactStore(tmp_path, "embedding")
    assert store.current_version() is None
    write(store, "v1", "one")
    assert store.versions() == ["v1"] and store.current_version() is None
    store.promote("v1")
    version, manifest, problems = store.resolve_good()
    assert (version, problems) == ("v1", [])
    assert set(manifest.files) == {"model.txt", "sub/extra.bin"} and manifest.metrics == {"score": 3}


def test_a_failed_write_leaves_nothing_and_keeps_current(tmp_path) -> None:
    store = ArtifactStore(tmp_path, "embedding")
    write(store, "v1", "one")
    store.promote("v1")
    with pytest.raises(OSError), store.writing("v2") as w:
        w.file("model.txt").write_text("half")
        raise OSError(28, "No space left on device")
    assert store.versions() == ["v1"] and store.current_version() == "v1"
    assert not [p for p in store.directory.iterdir() if p.name.startswith(".tmp")]


def test_corrupt_current_falls_back_to_last_good(tmp_path) -> None:
    store = ArtifactStore(tmp_path, "embedding")
    write(store, "v1", "one")
    write(store, "v2", "two")
    store.promote("v2")
    (store.path("v2") / "model.txt").write_text("garbage")
    version, _, problems = store.resolve_good()
    assert version == "v1" and "corrupt" in problems[0]
    (store.path("v1") / "sub" / "extra.bin").unlink()
    with pytest.raises(ArtifactError, match="songrec train"):
        store.resolve_good()


def test_promote_refuses_incomplete_versions(tmp_path) -> None:
    store = ArtifactStore(tmp_path, "embedding")
    with pytest.raises(ArtifactError, match="does not exist"):
        store.promote("nope")
    write(store, "v1", "one")
    (store.path("v1") / "manifest.json").write_text("{not json")
    with pytest.raises(ArtifactError, match="manifest"):
        store.promote("v1")


def test_prune_keeps_current(tmp_path) -> None:
    store = ArtifactStore(tmp_path, "embedding")
    for v in ("v1", "v2", "v3", "v4"):
        write(store, v, v)
    store.promote("v1")
    store.prune(keep=2)
    assert store.versions() == ["v1", "v3", "v4"]
