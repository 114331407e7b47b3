"""Title, artist and album from a file's tags (mutagen), with the file name as the last resort title."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Tags:
    title: str
    artist: str | None
    album: str | None
    tagged: bool  # False: the title is the file name, nothing was read from tags


def _first(values: object) -> str | None:
    if isinstance(values, list | tuple):
        values = values[0] if values else None
    text = " ".join(str(values).split()) if values is not None else ""
    return text or None


def read_tags(path: Path) -> Tags:
    """The file's tags; a file without any (or with unreadable ones) gets its name as the title."""
    import mutagen

    title = artist = album = None
    try:
        found = mutagen.File(str(path), easy=True)
    except (mutagen.MutagenError, OSError, ValueError, KeyError, IndexError, TypeError):
        found = None
    if found is not None and found.tags is not None:
        title, artist, album = (_first(found.tags.get(k)) for k in ("title", "artist", "album"))
        if artist is None:
            artist = _first(found.tags.get("albumartist"))
    fallback = Path(path).stem.replace("_", " ").strip() or Path(path).name
    return Tags(title or fallback, artist, album, tagged=title is not None)
