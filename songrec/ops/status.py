"""What `songrec status` reports: every artifact kind's versions, what is served and why, and the database.

Read-only and cheap: manifests and the CURRENT pointers, plus a read-only open of the database. Nothing
is loaded into memory, so it answers in a moment even next to a running bot.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from songrec.content.artifacts import MANIFEST, POINTER, ArtifactStore, Manifest
from songrec.domain import ArtifactError

RUNS_SHOWN = 5


def current_pointer(root: Path, kind: str) -> str | None:
    """The version CURRENT names, without creating anything."""
    try:
        return (Path(root) / kind / POINTER).read_text().strip() or None
    except OSError:
        return None


def serving_note(
    serving: str | None, current: str | None, problems: list[str] | tuple[str, ...]
) -> str | None:
    """Why the served version is not simply CURRENT, in one sentence; None when it is."""
    if serving is None:
        return None
    if problems:
        return f"serving last good version {serving} because {'; '.join(problems)}"
    if current is None:
        return f"serving {serving}: no version is marked current"
    if serving != current:
        return f"serving {serving}; {current} is marked current and not loaded yet"
    return None


@dataclass(frozen=True)
class ArtifactStatus:
    kind: str
    current: str | None
    versions: tuple[str, ...]
    serving: str | None
    manifest: Manifest | None
    problems: tuple[str, ...] = ()
    error: str | None = None  # nothing usable at all

    @property
    def note(self) -> str | None:
        return serving_note(self.serving, self.current, self.problems)


def artifact_kinds(root: Path) -> list[str]:
    """Kinds present under the artifacts root (embedding first: it is the one that must exist)."""
    root = Path(root)
    kinds = set()
    if root.is_dir():
        for path in root.iterdir():
            if not path.is_dir() or path.name.startswith("."):
                continue
            if (path / POINTER).exists() or any(
                (p / MANIFEST).exists() for p in path.iterdir() if p.is_dir()
            ):
                kinds.add(path.name)
    return sorted(kinds, key=lambda k: (k != "embedding", k))


def artifact_status(root: Path, kind: str) -> ArtifactStatus:
    store = ArtifactStore(root, kind)
    current, versions = store.current_version(), tuple(store.versions())
    try:
        serving, manifest, problems = store.resolve_good()
    except ArtifactError as exc:
        return ArtifactStatus(kind, current, versions, None, None, error=str(exc))
    return ArtifactStatus(kind, current, versions, serving, manifest, tuple(problems))


@dataclass
class DatabaseStatus:
    path: str  # the SQLite file, or the PostgreSQL URL with its password hidden
    exists: bool
    bytes_on_disk: int = 0  # the database file plus its WAL, or PostgreSQL's database size
    schema_version: int | None = None
    training_runs: list[Any] = field(default_factory=list)  # TrainingRunRecord, newest first
    error: str | None = None


def _is_url(location: str) -> bool:
    return "://" in location


async def _read_database(location: str, runs: int) -> DatabaseStatus:
    from songrec.domain import StoreError
    from songrec.store import open_store

    if _is_url(location) and not location.startswith("sqlite:"):
        from songrec.settings import redact_url

        status = DatabaseStatus(redact_url(location), True)
    else:
        path = Path(location.removeprefix("sqlite://")) if _is_url(location) else Path(location)
        status = DatabaseStatus(str(path), path.exists())
        if not status.exists:
            return status
        status.bytes_on_disk = sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
    try:
        store = await open_store(location, readonly=True, busy_deadline_s=2.0)
    except StoreError as exc:
        status.error = str(exc)
        return status
    try:
        status.schema_version = await store.schema_version()
        status.training_runs = await store.last_training_runs(runs)
        if _is_url(location) and not location.startswith("sqlite:"):
            status.bytes_on_disk = await store.database_size()
    except StoreError as exc:
        status.error = str(exc)
    finally:
        await store.close()
    return status


def database_status(location: str | Path, runs: int = RUNS_SHOWN) -> DatabaseStatus:
    """`location` is a SQLite path or a database URL (SONGREC_DATABASE_URL)."""
    return asyncio.run(_read_database(str(location), runs))


def _when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC") if ts else "?"


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def format_artifact(status: ArtifactStatus) -> list[str]:
    lines = [
        f"{status.kind}: {len(status.versions)} version(s), current {status.current or 'none'}, "
        f"serving {status.serving or 'nothing'}"
    ]
    if status.error:
        lines.append(f"  nothing usable: {status.error}")
        return lines
    if status.note:
        lines.append(f"  warning: {status.note}")
    manifest = status.manifest
    if manifest is not None:
        m = manifest.metrics
        if status.kind == "ranker":
            lines.append("  " + ranker_line(m))
            return lines
        n_tracks = m.get("n_tracks")
        parts = [f"model {manifest.config.get('model', {}).get('kind', '?')}"]
        if n_tracks is not None:
            parts.append(f"catalogue {n_tracks:,} tracks")
        if m.get("recall_at_10") is not None:
            parts.append(f"index recall@10 {m['recall_at_10']}")
        if m.get("best_val_mse") is not None:
            parts.append(f"val MSE {m['best_val_mse']:.5f}")
        if m.get("seconds") is not None:
            parts.append(f"trained on {m.get('device', manifest.info.get('device', '?'))} in {m['seconds']}s")
        lines.append("  " + ", ".join(parts))
    return lines


def ranker_line(m: dict[str, Any]) -> str:
    """The learning loop's ranker: validation AUC (blend, classifier, CF), weights, data, time."""

    def num(key: str) -> str:
        value = m.get(key)
        return f"{value:.3f}" if isinstance(value, int | float) else "?"

    return (
        f"val AUC {num('val_auc')} (classifier {num('val_auc_like')}, CF {num('val_auc_cf')}), "
        f"weights like {num('like_weight')} cf {num('cf_weight')}, "
        f"{m.get('train_rows', '?')} votes from {m.get('users', '?')} users, "
        f"trained on {m.get('device', '?')} in {m.get('seconds', '?')}s"
    )


def format_database(status: DatabaseStatus) -> list[str]:
    if not status.exists:
        return [f"database {status.path}: not created yet (the bot or `songrec chat` creates it)"]
    lines = [
        f"database {status.path}: {_size(status.bytes_on_disk)}, schema version {status.schema_version or '?'}"
    ]
    if status.error:
        lines.append(f"  could not read it: {status.error}")
        return lines
    if not status.training_runs:
        lines.append("  no training runs recorded yet")
    for run in status.training_runs:
        promoted = ", promoted" if run.promoted else ""
        lines.append(
            f"  training run {run.id}: {run.status}{promoted}, started {_when(run.started_at)}, "
            f"artifact {run.artifact_version or '-'}" + (f" — {run.reason}" if run.reason else "")
        )
    return lines
