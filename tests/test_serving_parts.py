"""The track table and title index saved at training time answer exactly as the ones built from the
catalogue at load (what older artifacts still do), and a start with them reads no catalogue."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

from songrec.content.artifacts import ArtifactStore
from songrec.content.engine import Engine
from songrec.content.lookup import TITLES_DIR, TitleIndex, catalogue_tracks
from songrec.content.packed import ListColumn, StringColumn
from songrec.content.serving_arrays import SERVING_DIR
from songrec.content.track_table import TRACKS_DIR
from songrec.domain import AmbiguousTrack, InvalidInput, TrackNotFound


def _copy(small_artifact: Path) -> tuple[Path, object]:
    store = ArtifactStore(small_artifact, "embedding")
    version, manifest, _ = store.resolve_good()
    copy = Path(tempfile.mkdtemp()) / version
    shutil.copytree(store.path(version), copy)
    return copy, manifest


def _answer(titles: TitleIndex, query: str) -> object:
    try:
        return titles.resolve(query)
    except (InvalidInput, AmbiguousTrack, TrackNotFound) as exc:
        return (type(exc).__name__, str(exc), [t.track_id for t in getattr(exc, "candidates", []) or []])


def test_string_columns_round_trip(tmp_path: Path) -> None:
    values = ["", "a", "Ünïcødé — 東京", "x" * 500, "tab\tand space "]
    StringColumn.pack(values).save(tmp_path, "s")
    loaded = StringColumn.load(tmp_path, "s")
    assert loaded is not None
    assert [loaded[i] for i in range(len(values))] == values
    assert loaded.to_list() == values and loaded[-1] == values[-1]
    rows = [["a", "b"], [], ["Ć"]]
    ListColumn.pack(rows).save(tmp_path, "l")
    lists = ListColumn.load(tmp_path, "l")
    assert lists is not None
    assert [lists.row(i) for i in range(3)] == [tuple(r) for r in rows]
    assert lists.firsts() == ["a", "", "Ć"]


def test_saved_tracks_and_titles_match_the_catalogue(small_artifact: Path) -> None:
    engine = Engine.load(small_artifact)
    blob = engine.tracks.ids.blob
    assert isinstance(blob.base, np.memmap), "loaded from the artifact, memory-mapped"
    assert type(blob) is np.ndarray, "a plain view: no memmap hooks on every row read"
    assert "catalog" not in engine.__dict__, "a start with saved parts reads no catalogue"
    catalog = engine.catalog
    assert list(engine.tracks) == list(catalogue_tracks(catalog))
    built = TitleIndex.build(catalog, engine.tracks)
    saved = engine.titles
    assert list(saved.vocabulary) == list(built.vocabulary)
    assert list(saved.combined) == built.combined and list(saved.base_titles) == built.base_titles
    assert dict(saved.row_of_id) == dict(built.row_of_id)
    assert np.array_equal(saved.popularity, built.popularity)
    names = [str(n) for n in catalog["name"].iloc[::37]]
    queries = [*names, *(n[:4] for n in names), *(n + " x" for n in names), "the", "lo", "zzqx", ""]
    for query in queries:
        assert saved.autocomplete(query) == built.autocomplete(query), query
        assert _answer(saved, query) == _answer(built, query), query


@pytest.mark.parametrize("missing", [TRACKS_DIR, TITLES_DIR])
def test_an_artifact_without_saved_parts_builds_the_same(
    small_artifact: Path, small_engine: Engine, missing: str
) -> None:
    copy, manifest = _copy(small_artifact)
    shutil.rmtree(copy / SERVING_DIR / missing)
    engine = Engine.from_directory(copy, manifest)  # type: ignore[arg-type]
    assert list(engine.tracks) == list(small_engine.tracks)
    assert np.array_equal(engine.popularity, small_engine.popularity)
    assert np.array_equal(engine.genre, small_engine.genre)
    assert np.array_equal(engine.decade, small_engine.decade)
    assert np.array_equal(engine.cold_pool, small_engine.cold_pool)
    for row in (0, 3, engine.size - 1):
        assert engine.reason(row, (row + 1) % engine.size) == small_engine.reason(
            row, (row + 1) % engine.size
        )
        query = engine.info(row).name
        assert engine.titles.autocomplete(query) == small_engine.titles.autocomplete(query)


def test_track_records_are_made_once_and_the_cache_stays_bounded(
    small_artifact: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import songrec.content.engine as engine_module

    engine = Engine.load(small_artifact)
    first = engine.info(3)
    assert first == engine.tracks[3] and engine.info(3) is first, "the same record, made once"
    assert engine.name(3) == first.name
    monkeypatch.setattr(engine_module, "INFO_CACHE_ROWS", 5)
    for row in range(12):
        assert engine.info(row) == engine.tracks[row]
    assert len(engine._infos) <= 5, "bounded"  # noqa: SLF001
