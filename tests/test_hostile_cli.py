"""The hostile corpus through the `songrec` command: recommend, playlist and chat lines.

The bulk runs in process (the real `songrec.cli.main` and `songrec.cli.chat.Chat` on the real small artifact
and a real database); a sample goes through real subprocesses, the way a user's shell runs them.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from songrec.cli import main as cli
from songrec.cli.chat import Chat
from songrec.content.engine import Engine
from tests.support.hostile_check import clear_message_problem, logging_restored, row_counts
from tests.support.hostile_inputs import KNOWN_TITLE, Hostile, hostile_texts, sample
from tests.support.service_env import ServiceOpener

EXIT_CODES = {cli.EXIT_OK, cli.EXIT_INPUT, cli.EXIT_NOT_FOUND}
GENERIC_FAILURE = "Something went wrong"  # chat's answer to an unexpected exception: a bug here


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    with logging_restored():
        yield


@pytest.fixture(scope="module")
def corpus() -> list[Hostile]:
    return hostile_texts()


def run_main(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str, str]:
    try:
        code = cli.main(argv)
    except SystemExit as exit_:  # argparse: an argument that looks like an option (e.g. "-1")
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def check_cli_answer(item: Hostile, code: int, out: str, err: str) -> list[str]:
    problems = []
    if code not in EXIT_CODES:
        problems.append(f"{item.label}: exit code {code}")
    if "Traceback" in out + err:
        problems.append(f"{item.label}: traceback")
    if code != cli.EXIT_OK:
        message = err.strip().splitlines()[-1] if err.strip() else ""
        problem = "no message on stderr" if not message else clear_message_problem(message)
        if problem:
            problems.append(f"{item.label}: {problem}: {message[:120]!r}")
    return problems


@pytest.mark.timeout(180)
def test_recommend_and_playlist_in_process(
    small_engine: Engine,
    corpus: list[Hostile],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loaded = small_engine
    monkeypatch.setattr(cli, "load_engine", lambda: loaded)  # the same engine Engine.load gives, loaded once
    problems: list[str] = []
    refused = 0
    spread = {id(item) for item in sample(corpus, 100)}  # the costlier variants on an even sample
    for item in corpus:
        runs = [["recommend", item.text, "-k", "3"]]
        if id(item) in spread:
            runs += [
                ["recommend", "--json", "-k", "2", "--", item.text],
                ["playlist", "--seed", item.text, "--length", "4"],
            ]
        for argv in runs:
            code, out, err = run_main(capsys, argv)
            problems += check_cli_answer(item, code, out, err)
            refused += code != cli.EXIT_OK
    for bad in (["-k", "0"], ["-k", "100000"], ["--max-popularity", "nan"], ["--min-popularity", "-5"]):
        code, out, err = run_main(capsys, ["recommend", KNOWN_TITLE, *bad])
        problems += check_cli_answer(Hostile("flag", " ".join(bad)), code, out, err)
        if code == cli.EXIT_OK:
            problems.append(f"recommend accepted {bad}")
    code, out, err = run_main(capsys, ["playlist", "--seed", KNOWN_TITLE, "--max-popularity", "inf"])
    if code != cli.EXIT_INPUT or "between 0 and 100" not in err:
        problems.append(f"playlist accepted --max-popularity inf ({code}: {err.strip()[:100]})")
    assert not problems, "\n".join(problems[:40])
    assert refused > len(corpus)


@pytest.mark.timeout(180)
async def test_chat_lines_in_process(
    open_service: ServiceOpener, corpus: list[Hostile], tmp_path: Path
) -> None:
    db = tmp_path / "chat.sqlite3"
    problems: list[str] = []
    async with open_service(db) as service:
        out = io.StringIO()

        async def decline(question: str) -> str:
            return "n"

        chat = Chat(service, 31337, out, decline)
        for item in corpus:
            for line in (item.text, f"/like {item.text}", f"/dislike {item.text}", f"/why {item.text}"):
                start = out.tell()
                before = row_counts(db)
                keep_going = await chat.handle(line)
                answer = out.getvalue()[start:]
                if GENERIC_FAILURE in answer:
                    problems.append(f"{item.label}: {answer.strip()[:150]!r}")
                if answer.startswith("Sorry:") and row_counts(db) != before:
                    problems.append(f"{item.label}: a refused {line[:8]!r} wrote to the database")
                if not keep_going and line.strip() not in ("/quit", "/exit"):
                    problems.append(f"{item.label}: chat ended on {line[:30]!r}")
        await chat.handle("/forget-me")
        assert "Cancelled" in out.getvalue().splitlines()[-1]
    assert not problems, "\n".join(problems[:40])


def _argv_safe(text: str) -> bool:
    """What a shell can pass: no NUL, and encodable as argv bytes (lone \\udcXX are raw bytes)."""
    if "\x00" in text:
        return False
    try:
        os.fsencode(text)
    except UnicodeEncodeError:
        return False
    return True


@pytest.fixture(scope="module")
def cli_home(small_artifact: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("hostile-cli-home")
    (home / "artifacts").symlink_to(small_artifact, target_is_directory=True)
    return home


def songrec(
    home: Path, args: list[str | bytes], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SONGREC_HOME": str(home), "PYTHONIOENCODING": "utf-8"}
    return subprocess.run(
        [sys.executable, "-m", "songrec.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        errors="replace",
        env=env,
        timeout=120,
    )


@pytest.mark.timeout(240)
def test_a_sample_through_real_subprocesses(corpus: list[Hostile], cli_home: Path) -> None:
    shell_safe = [item for item in corpus if _argv_safe(item.text)]
    picked = [next(item for item in shell_safe if item.kind == "markdown+title")]  # resolves: prints names
    for item in picked:
        result = songrec(cli_home, ["recommend", "-k", "2", "--", os.fsencode(item.text)])
        problems = check_cli_answer(item, result.returncode, result.stdout, result.stderr)
        assert not problems, problems

    # One chat session reads a hundred hostile lines from stdin, then quits; the database it wrote
    # must hold nothing from refused lines (only likes of songs that resolved).
    lines = [item.text.replace("\n", " ").replace("\r", " ") for item in sample(corpus, 100)]
    script = "\n".join(line for pair in ((t, f"/like {t}") for t in lines) for line in pair) + "\n/quit\n"
    result = songrec(cli_home, ["chat", "--user", "hostile"], stdin=script)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stdout + result.stderr
    assert GENERIC_FAILURE not in result.stdout, result.stdout[-2000:]
    assert result.stdout.rstrip().endswith("Bye!")

    status = songrec(cli_home, ["status"])
    assert status.returncode == 0, status.stderr
    assert "schema version" in status.stdout and "recall@10" in status.stdout


# Output paths and counts for `map` and `export-embeddings`: each bad one is one line, exit code 2 ----------


@pytest.fixture()
def file_commands(small_engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """In-process `songrec` on the small engine, with SONGREC_HOME in a fresh folder."""
    monkeypatch.setattr(cli, "load_engine", lambda: small_engine)
    monkeypatch.setenv("SONGREC_HOME", str(tmp_path / "home"))
    return tmp_path


def _refused(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    code, out, err = run_main(capsys, argv)
    assert code == cli.EXIT_INPUT, (argv, code, out, err)
    assert "Traceback" not in out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


@pytest.mark.parametrize("sample", ["0", "-5", "3"])
def test_map_refuses_a_sample_too_small(
    file_commands: Path, capsys: pytest.CaptureFixture[str], sample: str
) -> None:
    assert "--sample" in _refused(capsys, ["map", "--sample", sample, "--out", str(file_commands / "m.png")])


def test_bad_output_paths_are_one_line_errors(
    file_commands: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a_file = file_commands / "plain.txt"
    a_file.write_text("not a folder")
    unwritable = str(a_file / "inside" / "out")  # a folder under a file: no one, root included, can make it
    assert "--out" in _refused(capsys, ["map", "--sample", "100", "--out", unwritable + ".png"])
    assert "empty" in _refused(capsys, ["export-embeddings", "--out", ""])
    assert "--out" in _refused(capsys, ["export-embeddings", "--out", unwritable + ".parquet"])
    assert ".parquet or .csv" in _refused(
        capsys, ["export-embeddings", "--out", str(file_commands / "e.txt")]
    )
    folder = file_commands / "folder.parquet"
    folder.mkdir()
    (folder / "embeddings.parquet").mkdir()  # the name a folder --out would get is itself a folder
    assert "folder" in _refused(capsys, ["export-embeddings", "--out", str(folder)])


def test_map_into_a_folder_writes_the_file_it_names(
    file_commands: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = file_commands / "maps"
    folder.mkdir()
    code, out, _ = run_main(capsys, ["map", "--sample", "100", "--out", str(folder)])
    assert code == cli.EXIT_OK
    written = folder / "embedding_map.png"
    assert out.strip() == f"wrote {written}"
    assert written.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not Path(f"{folder}.png").exists()


def test_map_writes_under_songrec_home_by_default(
    file_commands: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_main(capsys, ["map", "--sample", "100"])
    assert code == cli.EXIT_OK
    written = file_commands / "home" / "reports" / "embedding_map.png"
    assert out.strip() == f"wrote {written}" and written.is_file()


def test_export_embeddings_writes_csv_for_a_csv_name(
    file_commands: Path, capsys: pytest.CaptureFixture[str], small_engine: Engine
) -> None:
    import pandas as pd

    out_path = file_commands / "e.csv"
    code, out, _ = run_main(capsys, ["export-embeddings", "--out", str(out_path)])
    assert code == cli.EXIT_OK and "CSV" in out
    frame = pd.read_csv(out_path)
    assert len(frame) == small_engine.size and frame.columns[0] == "track_id"
    code, _, _ = run_main(capsys, ["export-embeddings", "--out", str(file_commands / "e")])
    assert code == cli.EXIT_OK
    assert pd.read_parquet(file_commands / "e.parquet").shape == frame.shape


def test_every_option_has_help() -> None:
    import argparse

    missing = []

    def walk(parser: argparse.ArgumentParser, path: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    walk(child, f"{path} {name}")
            elif action.help is None:
                missing.append(f"{path} {'/'.join(action.option_strings) or action.dest}")

    walk(cli.build_parser(), "songrec")
    assert not missing, missing


def test_training_help_names_the_songrec_command() -> None:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    for args, usage in (
        (["evaluate", "--help"], "usage: songrec evaluate"),
        (["train", "--help"], "usage: songrec train"),
    ):
        result = subprocess.run(
            [sys.executable, "-m", "songrec.cli", *args], capture_output=True, text=True, env=env, timeout=120
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith(usage), result.stdout[:200]
        assert "python -m training" not in result.stdout
