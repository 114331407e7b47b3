"""Parquet cache of a built catalogue: the frame plus its issues and hash in the file's metadata."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from songrec.catalog.merge import CatalogueBuild, content_hash
from songrec.catalog.schema import COLUMNS, conform
from songrec.catalog.validate import RowIssue
from songrec.domain import CatalogError

METADATA_KEY = b"songrec.catalogue"
FORMAT_VERSION = 1


def save_catalogue(build: CatalogueBuild, path: str | Path) -> Path:
    """Write ``build`` to ``path`` atomically (temp file in the same folder, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = conform(build.frame)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    meta = {
        "format": FORMAT_VERSION,
        "content_hash": build.content_hash,
        "inputs": build.inputs,
        "issues": [asdict(issue) for issue in build.issues],
    }
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), METADATA_KEY: json.dumps(meta)})
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        pq.write_table(table, tmp, compression="zstd")
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the cache is an ordinary file
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def read_catalogue(path: str | Path) -> tuple[CatalogueBuild, bool]:
    """Read a catalogue parquet; returns (build, written_by_songrec).

    Files songrec wrote carry their issues and hash; any other parquet must have the canonical
    columns and is hashed here (the caller re-validates it).
    """
    path = Path(path)
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise CatalogError(f"Could not read the catalogue parquet {path}: {exc}") from None
    raw_meta = (table.schema.metadata or {}).get(METADATA_KEY)
    frame = table.to_pandas()
    missing = [c for c in COLUMNS if c not in frame.columns and not c.endswith("_imputed") and c != "sources"]
    if missing:
        raise CatalogError(f"{path} is not a songrec catalogue: it lacks the column(s) {', '.join(missing)}.")
    frame["artists"] = [_as_list(v) for v in frame["artists"].to_numpy()]
    frame = conform(frame)
    if raw_meta is None:
        return CatalogueBuild(frame, [], content_hash(frame), [str(path)]), False
    meta = json.loads(raw_meta)
    issues = [RowIssue(**item) for item in meta.get("issues", [])]
    build = CatalogueBuild(
        frame, issues, meta.get("content_hash") or content_hash(frame), meta.get("inputs", [])
    )
    return build, True


def _as_list(value: object) -> list[str]:
    """pyarrow hands list cells back as numpy arrays; the schema promises plain lists."""
    if value is None:
        return []
    if isinstance(value, np.ndarray | list | tuple):
        return [str(v) for v in value]
    if isinstance(value, str):
        return [value]
    if pd.isna(value):  # type: ignore[arg-type]
        return []
    return [str(value)]
