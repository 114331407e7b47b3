"""The `songrec` command end to end on a slice of the real shared catalogue, as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from songrec.content.songkey import title_key

SEEDS = [
    ("Ring Of Fire", "Johnny Cash"),
    ("Blinding Lights", "The Weeknd"),
    ("Smells Like Teen Spirit", "Nirvana"),
]


def songrec(home: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SONGREC_HOME": str(home), "PYTHONIOENCODING": "utf-8"}
    return subprocess.run(
        [sys.executable, "-m", "songrec.cli", *args], capture_output=True, text=True, env=env, timeout=timeout
    )


@pytest.fixture(scope="module")
def trained_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not os.environ.get("SONGREC_DATA"):
        pytest.skip("needs SONGREC_DATA (the shared datasets)")
    from songrec.catalog import build_catalogue

    frame = build_catalogue(os.environ["SONGREC_DATA"]).frame
    famous = frame["name"].isin([s[0] for s in SEEDS]) | frame["artists"].map(
        lambda a: bool(a) and a[0] in {"Johnny Cash", "The Weeknd", "Nirvana", "Queen"}
    )
    subset = pd.concat([frame[famous], frame[~famous].sample(n=6000, random_state=0)])
    home = tmp_path_factory.mktemp("cli-home")
    path = home / "subset.parquet"
    subset.to_parquet(path, index=False)
    result = songrec(home, "train", "--catalog", str(path), "--epochs", "6", "--quiet", timeout=900)
    assert result.returncode == 0, result.stderr
    assert "recall@10" in result.stdout
    assert "level=info" not in result.stderr, result.stderr[-2000:]  # logs only from WARNING, without -v
    assert "\r" not in result.stderr  # not a terminal: plain progress lines, no redrawn bars
    return home


def test_recommend_by_title_and_artist(trained_home: Path) -> None:
    result = songrec(
        trained_home, "recommend", "Ring of Fire", "--artist", "Johnny Cash", "-k", "10", "--json"
    )
    assert result.returncode == 0, result.stderr
    import json

    payload = json.loads(result.stdout)
    seed = payload["seed"]
    assert seed["name"] == "Ring Of Fire" and seed["artists"] == ["Johnny Cash"]
    rows = payload["suggestions"]
    assert len(rows) == 10 and [r["rank"] for r in rows] == list(range(1, 11))
    keys = [title_key(r["name"], r["artists"]) for r in rows]
    assert title_key(seed["name"], seed["artists"]) not in keys, "the seed (or a copy of it) came back"
    assert len(set(keys)) == len(keys), "duplicate songs in one answer"
    firsts = [r["artists"][0] for r in rows]
    assert max(firsts.count(a) for a in firsts) <= 2, "one artist filled the answer"
    assert all(r["url"].startswith("https://open.spotify.com/track/") and r["reason"] for r in rows)


def test_recommend_human_output_and_popularity_filter(trained_home: Path) -> None:
    result = songrec(
        trained_home, "recommend", "Blinding Lights - The Weeknd", "-k", "5", "--max-popularity", "40"
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Songs like Blinding Lights — The Weeknd")
    ranked = [line for line in lines if line[:3].strip().rstrip(".").isdigit()]
    assert len(ranked) == 5


def test_recommend_by_spotify_link(trained_home: Path) -> None:
    catalog = pd.read_parquet(next((trained_home / "artifacts" / "embedding").glob("2*/catalog.parquet")))
    track_id = catalog["track_id"].iloc[0]
    result = songrec(trained_home, "recommend", f"https://open.spotify.com/track/{track_id}?si=x", "-k", "3")
    assert result.returncode == 0, result.stderr
    assert track_id in result.stdout.splitlines()[0]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["recommend", ""], 2, "Tell me a song"),
        (["recommend", "x" * 10_000], 2, "too long"),
        (["recommend", "https://open.spotify.com/track/123"], 2, "malformed"),
        (["recommend", "qqqzzzxxv wwwkkk"], 3, "couldn't find"),
        (["recommend", "Ring of Fire", "-k", "0"], 2, "between 1 and 100"),
        (["playlist", "--seed", "Blinding Lights,The Weeknd", "--length", "-3"], 2, "between 1 and 200"),
    ],
)
def test_bad_input_gets_a_clear_error_and_exit_code(
    trained_home: Path, args: list[str], code: int, message: str
) -> None:
    result = songrec(trained_home, *args)
    assert result.returncode == code, (result.stdout, result.stderr)
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_playlist_is_diverse(trained_home: Path) -> None:
    result = songrec(trained_home, "playlist", "--seed", "Smells Like Teen Spirit,Nirvana", "--length", "20")
    assert result.returncode == 0, result.stderr
    tracks = [line for line in result.stdout.splitlines()[1:] if line.strip()]
    assert len(tracks) == 20
    artists = [line.split(" — ")[1].rsplit(" (", 1)[0] for line in tracks]
    assert not any(artists[i] == artists[i + 1] == artists[i + 2] for i in range(len(artists) - 2))


def test_export_embeddings_and_map(trained_home: Path, tmp_path: Path) -> None:
    out = tmp_path / "emb.parquet"
    assert songrec(trained_home, "export-embeddings", "--out", str(out)).returncode == 0
    frame = pd.read_parquet(out)
    dims = frame.shape[1] - 1
    assert dims >= 10 and list(frame.columns) == ["track_id"] + [f"e{i}" for i in range(dims)]
    assert frame["track_id"].str.fullmatch(r"[0-9A-Za-z]{22}").all() and frame["track_id"].is_unique
    png = tmp_path / "map.png"
    result = songrec(trained_home, "map", "--out", str(png), "--sample", "2000")
    assert result.returncode == 0, result.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_status_reports_the_model(trained_home: Path) -> None:
    result = songrec(trained_home, "status")
    assert result.returncode == 0
    assert "recall@10" in result.stdout and "tracks" in result.stdout


def test_status_lists_the_run_that_built_the_model(trained_home: Path) -> None:
    result = songrec(trained_home, "status")
    assert result.returncode == 0, result.stderr
    assert "no training runs recorded yet" not in result.stdout
    current = (trained_home / "artifacts" / "embedding" / "CURRENT").read_text().strip()
    assert any(
        "training run" in line and "succeeded, promoted" in line and current in line
        for line in result.stdout.splitlines()
    ), result.stdout


def test_no_model_yet_says_what_to_do(tmp_path: Path) -> None:
    result = songrec(tmp_path, "recommend", "Ring of Fire")
    assert result.returncode == 4
    assert "songrec train" in result.stderr
