from __future__ import annotations

import pandas as pd
import pytest

from songrec.content.lookup import Query, TitleIndex
from songrec.content.songkey import normalise, title_key
from songrec.domain import AmbiguousTrack, InvalidInput, TrackNotFound
from tests.support.factories import make_catalog

SPECIAL = [
    ("6YffUZJ2R06kyxyK6onezL", "Ring Of Fire", ["Johnny Cash"], 59.0),
    ("1aaaaaaaaaaaaaaaaaaaaa", "Ring of Fire - Remastered 2002", ["Johnny Cash"], 40.0),
    ("2aaaaaaaaaaaaaaaaaaaaa", "Ring of Fire", ["Social Distortion"], 35.0),
    ("0sf12qNH5qcw8qpgymFOqD", "Blinding Lights", ["The Weeknd"], 98.0),
    ("3aaaaaaaaaaaaaaaaaaaaa", "Blinding Lights", ["Lucas Estrada"], 30.0),
    ("4aaaaaaaaaaaaaaaaaaaaa", "Bohemian Rhapsody - 2011 Mix", ["Queen"], 84.0),
    ("5aaaaaaaaaaaaaaaaaaaaa", "Café del Mar", ["Energy 52"], 50.0),
    ("6aaaaaaaaaaaaaaaaaaaaa", "Hello", ["Adele"], 80.0),
    ("7aaaaaaaaaaaaaaaaaaaaa", "Hello", ["Lionel Richie"], 75.0),
]


@pytest.fixture(scope="module")
def titles() -> TitleIndex:
    base = make_catalog(200)
    extra = base.head(len(SPECIAL)).copy()
    extra["track_id"] = [s[0] for s in SPECIAL]
    extra["name"] = [s[1] for s in SPECIAL]
    extra["artists"] = [s[2] for s in SPECIAL]
    extra["popularity"] = [s[3] for s in SPECIAL]
    return TitleIndex.build(pd.concat([base, extra], ignore_index=True))


def name_of(titles: TitleIndex, row: int) -> str:
    return f"{titles.titles[row]}|{titles.artists[row]}"


def test_normalise_and_same_song_keys() -> None:
    assert normalise("  Café  del MAR!! ") == "cafe del mar"
    assert title_key("Ring of Fire - Remastered 2002", ["Johnny Cash"]) == title_key(
        "Ring Of Fire", ["Johnny Cash"]
    )
    assert title_key("Ring of Fire", ["Social Distortion"]) != title_key("Ring Of Fire", ["Johnny Cash"])
    assert title_key('Lose Yourself - From "8 Mile" Soundtrack', ["Eminem"]) == title_key(
        "Lose Yourself", ["Eminem"]
    )
    assert title_key("Hero (From Spider-Man Soundtrack)", ["Chad Kroeger"]) == title_key(
        "Hero", ["Chad Kroeger"]
    )


def test_exact_title_with_and_without_artist(titles: TitleIndex) -> None:
    assert name_of(titles, titles.resolve("Ring of Fire", "Johnny Cash")) == "ring of fire|johnny cash"
    assert (
        name_of(titles, titles.resolve("ring of fire - social distortion"))
        == "ring of fire|social distortion"
    )
    # The famous version is picked when it clearly leads, the most popular release of it.
    assert titles.resolve("Blinding Lights") == titles.row_of_id["0sf12qNH5qcw8qpgymFOqD"]
    assert titles.resolve("Ring of Fire") == titles.row_of_id["6YffUZJ2R06kyxyK6onezL"]


def test_close_calls_are_ambiguous(titles: TitleIndex) -> None:
    with pytest.raises(AmbiguousTrack) as info:
        titles.resolve("Hello")
    assert {t.artists for t in info.value.candidates} == {("Adele",), ("Lionel Richie",)}
    assert info.value.query == "Hello"


def test_typos_accents_and_decorations(titles: TitleIndex) -> None:
    assert titles.resolve("bohemian rapsody") == titles.row_of_id["4aaaaaaaaaaaaaaaaaaaaa"]
    assert titles.resolve("Bohemian Rhapsody", "Queen") == titles.row_of_id["4aaaaaaaaaaaaaaaaaaaaa"]
    assert titles.resolve("cafe del mar") == titles.row_of_id["5aaaaaaaaaaaaaaaaaaaaa"]


def test_ids_and_links(titles: TitleIndex) -> None:
    row = titles.row_of_id["0sf12qNH5qcw8qpgymFOqD"]
    assert titles.resolve("0sf12qNH5qcw8qpgymFOqD") == row
    assert titles.resolve("https://open.spotify.com/intl-de/track/0sf12qNH5qcw8qpgymFOqD?si=abc") == row
    assert titles.resolve("spotify:track:0sf12qNH5qcw8qpgymFOqD") == row
    with pytest.raises(TrackNotFound) as info:
        titles.resolve("https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC")
    assert info.value.spotify_id == "4uLU6hMCjMI75M1A2tKUQC"
    with pytest.raises(InvalidInput, match="malformed"):
        titles.resolve("https://open.spotify.com/track/123")
    with pytest.raises(InvalidInput, match="album"):
        titles.resolve("https://open.spotify.com/album/4uLU6hMCjMI75M1A2tKUQC")
    # A link parsed once upstream (the service's seeds) resolves the same way without parsing again.
    parsed = Query.parse(" https://open.spotify.com/track/0sf12qNH5qcw8qpgymFOqD ")
    assert parsed.link is not None and parsed.collection is None
    assert titles.resolve(parsed) == row
    album = Query.parse("https://open.spotify.com/album/4uLU6hMCjMI75M1A2tKUQC")
    assert album.collection is not None and album.collection.kind == "album"
    assert Query.parse("Blinding Lights").link is None and Query.parse("Blinding Lights").broken is None
    assert Query.parse("https://open.spotify.com/track/123").broken is not None


@pytest.mark.parametrize(
    "text",
    [
        "0sf12qNH5qcw8qpgymFOqD",
        " 6YffUZJ2R06kyxyK6onezL ",
        "https://open.spotify.com/track/0sf12qNH5qcw8qpgymFOqD?si=abc",
        "spotify:track:6YffUZJ2R06kyxyK6onezL",
    ],
)
def test_a_known_id_or_track_link_is_a_direct_row_and_the_same_as_resolve(
    titles: TitleIndex, text: str
) -> None:
    direct = titles.direct_row(Query.parse(text))
    assert direct is not None and direct == titles.resolve(text)


@pytest.mark.parametrize(
    "text",
    [
        "9zzzzzzzzzzzzzzzzzzzzz",  # an id the catalogue lacks: the search (and Spotify) decide
        "https://open.spotify.com/album/0sf12qNH5qcw8qpgymFOqD",
        "https://open.spotify.com/track/123",
        "Blinding Lights",
        "",
        "x" * 10_000,
    ],
)
def test_anything_else_is_left_to_resolve(titles: TitleIndex, text: str) -> None:
    assert titles.direct_row(Query.parse(text)) is None


@pytest.mark.parametrize("text", ["", "   ", "x" * 10_000, "!!!", "\u200b\u200f"])
def test_bad_queries_are_explained(titles: TitleIndex, text: str) -> None:
    with pytest.raises((InvalidInput, TrackNotFound)):
        titles.resolve(text)


def test_unknown_song_offers_closest(titles: TitleIndex) -> None:
    with pytest.raises(TrackNotFound) as info:
        titles.resolve("Song 1234567", "Nobody")
    assert "couldn't find that song in the catalogue" in str(info.value)
    assert info.value.spotify_id is None and info.value.query == "Song 1234567"


def test_autocomplete_prefers_prefix_and_popularity(titles: TitleIndex) -> None:
    rows = titles.autocomplete("blin")
    assert [titles.artists[r] for r in rows[:2]] == ["the weeknd", "lucas estrada"]
    assert titles.autocomplete("the weeknd bl")[0] == titles.row_of_id["0sf12qNH5qcw8qpgymFOqD"]
    assert titles.autocomplete("") == []
    assert len(titles.autocomplete("song", limit=25)) == 25
    assert titles.autocomplete("x" * 10_000) == []


# Finding the song a music lover means: one song is never "several", a missing one is said to be missing --

CATALOGUE_OF_NAMES = [
    ("1bbbbbbbbbbbbbbbbbbbbb", "Take Five", ["The Dave Brubeck Quartet"], 59.0),
    ("2bbbbbbbbbbbbbbbbbbbbb", "Take Five", ["Dave Brubeck"], 59.0),
    ("3bbbbbbbbbbbbbbbbbbbbb", "Take Five - Live", ["Dave Brubeck"], 59.0),
    ("4bbbbbbbbbbbbbbbbbbbbb", "Für Elise, WoO 59", ["Ludwig van Beethoven"], 43.0),
    ("5bbbbbbbbbbbbbbbbbbbbb", "For Elise", ["Saint Motel"], 60.0),
    ("6bbbbbbbbbbbbbbbbbbbbb", "Gangnam Style (강남스타일)", ["PSY"], 72.0),
    ("7bbbbbbbbbbbbbbbbbbbbb", "Style", ["Taylor Swift"], 80.0),
    ("8bbbbbbbbbbbbbbbbbbbbb", "Redemption", ["Drake"], 43.0),
    ("9bbbbbbbbbbbbbbbbbbbbb", "Revelation Song", ["Holy Communion Instrumental Duo"], 43.0),
    ("0bbbbbbbbbbbbbbbbbbbbb", "Redemption & Rage", ["Radical Redemption"], 53.0),
    ("acbbbbbbbbbbbbbbbbbbbb", "Hello", ["Adele"], 80.0),
    ("adbbbbbbbbbbbbbbbbbbbb", "Hello", ["Lionel Richie"], 75.0),
]


@pytest.fixture(scope="module")
def names() -> TitleIndex:
    base = make_catalog(200)
    extra = base.head(len(CATALOGUE_OF_NAMES)).copy()
    extra["track_id"] = [s[0] for s in CATALOGUE_OF_NAMES]
    extra["name"] = [s[1] for s in CATALOGUE_OF_NAMES]
    extra["artists"] = [s[2] for s in CATALOGUE_OF_NAMES]
    extra["popularity"] = [s[3] for s in CATALOGUE_OF_NAMES]
    return TitleIndex.build(pd.concat([base, extra], ignore_index=True))


def track_id_of(index: TitleIndex, row: int) -> str:
    return index.tracks[row].track_id


@pytest.mark.parametrize(
    ("title", "artist", "expected"),
    [
        ("Take Five", "The Dave Brubeck Quartet", "1bbbbbbbbbbbbbbbbbbbbb"),
        ("Take Five", "Dave Brubeck", "2bbbbbbbbbbbbbbbbbbbbb"),  # the studio take, not the live one
        ("take five - dave brubeck", None, "2bbbbbbbbbbbbbbbbbbbbb"),
        ("Für Elise", "Beethoven", "4bbbbbbbbbbbbbbbbbbbbb"),  # the artist picks it out of near titles
        ("Gangnam Style", "PSY", "6bbbbbbbbbbbbbbbbbbbbb"),
    ],
)
def test_the_artist_given_picks_their_song(
    names: TitleIndex, title: str, artist: str | None, expected: str
) -> None:
    assert track_id_of(names, names.resolve(title, artist)) == expected


def test_one_act_under_two_credits_is_one_song_not_a_choice(names: TitleIndex) -> None:
    row = names.resolve("Take Five")
    assert track_id_of(names, row) in {"1bbbbbbbbbbbbbbbbbbbbb", "2bbbbbbbbbbbbbbbbbbbbb"}


def test_several_songs_always_lists_several_songs(names: TitleIndex) -> None:
    with pytest.raises(AmbiguousTrack) as info:
        names.resolve("Hello")
    listed = {(t.name, t.artist_line) for t in info.value.candidates}
    assert len(listed) == len(info.value.candidates) >= 2


def test_a_title_not_in_the_catalogue_says_so_and_offers_the_closest(names: TitleIndex) -> None:
    with pytest.raises(TrackNotFound) as info:
        names.resolve("Redemption Song")
    message = str(info.value)
    assert "couldn't find that song in the catalogue" in message and "Several songs match" not in message
    assert "Closest matches" in message
    assert {t.name for t in info.value.closest} & {"Redemption", "Revelation Song", "Redemption & Rage"}


def test_autocomplete_of_a_track_id_is_that_track(names: TitleIndex) -> None:
    """A Discord autocomplete pick arrives as the track id: looking it up again names the song."""
    row = names.row_of_id["6bbbbbbbbbbbbbbbbbbbbb"]
    assert names.autocomplete("6bbbbbbbbbbbbbbbbbbbbb") == [row]


# Looking in the catalogue: relevance, one entry per song, no unrelated tail ---------------------------

SEARCHABLE = [
    ("1ccccccccccccccccccccc", "Ring Of Fire", ["Johnny Cash"], 59.0),
    ("2ccccccccccccccccccccc", "Ring of Fire", ["Johnny Cash"], 50.0),  # a re-release: the same song
    ("3ccccccccccccccccccccc", "Ring of Fire - Remastered 2002", ["Johnny Cash"], 40.0),
    ("4ccccccccccccccccccccc", "Burning With Fire", ["Tapps"], 90.0),
    ("5ccccccccccccccccccccc", "Morning Coffee", ["bearé"], 95.0),
    ("6ccccccccccccccccccccc", "All Right Now", ["Free"], 70.0),
    ("7ccccccccccccccccccccc", "All Right Now", ["Free"], 70.0),
    ("8ccccccccccccccccccccc", "Nirvana", ["Death In June"], 48.0),
    ("9ccccccccccccccccccccc", "Smells Like Teen Spirit", ["Nirvana"], 81.0),
    ("0ccccccccccccccccccccc", "Come As You Are", ["Nirvana"], 78.0),
    ("adcccccccccccccccccccc", "One More Time", ["Daft Punk"], 74.0),
    ("aecccccccccccccccccccc", "Get Lucky", ["Daft Punk", "Pharrell Williams"], 80.0),
    ("afcccccccccccccccccccc", "Daft Punk Is Playing at My House", ["LCD Soundsystem"], 55.0),
    ("agcccccccccccccccccccc", "Hello", ["Adele"], 80.0),
    ("ahcccccccccccccccccccc", "Sunshine", ["Hello"], 30.0),
    ("aicccccccccccccccccccc", "Für Elise, WoO 59", ["Ludwig van Beethoven"], 43.0),
    ("ajcccccccccccccccccccc", "Take Five", ["The Dave Brubeck Quartet"], 59.0),
    ("akcccccccccccccccccccc", "Blue Rondo", ["Dave Brubeck"], 45.0),
    ("alcccccccccccccccccccc", "Xyz Anthem", ["XYZ"], 45.0),
]


@pytest.fixture(scope="module")
def searchable() -> TitleIndex:
    base = make_catalog(200)
    extra = base.head(len(SEARCHABLE)).copy()
    extra["track_id"] = [s[0] for s in SEARCHABLE]
    extra["name"] = [s[1] for s in SEARCHABLE]
    extra["artists"] = [s[2] for s in SEARCHABLE]
    extra["popularity"] = [s[3] for s in SEARCHABLE]
    return TitleIndex.build(pd.concat([base, extra], ignore_index=True))


def shown(index: TitleIndex, rows: list[int]) -> list[str]:
    return [f"{index.tracks[r].name} — {index.tracks[r].artist_line}" for r in rows]


def test_autocomplete_lists_each_song_once_and_no_unrelated_tail(searchable: TitleIndex) -> None:
    assert shown(searchable, searchable.autocomplete("Ring of Fire")) == ["Ring Of Fire — Johnny Cash"]
    assert shown(searchable, searchable.autocomplete("All Right Now")) == ["All Right Now — Free"]
    assert shown(searchable, searchable.search("ring of fire", 10)) == ["Ring Of Fire — Johnny Cash"]


def test_search_ranks_whole_title_and_artist_names_before_words_anywhere(searchable: TitleIndex) -> None:
    nirvana = shown(searchable, searchable.search("nirvana", 10))
    # The band's songs and the song titled so are all exact matches: the most popular first.
    assert nirvana[:3] == [
        "Smells Like Teen Spirit — Nirvana",
        "Come As You Are — Nirvana",
        "Nirvana — Death In June",
    ]
    daft = shown(searchable, searchable.search("daft punk", 10))
    assert daft[:2] == ["Get Lucky — Daft Punk, Pharrell Williams", "One More Time — Daft Punk"]
    assert daft[2] == "Daft Punk Is Playing at My House — LCD Soundsystem"  # words in a title come after
    # A typo still finds the song, and only close spellings are offered.
    assert shown(searchable, searchable.search("smells like teen sprit", 10)) == [
        "Smells Like Teen Spirit — Nirvana"
    ]
    assert searchable.search("", 10) == [] and searchable.search("qqqzzzxxv wwwkkk", 10) == []


def test_a_bare_artist_name_is_read_as_the_artist(searchable: TitleIndex) -> None:
    from songrec.content.artist_lookup import reads_as_artist

    nirvana = reads_as_artist(searchable, "Nirvana")  # the band, not Death In June's song "Nirvana"
    assert nirvana is not None and nirvana.name == "Nirvana"
    assert {searchable.tracks[r].name for r in nirvana.rows} == {"Smells Like Teen Spirit", "Come As You Are"}
    daft = reads_as_artist(searchable, "daft punk")
    assert daft is not None and {searchable.tracks[r].name for r in daft.rows} == {
        "One More Time",
        "Get Lucky",
    }
    assert reads_as_artist(searchable, "Hello") is None, "Adele's Hello is better known than the band Hello"
    assert reads_as_artist(searchable, "Ring of Fire") is None
    assert reads_as_artist(searchable, "Take Five - Dave Brubeck") is None  # a title with its artist


def test_an_artist_given_is_found_through_typos_and_partial_credits(searchable: TitleIndex) -> None:
    from songrec.content.artist_lookup import find_artist

    beethoven = find_artist(searchable, "Beethoven")
    assert beethoven is not None and beethoven.name == "Ludwig van Beethoven"
    typo = find_artist(searchable, "Daft Pnuk")
    assert typo is not None and typo.name == "Daft Punk"
    brubeck = find_artist(searchable, "Dave Brubeck")  # one act under two credits: all of their songs
    assert brubeck is not None and {searchable.tracks[r].name for r in brubeck.rows} == {
        "Take Five",
        "Blue Rondo",
    }
    assert find_artist(searchable, "Nobody Known Xyz") is None, "a credit holding one word typed is not it"
    assert find_artist(searchable, "Daft Pnuk", fuzzy=False) is None
