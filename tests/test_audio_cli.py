"""`songrec audio scan|train|embed` end to end on synthesised files, and the hint without the extra."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("soundfile")

from songrec.cli.main import main
from tests.support.audio_files import style_library, tone, write


@pytest.fixture
def music(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SONGREC_HOME", str(tmp_path / "home"))
    folder = tmp_path / "music"
    style_library(folder, per_style=3, seconds=2.5)
    write(folder / "untagged.wav", tone(3.0, 500))
    write(folder / "empty.wav", np.zeros(0, dtype=np.float32))
    (folder / "broken.mp3").write_bytes(b"ID3" + b"\x00" * 64 + b"garbage" * 50)
    return folder


def test_scan_train_embed(music: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audio", "scan", str(music)]) == 0
    said = capsys.readouterr().out
    assert "scanned 9 files: 7 readable, 2 skipped" in said
    assert "broken.mp3" in said and "empty.wav" in said
    assert "matched 0 to catalogue tracks, 7 unmatched" in said
    library = pd.read_parquet(tmp_path / "home" / "audio" / "library.parquet")
    assert sorted(library["title"])[:2] == ["Click 0", "Click 1"] and "untagged" in set(library["title"])

    assert main(["audio", "scan", str(music), "--limit", "2"]) == 0
    assert "scanned 2 files" in capsys.readouterr().out
    assert main(["audio", "scan", str(music)]) == 0  # the full library again (cached: no decoding)
    capsys.readouterr()

    assert main(["audio", "train", "--epochs", "1"]) == 0
    said = capsys.readouterr().out
    assert "audio model" in said and "validation loss" in said
    assert "nothing to fuse the audio into" in said  # no catalogue embedding in this home
    assert main(["audio", "fuse"]) == 0
    assert "nothing to fuse the audio into" in capsys.readouterr().out
    versions = [p for p in (tmp_path / "home" / "artifacts" / "audio").iterdir() if p.is_dir()]
    assert len(versions) == 1 and (versions[0] / "loss.png").stat().st_size > 1000

    out = tmp_path / "e.parquet"
    assert main(["audio", "embed", str(music), "--out", str(out)]) == 0
    frame = pd.read_parquet(out)
    assert list(frame.columns[:2]) == ["path", "e0"] and len(frame) == 7
    assert all(c.startswith("e") for c in frame.columns[1:])
    assert not any("broken" in p for p in frame["path"])


def test_mistakes_are_one_line(music: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audio", "train"]) == 2
    assert "run `songrec audio scan DIR` first" in capsys.readouterr().err
    assert main(["audio", "scan", str(tmp_path / "nowhere")]) == 2
    assert main(["audio", "embed", str(music), "--out", str(tmp_path / "e.parquet")]) == 4
    assert main(["audio", "fuse"]) == 4
    assert main(["audio", "embed", str(music), "--out", str(tmp_path / "e.csv")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "no audio model yet" in err


def test_without_the_extra_the_commands_say_how_to_enable_them(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import songrec.audio

    monkeypatch.setattr(songrec.audio, "missing_modules", lambda: ["soundfile"])
    assert main(["audio", "scan", "."]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install -e '.[audio]'" in err


def test_the_cli_does_not_import_the_audio_part_at_start_up() -> None:
    import subprocess
    import sys

    code = "import sys, songrec.cli.main; print(any(m.startswith('songrec.audio') for m in sys.modules))"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"
    )
