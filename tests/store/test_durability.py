"""Durability: a writer process killed with SIGKILL mid-burst loses no acknowledged vote.

The child prints each vote's id only after add_feedback has returned (i.e. after its COMMIT). The
parent kills it mid-burst, reopens the file and demands every printed id, with the right content,
and a clean integrity check. (SIGKILL tests our acknowledge-after-commit protocol and crash
recovery; on SQLite, power-loss durability is what synchronous=FULL adds, checked in test_sqlite_files.)
Against every backend: the child opens the same database the way tests/store/backends.py says.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.store.backends import BackendFactory

REPO = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent(
    """
    import asyncio, sys

    async def main(writers: int, round_: int) -> None:
        store = await open_store()
        print("ready", flush=True)

        async def writer(w: int) -> None:
            i = 0
            while True:
                user = 400000000000000000 + w
                track = f"r{round_}w{w}i{i}"
                record = await store.add_feedback(user, track, 1 if i % 3 else -1, "reaction", guild_id=9, channel_id=8)
                sys.stdout.write(f"{record.id} {user} {track} {record.value}\\n")
                sys.stdout.flush()
                i += 1

        await asyncio.gather(*(writer(w) for w in range(writers)))

    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
    """
)


def _run_and_kill(
    script: Path, writers: int, round_: int, kill_after: int
) -> list[tuple[int, int, str, int]]:
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    child = subprocess.Popen(
        [sys.executable, str(script), str(writers), str(round_)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    assert child.stdout is not None
    acked: list[tuple[int, int, str, int]] = []
    try:
        first = child.stdout.readline()
        assert first == "ready\n", first + (child.stderr.read() if child.stderr else "")
        while len(acked) < kill_after:
            line = child.stdout.readline()
            assert line, "child died early: " + (child.stderr.read() if child.stderr else "")
            rid, user, track, value = line.split()
            acked.append((int(rid), int(user), track, int(value)))
        child.send_signal(signal.SIGKILL)
        # Whatever the child printed before dying was acknowledged too; a torn last line was not.
        for line in child.stdout.read().splitlines(keepends=True):
            if line.endswith("\n"):
                rid, user, track, value = line.split()
                acked.append((int(rid), int(user), track, int(value)))
    finally:
        child.kill()
        child.wait(timeout=30)
        for pipe in (child.stdout, child.stderr):
            if pipe is not None:
                pipe.close()
    assert child.returncode == -signal.SIGKILL
    return acked


@pytest.mark.timeout(120)
async def test_acknowledged_votes_survive_sigkill(tmp_path: Path, store_backend: BackendFactory) -> None:
    script = tmp_path / "writer.py"
    script.write_text(store_backend.child_source() + CHILD)
    acked: list[tuple[int, int, str, int]] = []
    for round_, (writers, kill_after) in enumerate([(1, 150), (40, 400), (120, 700)]):
        acked += _run_and_kill(script, writers, round_, kill_after)

        store_backend.check_recovered()  # first as the database engine itself sees it
        async with await store_backend.open() as store:
            assert await store.integrity_check() == []
            stored = {r.id: r for r in await store.all_feedback(include_undone=True)}
        assert len({a[0] for a in acked}) == len(acked), "an id was acknowledged twice"
        missing = [a for a in acked if a[0] not in stored]
        assert not missing, f"{len(missing)} acknowledged votes lost, e.g. {missing[:3]}"
        for rid, user, track, value in acked:
            record = stored[rid]
            assert (record.user_id, record.track_id, record.value, record.live) == (user, track, value, True)
    assert len(acked) >= 150 + 400 + 700
