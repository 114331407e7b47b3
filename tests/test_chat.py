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
                "/why 1 details",
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

        # /privacy: what is stored and what for; out, off and in change the choice.
        await service.like(77, "Song 3")
        text = await _chat(
            service, ["/privacy", "/privacy out", "/privacy off", "/privacy in", "/privacy nope"]
        )
        assert "Stored: 1 likes, 0 dislikes" in text and "Your choice: shared." in text
        assert "Your choice: private." in text and "Your choice: off." in text
        assert text.count("Your choice: shared.") == 2 and "Try /privacy" in text
        assert (await service.privacy(77)).choice == "shared"
        text = await _chat(service, ["/privacy export"])
        assert '"feedback"' in text

        # /taste writes the card where asked, and says the taste in words.
        card = tmp_path / "card.png"
        text = await _chat(service, [f"/taste {card}"])
        assert "1 like" in text and f"Your taste card: {card} (1200x675 PNG)" in text
        assert card.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        text = await _chat(service, ["/taste"], user=78)
        assert "haven't liked anything" in text

        # /compat NAME and /neighbours, between chat users.
        text = await _chat(service, ["/compat", "/compat 78", "/neighbours"])
        assert "Name someone" in text and "Not enough to compare yet" in text
        assert "Nobody is close to your taste yet" in text


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


# Choosing from a list by number -----------------------------------------------------------------------


async def test_a_number_picks_from_the_list_of_matching_songs() -> None:
    from tests.support.service_double import ServiceDouble

    double = ServiceDouble()
    text = await _chat(double, ["/like Hello", "/like 2", "/recommend 1", "/like 3"])
    assert "Several songs match “Hello”:" in text
    assert " 1. Hello — " in text and " 2. Hello — " in text
    listed = [line for line in text.splitlines() if line.startswith((" 1. Hello", " 2. Hello"))]
    second = listed[1].split(" — ")[1].split(" (")[0]  # the artist of item 2, as shown
    assert f"you like Hello by {second}" in text
    first = listed[0].split(" — ")[1].split(" (")[0]
    assert f"Songs like Hello by {first}:" in text
    [like, *_] = double.calls_to("like")
    assert like["track"] != "2"  # the number was never searched as a title
    # After the suggestions, /like 3 is the third suggestion, not a song called "3".
    assert text.count("👍 Noted") == 2


async def test_a_number_outside_the_list_or_with_no_list_is_refused() -> None:
    from tests.support.service_double import ServiceDouble

    double = ServiceDouble()
    text = await _chat(double, ["/like", "/like 99", "/dislike 7", "Hello", "/like 9", "/recommend 0"])
    assert "nothing to rate" in text.lower()
    assert "There is no list on screen to pick number 99 from" in text
    assert "There is no list on screen to pick number 7 from" in text
    assert text.count("Give a number from the list on screen (1-2).") == 2
    assert not double.calls_to("dislike") and len(double.calls_to("like")) == 1  # only the bare /like


async def test_chat_finds_songs_and_artists_and_says_what_it_knows() -> None:
    from tests.support.service_double import ServiceDouble

    service = ServiceDouble()
    text = await _chat(
        service,
        [
            "/recommend",  # a newcomer: a cold start says so
            "/search hello",
            "/like",  # a list of songs on screen: which one?
            "/like 2",  # the second song found
            "/search my generation",
            "/like 9",  # outside the list
            "/artist Adele 3",
            "/why 1",
            "/why 1 details",
            "/artist",
        ],
    )
    assert "To start with (I don't know your taste yet" in text and "From your taste" not in text
    assert "In the catalogue for “hello”:" in text and " 1. Hello — Adele (2015)" in text
    assert "Give a number from the list on screen (1-2), or a song." in text
    assert "👍 Noted: you like Hello by Lionel Richie." in text
    assert " 1. My Generation — The Who (1960s)" in text and "1965" not in text
    assert "Give a number from the list on screen (1-1)." in text
    assert "Songs like Adele:" in text
    recommend = service.calls_to("recommend")[-1]
    assert recommend["artist"] == "Adele" and recommend["k"] == 3
    assert [call["details"] for call in service.calls_to("why")] == [False, True]
    why_plain, why_detailed = text.split("Score")[0], text
    assert why_plain.count("Because you asked for something like") >= 1 and "Score" in why_detailed
    assert "Name an artist: /artist Daft Punk" in text
