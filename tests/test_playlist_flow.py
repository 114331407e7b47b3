"""A playlist that flows (issue 15): the artist rule, a smooth order, the recommend seed syntax."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import numpy as np
import pytest

from songrec.cli import main as cli
from songrec.content.engine import Engine
from songrec.content.flow import artist_rule_holds, camelot_distance, flowing_playlist, path_cost


def _windows(artists: list[str], size: int = 10) -> Iterator[Counter[str]]:
    for i in range(max(1, len(artists) - size + 1)):
        yield Counter(a for a in artists[i : i + size] if a)


def test_the_artist_rule() -> None:
    assert artist_rule_holds(["a", "b", "a", "c", "d", "e", "f", "g", "h", "i", "j", "a"])
    assert not artist_rule_holds(["a", "a"]), "never twice in a row"
    assert not artist_rule_holds(["a", "b", "a", "c", "a"]), "three in ten"
    assert artist_rule_holds(["a", "b", "a", *"cdefghi", "a"]), "the third is ten songs after the first"
    assert not artist_rule_holds(["a", "b", "a", *"cdefgh", "a"]), "three in the first ten"
    assert artist_rule_holds(["", "", "", ""]), "unknown artists are not one artist"


def test_keys_are_close_on_the_circle_of_fifths() -> None:
    c_major = (0.0, 1.0)
    keys = np.asarray([0.0, 7.0, 9.0, 6.0, np.nan])  # C, G, A (minor), F#, unknown
    modes = np.asarray([1.0, 1.0, 0.0, 1.0, 1.0])
    got = camelot_distance(*c_major, keys, modes)
    assert got[0] == 0.0 and got[1] == pytest.approx(1 / 6.5), "a fifth apart: one step"
    assert got[2] == pytest.approx(0.5 / 6.5), "the relative minor: same step, other mode"
    assert got[3] == pytest.approx(6 / 6.5), "a tritone: as far as it goes"
    assert got[4] == 0.5, "unknown: in between"


@pytest.mark.parametrize("length", [7, 15, 30])
def test_a_playlist_opens_with_the_seed_keeps_the_artist_rule_and_flows(
    small_engine: Engine, length: int
) -> None:
    eng = small_engine
    seed = eng.resolve("Song 12")
    rows = flowing_playlist(eng, [seed], length, start=seed)
    assert len(rows) == length and rows[0] == seed and len(set(rows)) == length
    artists = [eng.artist_list[r] for r in rows]
    assert artist_rule_holds(artists)
    assert all(artists[i] != artists[i + 1] for i in range(length - 1))
    assert all(max(w.values(), default=0) <= 2 for w in _windows(artists))
    ranked = [seed] + sorted(rows[1:], key=lambda r: eng.distance(seed, r))
    assert path_cost(eng, rows) < path_cost(eng, ranked), "the order flows better than the ranking"
    assert path_cost(eng, rows) == pytest.approx(path_cost(eng, eng.playlist(seed, length)))


def test_an_artist_seed_gives_songs_like_theirs_and_none_of_theirs(small_engine: Engine) -> None:
    eng = small_engine
    artist = eng.artist_list[eng.resolve("Song 40")]
    theirs = {r for r in range(eng.size) if eng.artist_list[r] == artist}
    rows = flowing_playlist(eng, sorted(theirs)[:5], 12, exclude=theirs)
    assert len(rows) == 12 and not set(rows) & theirs
    assert artist_rule_holds([eng.artist_list[r] for r in rows])


@pytest.fixture
def cli_engine(small_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Engine:
    monkeypatch.setattr(cli, "load_engine", lambda: small_engine)
    return small_engine


def _run(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, list[str], str]:
    try:
        code = cli.main(argv)
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, [line for line in out.splitlines() if line.strip()], err


def test_songrec_playlist_takes_the_recommend_seed_syntax(
    cli_engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    eng = cli_engine
    seed = eng.info(eng.resolve("Song 12"))
    artist = seed.artists[0]
    for argv in (
        ["playlist", "Song 12", "--artist", artist, "--length", "15"],
        ["playlist", "--seed", f"Song 12,{artist}", "--length", "15"],
    ):
        code, lines, err = _run(capsys, argv)
        assert code == cli.EXIT_OK, err
        assert lines[0].startswith("Playlist from Song 12 — ") and len(lines) == 16
        assert lines[1].startswith(" 1. Song 12 — ")
        artists = [line.split(" — ")[1].rsplit(" (", 1)[0].split("  ")[0] for line in lines[1:]]
        assert all(max(w.values()) <= 2 for w in _windows(artists))
        assert all(artists[i] != artists[i + 1] for i in range(len(artists) - 1))

    code, lines, err = _run(capsys, ["playlist", "--artist", artist, "--length", "10"])
    assert code == cli.EXIT_OK, err
    assert lines[0] == f"Playlist of songs like {artist} (none of theirs):" and len(lines) == 11
    assert not [line for line in lines[1:] if f" — {artist} (" in line or f" — {artist}  " in line]

    for argv, message in (
        (["playlist", "--length", "5"], "Name a song"),
        (["playlist", "Song 12", "--seed", "Song 12", "--length", "5"], "not both"),
        (["playlist", "Song 12", "--length", "0"], "between 1 and 200"),
    ):
        code, _, err = _run(capsys, argv)
        assert code == cli.EXIT_INPUT and message in err, (argv, err)
