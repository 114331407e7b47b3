"""Versioned artifact directories with a manifest and an atomically swapped "current" pointer.

Layout: `<root>/<kind>/<version>/` (files + manifest.json) and `<root>/<kind>/CURRENT` holding
the version name. A version is written under a temporary name and renamed into place, then
CURRENT is replaced with os.replace, so a reader sees the old model or the new one, never half
of either, even if the writer dies (or the disk fills) midway.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from songrec.domain import ArtifactError

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
POINTER = "CURRENT"


@dataclass
class Manifest:
    version: str
    kind: str
    created_at: str
    files: dict[str, str] = field(default_factory=dict)  # relative path -> sha256
    config: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(self.__dict__, indent=2, sort_keys=True, default=str)

    @classmethod
    def read(cls, directory: Path) -> Manifest:
        try:
            data = json.loads((directory / MANIFEST).read_text())
            return cls(**data)
        except (OSError, ValueError, TypeError) as exc:
            raise ArtifactError(f"{directory.name}: unreadable manifest ({exc})") from exc


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def new_version(prefix: str = "") -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{prefix}{stamp}"


class ArtifactStore:
    """All versions of one kind of artifact ("embedding", "ranker", ...) under one root."""

    def __init__(self, root: Path, kind: str) -> None:
        self.kind = kind
        self.directory = Path(root) / kind
        self.directory.mkdir(parents=True, exist_ok=True)

    @contextmanager
    def writing(self, version: str | None = None) -> Iterator[ArtifactWriter]:
        """Yield a writer on a temporary folder; on success it becomes `<version>/`.

        Any exception (a full disk included) removes the temporary folder and leaves CURRENT alone.
        """
        version = version or new_version()
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{version}-", dir=self.directory))
        writer = ArtifactWriter(tmp, version, self.kind)
        try:
            yield writer
            writer.finish()
            final = self.directory / version
            os.replace(tmp, final)
            _fsync_dir(self.directory)
            writer.path = final
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def versions(self) -> list[str]:
        """Complete versions, oldest first (names sort by time)."""
        return sorted(p.name for p in self.directory.iterdir() if p.is_dir() and (p / MANIFEST).exists())

    def current_version(self) -> str | None:
        try:
            value = (self.directory / POINTER).read_text().strip()
        except FileNotFoundError:
            return None
        return value or None

    def promote(self, version: str) -> None:
        """Point CURRENT at `version` atomically (after checking it is complete)."""
        self.verify(version)
        tmp = self.directory / f".{POINTER}.tmp"
        with tmp.open("w") as handle:
            handle.write(version + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.directory / POINTER)
        _fsync_dir(self.directory)
        log.info("%s: current is now %s", self.kind, version)

    def path(self, version: str) -> Path:
        return self.directory / version

    def verify(self, version: str) -> Manifest:
        """Check that every file in the manifest is present with the recorded checksum."""
        directory = self.path(version)
        if not directory.is_dir():
            raise ArtifactError(f"{self.kind} artifact {version} does not exist")
        manifest = Manifest.read(directory)
        for name, digest in manifest.files.items():
            path = directory / name
            if not path.exists():
                raise ArtifactError(f"{self.kind} artifact {version}: {name} is missing")
            if _sha256(path) != digest:
                raise ArtifactError(f"{self.kind} artifact {version}: {name} is corrupt (checksum mismatch)")
        return manifest

    def resolve_good(self) -> tuple[str, Manifest, list[str]]:
        """The current version if intact, else the newest intact one; plus what was skipped and why."""
        problems: list[str] = []
        candidates = self.versions()[::-1]
        current = self.current_version()
        if current:
            candidates = [current, *[v for v in candidates if v != current]]
        for version in candidates:
            try:
                return version, self.verify(version), problems
            except ArtifactError as exc:
                problems.append(str(exc))
                log.warning("skipping %s", exc)
        raise ArtifactError(
            f"no usable {self.kind} artifact in {self.directory}"
            + (f" ({'; '.join(problems)})" if problems else "")
            + ": run `songrec train` to build one"
        )

    def prune(self, keep: int = 5) -> None:
        """Drop old versions, never the current one."""
        current = self.current_version()
        for version in self.versions()[:-keep]:
            if version != current:
                shutil.rmtree(self.path(version), ignore_errors=True)


class ArtifactWriter:
    def __init__(self, path: Path, version: str, kind: str) -> None:
        self.path = path
        self.version = version
        self.manifest = Manifest(version=version, kind=kind, created_at=datetime.now(UTC).isoformat())

    def file(self, name: str) -> Path:
        """Path to write `name` to; it is checksummed when the artifact is finished."""
        target = self.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def finish(self) -> None:
        for path in sorted(self.path.rglob("*")):
            if path.is_file() and path.name != MANIFEST:
                with path.open("rb") as handle:
                    os.fsync(handle.fileno())
                self.manifest.files[str(path.relative_to(self.path))] = _sha256(path)
        target = self.path / MANIFEST
        with target.open("w") as handle:
            handle.write(self.manifest.to_json())
            handle.flush()
            os.fsync(handle.fileno())
