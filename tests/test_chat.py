"""`songrec chat` driven through stdin/stdout: in-process on StringIO, and once as a real subprocess."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from songrec.cli.chat import run_chat, stable_id, user_id_for
from tests.support.service_env import ServiceOpener

REPO = Path(__file__).resolve().parent.parent


async def _chat(service, lines: list[str], user: int = 77) -> str:  # type: ignore[no-untyped-def]
    out = io.StringIO()
    code = await run_chat(service, user, io.StringIO("\n".join(lines) + "\n"), out)
    assert code == 0
    text = out.getvalue()
    assert "Traceback" not in text
    return text


def test_user_ids_are_stable_and_positive() -> None:
    assert user_id_for("alice") == user_id_for("alice") != user_id_for("bob")
    assert user_id_for("1234") == 1234
    assert 0 < stable_id("x") < 2**62
    assert user_id_for(None) == user_id_for("")  # the OS user name


async def test_chat_commands_against_the_real_service(open_service: ServiceOpener, tmp_path: Path) -> None:
    async with open_service(tmp_path / "db.sqlite3") as service:
        text = await _chat(
            service,
            [
                "/like",  # nothing shown yet
                "Song 12 3",  # no slash: recommend like that song, 3 of them
                "/like 2",  # the second of the list
                "/like 2",  # again: already liked
                "/dislike",  # the last one shown
                "/why 1",
                "/why 9",
                "/history",
                "/recommend",
                "/recommend 0",
                "/recommend " + "x" * 10_000,
                "/recommend Zzyzx Qwerty Plinth",
                "/frobnicate",
                "/help",
                "/quit",
                "/history",  # never reached
            ],
        )
        assert "nothing to rate here yet" in text
        assert (
            "Songs like Song 12:" in text
            and " 3. " in text
            and " 4. " not in text.split("From your taste")[0]
        )
        assert "👍 Noted: you like" in text and "You had already liked" in text and "👎 Got it" in text
        assert "Score" in text and "Give a number from the last list" in text
        assert "From your taste:" in text
        assert "Sorry: Ask for between 1 and 50 songs." in text
        assert "too long" in text and "couldn't find that song" in text
        assert "I don't know /frobnicate" in text and "/forget-me" in text and text.rstrip().endswith("Bye!")
        history = await service.history(77)
        assert [h.value for h in history] == [-1, 1] and all(h.source == "chat" for h in history)

        # /forget-me asks first: "n" keeps everything, "y" deletes it.
        text = await _chat(service, ["/forget-me", "n", "/forget-me", "y"])
        assert "Cancelled: nothing was deleted." in text and "forgot everything about you" in text
        assert await service.history(77) == []
        # End of input ends the chat quietly.
        assert "songrec chat" in await _chat(service, [])


def test_songrec_chat_subprocess(small_artifact: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "artifacts").symlink_to(small_artifact, target_is_directory=True)
    env = {**os.environ, "SONGREC_HOME": str(home), "PYTHONPATH": str(REPO)}
    env.pop("SONGREC_DB", None)
    run = subprocess.run(
        [sys.executable, "-m", "songrec.cli", "chat", "--user", "alice"],
        input="Song 3 2\n/like 1\n/history\n/quit\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=REPO,
    )
    assert run.returncode == 0, run.stderr
    assert "Songs like Song 3:" in run.stdout and "👍 Noted: you like" in run.stdout
    assert "Traceback" not in run.stdout + run.stderr
    assert (home / "songrec.sqlite3").exists()

    empty = tmp_path / "empty"
    empty.mkdir()
    run = subprocess.run(
        [sys.executable, "-m", "songrec.cli", "chat"],
        input="/quit\n",
        capture_output=True,
        text=True,
        env={**env, "SONGREC_HOME": str(empty)},
        timeout=120,
        cwd=REPO,
    )
    assert run.returncode == 4 and "songrec train" in run.stdout
    assert "Traceback" not in run.stdout + run.stderr
