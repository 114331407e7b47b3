"""Unmatched library files as local tracks of the catalogue: rows appended to the fused embedding.

A scanned file whose tags name no catalogue track still belongs in the index: it becomes a row with its
title and artist from the tags (the file name when there are none), the id LIBRARY_TRACK_PREFIX + a
hash of its path (TrackInfo.from_library), no Spotify audio features and no popularity. Its place in
the base embedding is the one its tags give it: the mean embedding of the catalogue songs of the artist
its tags name (the text branch encodes titles, artists and artist genres; the text model itself lives in
training/, which serving never imports), else the mean of the catalogue tracks of the library files that
sound closest to it, else the catalogue's centre. Its audio block is its own file's audio embedding, so
within the audio block it sits exactly where it sounds.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from songrec.audio.artifact import AudioArtifact
from songrec.content.artist_lookup import find_artist
from songrec.content.engine import Engine
from songrec.domain.records import LIBRARY_TRACK_PREFIX

#: Catalogue tracks (through the library files sounding closest) that place an untagged local track.
SOUND_NEIGHBOURS = 3


@dataclass(frozen=True)
class LocalTracks:
    catalog: pd.DataFrame  # rows in the catalogue's columns
    base: np.ndarray  # (n, base dims): where the tags (or the sound) put each one
    audio: np.ndarray  # (n, audio dims): each file's audio embedding


def library_track_id(path: str) -> str:
    return LIBRARY_TRACK_PREFIX + hashlib.sha1(path.encode("utf-8")).hexdigest()[:16]


def _closest(vectors: np.ndarray, query: np.ndarray, count: int) -> np.ndarray:
    norms = np.maximum(np.linalg.norm(vectors, axis=1) * max(float(np.linalg.norm(query)), 1e-12), 1e-12)
    return np.argsort(-(vectors @ query) / norms)[:count]


def local_tracks(
    engine: Engine, audio: AudioArtifact, base: np.ndarray, matched: np.ndarray, matched_audio: np.ndarray
) -> LocalTracks:
    """The library's unmatched files as catalogue rows; `matched`/`matched_audio`: the matched rows and
    their files' audio vectors (they place untagged files by sound)."""
    library = audio.library
    vectors = audio.vectors
    columns = list(engine.catalog.columns)
    rows: list[dict[str, object]] = []
    places: list[np.ndarray] = []
    picks: list[int] = []
    centre = base.mean(axis=0)
    for i, entry in enumerate(library.itertuples(index=False)):
        if isinstance(entry.track_id, str) and entry.track_id and engine.row_of(entry.track_id) is not None:
            continue
        artist = entry.artist if isinstance(entry.artist, str) and entry.artist else None
        album = entry.album if isinstance(entry.album, str) and entry.album else None
        found = find_artist(engine.titles, artist) if artist else None
        known = [r for r in (found.rows if found is not None else ()) if r < len(base)]  # not local ones
        if known:
            place = base[np.asarray(known, dtype=np.int64)].mean(axis=0)
        elif len(matched):
            place = base[matched[_closest(matched_audio, vectors[i], SOUND_NEIGHBOURS)]].mean(axis=0)
        else:
            place = centre
        row: dict[str, object] = {c: None for c in columns}
        row.update(
            track_id=library_track_id(str(entry.path)),
            name=str(entry.title),
            artists=[artist] if artist else [],
            album=album,
            year=np.nan,
            popularity=np.nan,
            sources="library",
        )
        for flag in ("year_imputed", "popularity_imputed", "explicit_imputed"):
            if flag in row:
                row[flag] = False
        rows.append(row)
        places.append(place)
        picks.append(i)
    dims = vectors.shape[1]
    return LocalTracks(
        catalog=pd.DataFrame(rows, columns=columns),
        base=np.asarray(places, dtype=np.float32).reshape(len(places), base.shape[1]),
        audio=vectors[picks] if picks else np.zeros((0, dims), np.float32),
    )
