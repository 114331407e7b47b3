"""Strings and lists of strings packed into two flat numpy arrays, saved as .npy and memory-mapped.

Serving needs per-row text (titles, artists, ids) for the whole catalogue. Building Python objects
for every row at start costs seconds and tens of MiB; a UTF-8 blob plus offsets loads in
milliseconds (allow_pickle=False: nothing executable in an artifact) and decodes one row when asked.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import overload

import numpy as np

#: Ends every packed string, so the whole column decodes with one split (it never occurs in catalogue text).
_END = "\x00"


def mapped(path: Path) -> np.ndarray:
    """A saved array, memory-mapped read-only, as a plain ndarray view: np.memmap's subclass hooks
    (__array_finalize__ on every index and slice) cost more than the read itself on the per-row paths."""
    return np.load(path, mmap_mode="r", allow_pickle=False).view(np.ndarray)


@dataclass(frozen=True, eq=False)
class StringColumn(Sequence[str]):
    """A read-only sequence of strings: UTF-8 bytes (each string followed by NUL) and start offsets."""

    blob: np.ndarray  # uint8
    starts: np.ndarray  # int64 (n + 1,): byte offset of each string, then the blob's length
    _list: list[str] | None = field(default=None, repr=False)

    @classmethod
    def pack(cls, values: Iterable[str]) -> StringColumn:
        encoded = [str(v).encode("utf-8") + b"\x00" for v in values]
        starts = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(e) for e in encoded], out=starts[1:])
        blob = np.frombuffer(b"".join(encoded), dtype=np.uint8)
        return cls(blob=blob, starts=starts)

    def save(self, directory: Path, name: str) -> None:
        np.save(directory / f"{name}.bytes.npy", np.asarray(self.blob, dtype=np.uint8))
        np.save(directory / f"{name}.starts.npy", np.asarray(self.starts, dtype=np.int64))

    @classmethod
    def load(cls, directory: Path, name: str) -> StringColumn | None:
        """The saved column, memory-mapped; None when it is not there."""
        blob_path, starts_path = directory / f"{name}.bytes.npy", directory / f"{name}.starts.npy"
        if not (blob_path.is_file() and starts_path.is_file()):
            return None
        blob = mapped(blob_path)
        starts = mapped(starts_path)
        if blob.dtype != np.uint8 or starts.dtype != np.int64 or len(starts) < 1 or starts[-1] != len(blob):
            return None
        return cls(blob=blob, starts=starts)

    def __len__(self) -> int:
        return len(self.starts) - 1

    @overload
    def __getitem__(self, i: int) -> str: ...
    @overload
    def __getitem__(self, i: slice) -> list[str]: ...
    def __getitem__(self, i: int | slice) -> str | list[str]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if self._list is not None:
            return self._list[i]
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(i)
        start, end = int(self.starts[i]), int(self.starts[i + 1])
        return bytes(self.blob[start : end - 1]).decode("utf-8")

    def __iter__(self) -> Iterator[str]:
        return iter(self.to_list())

    def to_list(self) -> list[str]:
        """Every string as a Python list, decoded once (one split) and kept."""
        if self._list is None:
            parts = bytes(self.blob).decode("utf-8").split(_END)
            values = parts[:-1] if len(parts) == len(self) + 1 else [self[i] for i in range(len(self))]
            object.__setattr__(self, "_list", values)
        return self._list  # type: ignore[return-value]


@dataclass(frozen=True, eq=False)
class ListColumn:
    """Per row, a list of strings (a track's artists): one flat StringColumn and each row's first item."""

    items: StringColumn
    starts: np.ndarray  # int64 (rows + 1,): index into `items` of each row's first string

    @classmethod
    def pack(cls, rows: Iterable[Sequence[str]]) -> ListColumn:
        flat: list[str] = []
        starts = [0]
        for row in rows:
            flat.extend(str(v) for v in row)
            starts.append(len(flat))
        return cls(items=StringColumn.pack(flat), starts=np.asarray(starts, dtype=np.int64))

    def save(self, directory: Path, name: str) -> None:
        self.items.save(directory, f"{name}.items")
        np.save(directory / f"{name}.rows.npy", np.asarray(self.starts, dtype=np.int64))

    @classmethod
    def load(cls, directory: Path, name: str) -> ListColumn | None:
        items = StringColumn.load(directory, f"{name}.items")
        path = directory / f"{name}.rows.npy"
        if items is None or not path.is_file():
            return None
        starts = mapped(path)
        if starts.dtype != np.int64 or len(starts) < 1 or starts[-1] != len(items):
            return None
        return cls(items=items, starts=starts)

    def __len__(self) -> int:
        return len(self.starts) - 1

    def row(self, i: int) -> tuple[str, ...]:
        start, end = int(self.starts[i]), int(self.starts[i + 1])
        return tuple(self.items[j] for j in range(start, end))

    def firsts(self) -> list[str]:
        """Each row's first string, "" for an empty row."""
        items = self.items.to_list()
        starts = np.asarray(self.starts)
        return [
            items[s] if e > s else "" for s, e in zip(starts[:-1].tolist(), starts[1:].tolist(), strict=True)
        ]
