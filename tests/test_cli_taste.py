"""`songrec taste --user ID --out card.png`, in this process, on a SONGREC_HOME with the small artifact:
a real PNG of Discord's preview size, written fast; no likes, no file and a sentence instead."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from songrec.cli import main as cli
from songrec.cli.playlists import open_service

USER = "4242"


@pytest.fixture
def home(small_artifact: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "home"
    root.mkdir()
    (root / "artifacts").symlink_to(small_artifact, target_is_directory=True)
    monkeypatch.setenv("SONGREC_HOME", str(root))
    monkeypatch.delenv("SONGREC_DB", raising=False)
    for name in ("SPOTIFY_CLIENT_ID", "SPOTIFY_CLIENT_SECRET", "SPOTIFY_TOKEN_CACHE"):
        monkeypatch.delenv(name, raising=False)
    return root


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", "not a PNG"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_taste_writes_a_png_card(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cards" / "card.png"
    assert cli.main(["taste", "--user", USER, "--out", str(out)]) == 1, "no likes yet"
    assert not out.exists() and "haven't liked anything" in capsys.readouterr().out

    async def like_some() -> float:
        async with open_service() as service:
            for n in range(3, 15):
                await service.like(int(USER), f"Song {n}")
            await service.taste_card(int(USER))  # the first card fits the map projection once
            started = time.perf_counter()
            await service.taste_card(int(USER))
            return time.perf_counter() - started

    seconds = asyncio.run(like_some())
    assert seconds < 1.0, f"a taste card took {seconds:.2f} s"
    assert cli.main(["taste", "--user", USER, "--out", str(out)]) == 0
    data = out.read_bytes()
    assert png_size(data) == (1200, 675) and 10_000 < len(data) < 8 * 1024 * 1024
    said = capsys.readouterr().out
    assert "12 likes" in said and f"wrote {out}" in said
