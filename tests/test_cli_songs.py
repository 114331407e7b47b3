"""`songrec recommend` with an artist, `songrec search`, and `songrec arch-search`, in process."""

from __future__ import annotations

import json

import pytest

from songrec.cli import main as cli
from songrec.content.engine import Engine


@pytest.fixture()
def run(small_engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(cli, "load_engine", lambda: small_engine)

    def call(*argv: str) -> tuple[int, str, str]:
        code = cli.main(list(argv))
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        return code, out, err

    return call


def test_recommend_an_artist_alone_leaves_their_songs_out(run, small_engine: Engine) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run("recommend", "--artist", "Artist 5", "-k", "6", "--json")
    assert code == cli.EXIT_OK, err
    payload = json.loads(out)
    assert payload["artist"] == "Artist 5" and len(payload["suggestions"]) == 6
    assert all("Artist 5" not in s["artists"] for s in payload["suggestions"])
    assert all(s["reason"].startswith("close to Song ") for s in payload["suggestions"])
    code, out, _ = run("recommend", "Artist 5", "-k", "3")  # the name alone reads as the artist
    assert code == cli.EXIT_OK and out.startswith("Songs like Artist 5 (from their songs, none of theirs)")
    code, _, err = run("recommend", "--artist", "Zzyzx Qwfp Nobody")
    assert code == cli.EXIT_NOT_FOUND and "don't have songs by Zzyzx Qwfp Nobody" in err
    code, _, err = run("recommend")
    assert code == cli.EXIT_INPUT and "--artist" in err


def test_recommend_prints_years_as_the_catalogue_knows_them(run) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run("recommend", "Song 12", "-k", "3", "--json")
    seed = json.loads(out)["seed"]
    assert code == cli.EXIT_OK and seed["name"] == "Song 12"
    assert seed["decade"] == f"{seed['year'] // 10 * 10}s"  # the small catalogue's years are exact


def test_search_lists_the_title_typed_first_each_song_once(run) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run("search", "Song 12", "-k", "5")
    lines = out.splitlines()
    assert code == cli.EXIT_OK and lines[0].startswith(" 1. Song 12 — ") and len(lines) <= 5
    code, out, _ = run("search", "song 12", "--json")
    found = json.loads(out)
    assert found[0]["name"] == "Song 12" and len({(t["name"], tuple(t["artists"])) for t in found}) == len(
        found
    )
    code, _, err = run("search", "qqqzzzxxv wwwkkk")
    assert code == cli.EXIT_NOT_FOUND and "couldn't find" in err
    code, _, err = run("search", "Song", "-k", "0")
    assert code == cli.EXIT_INPUT and "-k" in err


def test_the_architecture_search_is_arch_search(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []
    monkeypatch.setattr(cli, "run_child", lambda module, argv: seen.append([module, *argv]) or 0)
    assert cli.main(["arch-search", "--help"]) == 0
    assert seen == [["training", "--prog", "songrec", "search", "--help"]]
    parser = cli.build_parser()
    assert "arch-search" in parser.format_help() and "look for songs" in parser.format_help()


def test_arch_search_help_names_itself() -> None:
    from training.cli import SUBCOMMAND_NAMES

    assert SUBCOMMAND_NAMES["search"] == "arch-search"
