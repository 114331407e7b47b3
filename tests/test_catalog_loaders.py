"""Each catalogue loader on rows written here, good and malformed, in the real files' column layouts."""

from __future__ import annotations

import csv
import gzip
import zipfile
from pathlib import Path

import pytest

from songrec.catalog import (
    RowIssue,
    load_artist_genres,
    load_generic_csv,
    load_high_low,
    load_hit_predictor,
    load_kaggle,
    load_tidytuesday,
)
from songrec.catalog.loaders import detect_schema, parse_artist_list, split_artists
from songrec.catalog.schema import COLUMNS
from songrec.domain import CatalogError

ID = "6f807x0ima9a1j3VPbc7VN"  # 22 chars
ID2 = "0r7CVbZTWZgbTCYdfa2P31"
ID3 = "1dtKN6wwlolkM8XZy2y9C1"
ID4 = "5hjsmSnUefdUqzsDogisiX"

FEATURES = {
    "acousticness": "0.102",
    "danceability": "0.748",
    "energy": "0.916",
    "duration_ms": "194754",
    "instrumentalness": "0",
    "valence": "0.518",
    "tempo": "122.036",
    "liveness": "0.0653",
    "loudness": "-2.634",
    "speechiness": "0.0583",
    "key": "6",
    "mode": "1",
}
KAGGLE_HEADER = [
    "valence",
    "year",
    "acousticness",
    "artists",
    "danceability",
    "duration_ms",
    "energy",
    "explicit",
    "id",
    "instrumentalness",
    "key",
    "liveness",
    "loudness",
    "mode",
    "name",
    "popularity",
    "release_date",
    "speechiness",
    "tempo",
]
TT_HEADER = [
    "track_id",
    "track_name",
    "track_artist",
    "track_popularity",
    "track_album_id",
    "track_album_name",
    "track_album_release_date",
    "playlist_name",
    "playlist_id",
    "playlist_genre",
    "playlist_subgenre",
    "danceability",
    "energy",
    "key",
    "loudness",
    "mode",
    "speechiness",
    "acousticness",
    "instrumentalness",
    "liveness",
    "valence",
    "tempo",
    "duration_ms",
]
HIT_HEADER = [
    "track",
    "artist",
    "uri",
    "danceability",
    "energy",
    "key",
    "loudness",
    "mode",
    "speechiness",
    "acousticness",
    "instrumentalness",
    "liveness",
    "valence",
    "tempo",
    "duration_ms",
    "time_signature",
    "chorus_hit",
    "sections",
    "target",
]
HIGH_LOW_HEADER = [
    "energy",
    "tempo",
    "danceability",
    "playlist_genre",
    "loudness",
    "liveness",
    "valence",
    "track_artist",
    "time_signature",
    "speechiness",
    "track_popularity",
    "track_href",
    "uri",
    "track_album_name",
    "playlist_name",
    "analysis_url",
    "track_id",
    "track_name",
    "track_album_release_date",
    "instrumentalness",
    "track_album_id",
    "mode",
    "key",
    "duration_ms",
    "acousticness",
    "id",
    "playlist_subgenre",
    "type",
    "playlist_id",
]


def write_csv(path: Path, header: list[str], rows: list[dict[str, str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", newline="", encoding="utf-8") as handle:  # type: ignore[operator]
        writer = csv.DictWriter(handle, fieldnames=header, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return path


def kaggle_row(**over: str) -> dict[str, str]:
    row = {
        **FEATURES,
        "year": "1999",
        "artists": "['Band']",
        "explicit": "1",
        "id": ID,
        "name": "Song",
        "popularity": "55",
        "release_date": "1999-05-01",
    }
    row.update(over)
    return row


def tt_row(**over: str) -> dict[str, str]:
    row = {
        **FEATURES,
        "track_id": ID,
        "track_name": "Song",
        "track_artist": "Ed Sheeran",
        "track_popularity": "66",
        "track_album_id": "2oCs0DGTsRO98Gh5ZSl2Cx",
        "track_album_name": "Album",
        "track_album_release_date": "2019-06-14",
        "playlist_name": "Pop Remix",
        "playlist_id": "37i9dQZF1DXcZDD7cfEKhW",
        "playlist_genre": "pop",
        "playlist_subgenre": "dance pop",
    }
    row.update(over)
    return row


def hit_row(**over: str) -> dict[str, str]:
    row = {
        **FEATURES,
        "track": "Jealous Kind Of Fella",
        "artist": "Garland Green",
        "uri": f"spotify:track:{ID}",
        "time_signature": "4",
        "chorus_hit": "32.9",
        "sections": "9",
        "target": "1",
    }
    row.update(over)
    return row


def high_low_row(**over: str) -> dict[str, str]:
    row = {k: v for k, v in tt_row().items() if k in HIGH_LOW_HEADER}
    row.update({"time_signature": "4", "track_href": "h", "uri": f"spotify:track:{ID}", "analysis_url": "a"})
    row.update({"id": ID, "type": "audio_features"})
    row.update(over)
    return row


def issues_by_row(issues: list[RowIssue]) -> dict[int, list[RowIssue]]:
    out: dict[int, list[RowIssue]] = {}
    for issue in issues:
        out.setdefault(issue.row, []).append(issue)
    return out


# ----------------------------------------------------------------------------- Kaggle


def test_kaggle_good_rows_map_to_canonical_schema(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "data.csv",
        KAGGLE_HEADER,
        [
            kaggle_row(artists="[\"Guns N' Roses\", 'Earth, Wind & Fire']", name='It\'s, a "song"'),
            kaggle_row(id=ID2, artists="['Solo']", explicit="0", key="-1", year="1921", release_date="1921"),
        ],
    )
    frame, issues = load_kaggle(path)
    assert issues == []
    assert list(frame.columns) == list(COLUMNS)
    assert {c: str(t) for c, t in frame.dtypes.items()} == COLUMNS
    first = frame.set_index("track_id").loc[ID]
    assert first["artists"] == ["Guns N' Roses", "Earth, Wind & Fire"]
    assert first["name"] == 'It\'s, a "song"'
    assert (first["year"], first["popularity"], first["explicit"]) == (1999, 55.0, 1)
    assert not first["year_imputed"] and not first["popularity_imputed"] and not first["explicit_imputed"]
    assert first["sources"] == "kaggle"
    second = frame.set_index("track_id").loc[ID2]
    assert (second["key"], second["explicit"], second["year"]) == (-1, 0, 1921)


BAD_KAGGLE_ROWS: list[tuple[dict[str, str], str, str, str]] = [
    # (overrides, column, value as written, reason)
    ({"id": "abc"}, "id", "abc", "not a Spotify track id"),
    ({"danceability": "1.5"}, "danceability", "1.5", "must be between 0 and 1"),
    ({"energy": ""}, "energy", "", "missing value"),
    ({"tempo": "fast"}, "tempo", "fast", "not a number"),
    ({"artists": "['A', 'B'"}, "artists", "['A', 'B'", "not a list of artist names"),
    ({"artists": "__import__('os').getcwd()"}, "artists", "__import__('os').getcwd()", "not a list"),
    ({"artists": "[1, 2]"}, "artists", "[1, 2]", "not a list of artist names"),
    ({"artists": "[]"}, "artists", "[]", "no artist names"),
    ({"key": "12"}, "key", "12", "must be between -1 and 11"),
    ({"key": "3.5"}, "key", "3.5", "whole number"),
    ({"mode": "2"}, "mode", "2", "must be 0 or 1"),
    ({"explicit": "yes"}, "explicit", "yes", "not a number"),
    ({"year": "1800"}, "year", "1800", "between 1900 and 2030"),
    ({"popularity": "101"}, "popularity", "101", "between 0 and 100"),
    ({"loudness": "-80"}, "loudness", "-80", "between -70 and 10"),
    ({"duration_ms": "0"}, "duration_ms", "0", "must be > 0"),
    ({"tempo": "-1"}, "tempo", "-1", "must be >= 0"),
    ({"liveness": "inf"}, "liveness", "inf", "between 0 and 1"),
    ({"name": "  "}, "name", "  ", "missing track name"),
]


def test_kaggle_malformed_rows_are_reported_and_skipped(tmp_path: Path) -> None:
    rows = [kaggle_row(id=ID)]  # data row 1 is valid
    for n, (over, *_rest) in enumerate(BAD_KAGGLE_ROWS):
        rows.append(kaggle_row(**{"id": f"{n:02d}" + ID[2:], **over}))
    rows.append(kaggle_row(id=ID2))  # last row valid
    path = write_csv(tmp_path / "data.csv", KAGGLE_HEADER, rows)
    frame, issues = load_kaggle(path)
    assert sorted(frame["track_id"]) == sorted([ID, ID2])
    by_row = issues_by_row(issues)
    assert sorted(by_row) == list(range(2, 2 + len(BAD_KAGGLE_ROWS)))
    for row, (_over, column, value, reason) in enumerate(BAD_KAGGLE_ROWS, start=2):
        (issue,) = by_row[row]
        canonical = {"id": "track_id"}.get(column, column)
        assert issue.file == str(path)
        assert issue.column == canonical
        assert issue.value == value
        assert reason in issue.reason, issue


def test_kaggle_strict_raises_with_the_first_issues(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "data.csv", KAGGLE_HEADER, [kaggle_row(), kaggle_row(id=ID2, danceability="7")]
    )
    with pytest.raises(CatalogError) as info:
        load_kaggle(path, strict=True)
    message = str(info.value)
    assert "row 2" in message and "danceability" in message and "'7'" in message
    assert "strict" in message


def test_row_numbers_stay_right_after_a_line_with_too_many_fields(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    write_csv(path, KAGGLE_HEADER, [kaggle_row(), kaggle_row(id=ID2), kaggle_row(id=ID3, tempo="x")])
    lines = path.read_text().splitlines()
    lines[2] = lines[2] + ",extra,fields"  # data row 2 now has too many fields
    path.write_text("\n".join(lines) + "\n")
    frame, issues = load_kaggle(path)
    assert list(frame["track_id"]) == [ID]
    assert [(i.row, i.column) for i in issues] == [(2, "*"), (3, "tempo")]
    assert "expected 19 fields" in issues[0].reason
    with pytest.raises(CatalogError):
        load_kaggle(path, strict=True)


def test_parse_artist_list_is_safe_and_strict() -> None:
    assert parse_artist_list("['A', \"B's\", 'C, D']") == ["A", "B's", "C, D"]
    assert parse_artist_list("('A',)") == ["A"]
    for bad in ("['A'", "A", "{'a': 1}", "[f()]", "__import__('os')", "['a', 1]"):
        with pytest.raises(ValueError):
            parse_artist_list(bad)


# ----------------------------------------------------------------------------- TidyTuesday


def test_tidytuesday_one_row_per_track_with_most_frequent_genre(tmp_path: Path) -> None:
    rows = [
        tt_row(playlist_genre="pop", playlist_subgenre="dance pop"),
        tt_row(playlist_genre="edm", playlist_subgenre="electro house"),
        tt_row(playlist_genre="edm", playlist_subgenre="big room"),
        tt_row(playlist_genre="edm", playlist_subgenre="big room"),
        tt_row(
            track_id=ID2,
            playlist_genre="rock",
            playlist_subgenre="hard rock",
            track_album_release_date="1975",
        ),
        tt_row(track_id=ID3, track_album_release_date="1987-03"),
    ]
    path = write_csv(tmp_path / "spotify_songs.csv.gz", TT_HEADER, rows)
    frame, issues = load_tidytuesday(tmp_path)  # a folder holding the file works too
    assert issues == []
    assert len(frame) == 3
    tracks = frame.set_index("track_id")
    assert (tracks.loc[ID, "genre"], tracks.loc[ID, "subgenre"]) == ("edm", "big room")
    assert (
        tracks.loc[ID, "year"] == 2019 and tracks.loc[ID2, "year"] == 1975 and tracks.loc[ID3, "year"] == 1987
    )
    assert tracks.loc[ID, "artists"] == ["Ed Sheeran"] and tracks.loc[ID, "album"] == "Album"
    assert tracks["explicit"].eq(0).all() and tracks["explicit_imputed"].all()
    assert not tracks["year_imputed"].any() and not tracks["popularity_imputed"].any()
    assert path.exists()


def test_tidytuesday_bad_rows(tmp_path: Path) -> None:
    rows = [
        tt_row(),
        tt_row(track_id=ID2, track_name="NA", track_artist="NA"),  # R's missing value
        tt_row(track_id=ID3, track_album_release_date="14/06/2019"),
        tt_row(track_id=ID4, track_album_release_date="2019-13-01"),
        tt_row(track_id="x" * 21, track_popularity="-3"),
    ]
    path = write_csv(tmp_path / "spotify_songs.csv", TT_HEADER, rows)
    frame, issues = load_tidytuesday(path)
    assert list(frame["track_id"]) == [ID]
    got = [(i.row, i.column, i.value, i.reason) for i in issues]
    assert got == [
        (2, "name", "NA", "missing track name"),
        (2, "artists", "NA", "missing artist"),
        (3, "release_date", "14/06/2019", "not a date like YYYY, YYYY-MM or YYYY-MM-DD"),
        (4, "release_date", "2019-13-01", "not a date like YYYY, YYYY-MM or YYYY-MM-DD"),
        (5, "track_id", "x" * 21, "not a Spotify track id (22 letters and digits)"),
        (5, "popularity", "-3", "must be between 0 and 100"),
    ]


def test_missing_popularity_in_a_source_that_has_the_column_is_left_for_imputation(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "spotify_songs.csv", TT_HEADER, [tt_row(track_popularity="")])
    frame, issues = load_tidytuesday(path)
    assert issues == []
    assert frame["popularity"].isna().all() and frame["popularity_imputed"].all()


# ----------------------------------------------------------------------------- Hit Predictor


def test_hit_predictor_year_from_decade_and_no_popularity(tmp_path: Path) -> None:
    write_csv(tmp_path / "dataset-of-60s.csv", HIT_HEADER, [hit_row(), hit_row(uri=f"spotify:track:{ID2}")])
    write_csv(
        tmp_path / "dataset-of-10s.csv.gz",
        HIT_HEADER,
        [hit_row(), hit_row(uri=f"spotify:track:{ID3}"), hit_row(uri="spotify:track:tooShort")],
    )
    frame, issues = load_hit_predictor(tmp_path)
    assert [(Path(i.file).name, i.row, i.column, i.value) for i in issues] == [
        ("dataset-of-10s.csv.gz", 3, "track_id", "spotify:track:tooShort")
    ]
    tracks = frame.set_index("track_id")
    assert sorted(tracks.index) == sorted([ID, ID2, ID3])
    assert tracks.loc[ID, "year"] == 1965  # listed in the 60s and the 10s: the earlier decade wins
    assert tracks.loc[ID3, "year"] == 2015
    assert tracks["year_imputed"].all() and tracks["popularity_imputed"].all()
    assert tracks["popularity"].isna().all()
    assert tracks["explicit_imputed"].all() and tracks["explicit"].eq(0).all()
    assert tracks.loc[ID, "artists"] == ["Garland Green"]


# ----------------------------------------------------------------------------- high / low popularity


def test_high_low_splits_artists_and_keeps_popularity(tmp_path: Path) -> None:
    write_csv(
        tmp_path / "high_popularity_spotify_data.csv",
        HIGH_LOW_HEADER,
        [
            high_low_row(track_artist="Lady Gaga, Bruno Mars", track_popularity="100"),
            high_low_row(track_id=ID2, track_artist="Tyler, The Creator, Kali Uchis", track_popularity="90"),
        ],
    )
    write_csv(
        tmp_path / "low_popularity_spotify_data.csv",
        HIGH_LOW_HEADER,
        [high_low_row(track_id=ID3, track_popularity="20", energy=""), high_low_row(track_id=ID4)],
    )
    frame, issues = load_high_low(tmp_path)
    tracks = frame.set_index("track_id")
    assert tracks.loc[ID, "artists"] == ["Lady Gaga", "Bruno Mars"]
    assert tracks.loc[ID2, "artists"] == ["Tyler, The Creator", "Kali Uchis"]
    assert tracks.loc[ID, "popularity"] == 100.0 and not tracks.loc[ID, "popularity_imputed"]
    assert ID3 not in tracks.index
    assert [(Path(i.file).name, i.row, i.column, i.reason) for i in issues] == [
        ("low_popularity_spotify_data.csv", 1, "energy", "missing value")
    ]
    assert detect_schema(HIGH_LOW_HEADER) == "high_low" and detect_schema(TT_HEADER) == "tidytuesday"
    assert detect_schema(KAGGLE_HEADER) == "kaggle" and detect_schema(HIT_HEADER) == "hit_predictor"
    assert detect_schema(["a", "b"]) is None


def test_split_artists() -> None:
    assert split_artists("A, B") == ["A", "B"]
    assert split_artists("Earth, Wind & Fire, A") == ["Earth, Wind & Fire", "A"]


# ----------------------------------------------------------------------------- generic + artist genres


def test_generic_csv_with_mapping(tmp_path: Path) -> None:
    header = ["sid", "title", "who", *FEATURES, "yr"]
    row = {"sid": ID, "title": "T", "who": "A;B", **FEATURES, "yr": "2001"}
    bad = {**row, "sid": ID2, "yr": "1492"}
    path = write_csv(tmp_path / "mine.csv", header, [row, bad])
    mapping = {"track_id": "sid", "name": "title", "artists": "who", "year": "yr", **{f: f for f in FEATURES}}
    frame, issues = load_generic_csv(path, mapping, artists_sep=";", source="mine")
    assert frame.loc[0, "artists"] == ["A", "B"] and frame.loc[0, "year"] == 2001
    assert frame.loc[0, "sources"] == "mine"
    assert frame["popularity_imputed"].all() and not frame["year_imputed"].any()
    assert [(i.row, i.column, i.value) for i in issues] == [(2, "year", "1492")]

    with pytest.raises(CatalogError, match="must name a source column for: name"):
        load_generic_csv(path, {k: v for k, v in mapping.items() if k != "name"})
    with pytest.raises(CatalogError, match="lacks the column"):
        load_generic_csv(path, {**mapping, "album": "no_such_column"})
    with pytest.raises(CatalogError, match="Unknown canonical column"):
        load_generic_csv(path, {**mapping, "colour": "who"})
    with pytest.raises(CatalogError, match="does not exist"):
        load_generic_csv(tmp_path / "nope.csv", mapping)


def test_unreadable_file_is_a_catalog_error(tmp_path: Path) -> None:
    path = tmp_path / "data.csv.gz"
    path.write_bytes(b"not gzip at all")
    with pytest.raises(CatalogError, match="Could not read"):
        load_kaggle(path)


def test_load_artist_genres_both_formats(tmp_path: Path) -> None:
    member = tmp_path / "data_w_genres.csv"
    write_csv(
        member,
        ["artists", "acousticness", "genres"],
        [
            {
                "artists": '"Cats" 1981 Original London Cast',
                "acousticness": "0.5",
                "genres": "['show tunes']",
            },
            {"artists": "Weird Al", "acousticness": "0.1", "genres": "comedy rock, comic, parody"},
            {"artists": "Nobody", "acousticness": "0.1", "genres": "[]"},
        ],
    )
    archive = tmp_path / "data_w_genres.csv.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(member, "data_w_genres.csv")
    genres = load_artist_genres(archive)
    assert genres == {
        '"Cats" 1981 Original London Cast': ["show tunes"],
        "Weird Al": ["comedy rock", "comic", "parody"],
        "Nobody": [],
    }
    with pytest.raises(CatalogError, match="genres"):
        load_artist_genres(write_csv(tmp_path / "x.csv", ["artists"], [{"artists": "A"}]))
