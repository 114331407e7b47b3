"""`songrec recommend FILE.ogg`: songs like an audio file, through the library files that sound like it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO

from songrec.audio.artifact import load_artifact
from songrec.audio.cache import SpectrogramCache
from songrec.audio.fusion import audio_seeds, sounds_close_reason
from songrec.domain import ArtifactError, InvalidInput

EXIT_OK, EXIT_NO_MODEL = 0, 4


def recommend_file(engine, path: Path, k: int, filters, as_json: bool, out: IO[str]) -> int:  # engine: Engine
    """Anchors are the catalogue tracks of the closest-sounding scanned files; each pick says which."""
    try:
        audio = load_artifact()
    except ArtifactError:
        print("error: no audio model yet: run `songrec audio scan DIR` and `songrec audio train`", file=out)
        return EXIT_NO_MODEL
    seeds = audio_seeds(engine, audio, path, SpectrogramCache())
    if not seeds:
        raise InvalidInput(
            "none of your scanned audio files is a catalogue track, so an audio file cannot lead anywhere yet: "
            "scan files whose tags name catalogue songs (songrec audio scan DIR)."
        )
    by_row = {s.row: s for s in seeds}
    anchors = [s.row for s in seeds]
    picks = engine.similar(
        anchors, k, filters, exclude_rows=set(anchors), max_per_artist=engine.MAX_PER_ARTIST
    )
    lines = [
        (engine.info(c.row), sounds_close_reason(by_row[c.anchor], engine.reason(c.anchor, c.row)))
        for c in picks
    ]
    if as_json:
        rows = [
            {"rank": i, "track_id": t.track_id, "name": t.name, "artists": list(t.artists), "reason": r}
            for i, (t, r) in enumerate(lines, 1)
        ]
        seeds_out = [
            {"title": s.title, "track_id": engine.track_id(s.row), "similarity": s.similarity} for s in seeds
        ]
        print(
            json.dumps(
                {"seed": str(path), "sounds_like": seeds_out, "suggestions": rows},
                ensure_ascii=False,
                indent=2,
            ),
            file=out,
        )
        return EXIT_OK
    print(f"Songs like {path.name} (it sounds like {', '.join(s.title for s in seeds)})", file=out)
    for i, (track, reason) in enumerate(lines, 1):
        print(f"{i:>2}. {track.name} — {track.artist_line}  {track.listen_at}", file=out)
        print(f"    {reason}", file=out)
    return EXIT_OK
