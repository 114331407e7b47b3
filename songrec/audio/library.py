"""What `songrec audio scan` found: one row per readable file, its tags and the catalogue track it names.

Kept as a Parquet table under SONGREC_HOME (audio/library.parquet), the input of `songrec audio train`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from songrec.audio.cache import SpectrogramCache
from songrec.audio.decode import UnreadableAudio
from songrec.audio.tags import Tags, read_tags
from songrec.ops.progress import progress_bar
from songrec.settings import home

COLUMNS = ("path", "title", "artist", "album", "tagged", "track_id", "frames")


def default_library_path() -> Path:
    return home() / "audio" / "library.parquet"


@dataclass(frozen=True)
class LibraryEntry:
    path: str
    title: str
    artist: str | None
    album: str | None
    tagged: bool
    track_id: str | None  # the catalogue track the tags name; None: a local track, from the library
    frames: int  # spectrogram columns (31.25 a second, at most the first minute)


@dataclass
class ScanReport:
    entries: list[LibraryEntry] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # "path: why" for every file skipped

    @property
    def matched(self) -> int:
        return sum(1 for e in self.entries if e.track_id)

    @property
    def unmatched(self) -> int:
        return len(self.entries) - self.matched


def scan(
    files: Iterable[Path],
    cache: SpectrogramCache,
    matcher: Callable[[Tags], str | None] | None = None,
    *,
    progress: bool = True,
) -> ScanReport:
    """Spectrograms (cached) and tags for every file; unreadable ones are reported and skipped."""
    files = list(files)
    report = ScanReport()
    for path in progress_bar(files, desc="audio scan", unit="file", enabled=progress):
        try:
            spec = cache.get(path)
        except UnreadableAudio as exc:
            report.problems.append(str(exc))
            continue
        except OSError as exc:  # vanished or unreadable between listing and reading
            report.problems.append(f"{path}: {exc.strerror or exc}")
            continue
        tags = read_tags(path)
        track_id = matcher(tags) if matcher is not None else None
        report.entries.append(
            LibraryEntry(
                str(path), tags.title, tags.artist, tags.album, tags.tagged, track_id, int(spec.shape[1])
            )
        )
    return report


def save_library(entries: list[LibraryEntry], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame([asdict(e) for e in entries], columns=list(COLUMNS))
    tmp = path.with_suffix(".tmp.parquet")
    frame.to_parquet(tmp, index=False)
    tmp.replace(path)
    return path


def load_library(path: Path) -> list[LibraryEntry]:
    frame = pd.read_parquet(path)
    return [
        LibraryEntry(
            path=str(r.path),
            title=str(r.title),
            artist=r.artist if isinstance(r.artist, str) else None,
            album=r.album if isinstance(r.album, str) else None,
            tagged=bool(r.tagged),
            track_id=r.track_id if isinstance(r.track_id, str) and r.track_id else None,
            frames=int(r.frames),
        )
        for r in frame.itertuples(index=False)
    ]


def group_of_tags(album: str | None, artist: str | None) -> str | None:
    """What tracks that belong together share: the album tag (with its artist), else the artist tag."""
    if album:
        return f"album:{album}|{artist or ''}".casefold()
    return f"artist:{artist}".casefold() if artist else None


def group_of(entry: LibraryEntry) -> str | None:
    return group_of_tags(entry.album, entry.artist)
