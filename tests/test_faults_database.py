"""Another process holding the database (BEGIN EXCLUSIVE): writes retry with backoff, then the user hears
"busy, try again" (in the Service API and in Discord), nothing half-written lands, and once the lock
is gone the same request works."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from songrec.domain import ServiceUnavailable
from songrec.service.errors import BUSY
from tests.support.bot_harness import bounded, wait_suggestions, world
from tests.support.discord_server import EPHEMERAL
from tests.support.service_env import ServiceOpener

USER = 5150
LOCKER = textwrap.dedent(
    """
    import sqlite3, sys
    conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=0)
    conn.execute("BEGIN EXCLUSIVE")   # the whole database, as a migration or a bulk import would
    print("locked", flush=True)
    sys.stdin.readline()
    conn.execute("ROLLBACK")
    """
)


class Locker:
    def __init__(self, tmp_path: Path, db: Path) -> None:
        script = tmp_path / "locker.py"
        script.write_text(LOCKER)
        self.proc = subprocess.Popen(
            [sys.executable, str(script), str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None and self.proc.stdout.readline() == "locked\n"

    def release(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.write("go\n")
            self.proc.stdin.flush()
        self.proc.wait(timeout=10)


def feedback_rows(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT COUNT(*) FROM feedback").fetchone()[0]


@pytest.mark.timeout(60)
async def test_locked_database_retries_then_says_busy_then_recovers(
    open_service: ServiceOpener, tmp_path: Path
) -> None:
    db = tmp_path / "songrec.sqlite3"
    async with open_service(db, busy_deadline_s=0.6) as service:
        shown = await service.recommend(USER, ["Song 12"], k=2)
        locker = Locker(tmp_path, db)
        try:
            retries = service.store.stats.busy_retries
            with pytest.raises(ServiceUnavailable) as caught:
                await service.like(USER, suggestion_id=shown[0].id)
            assert str(caught.value) == BUSY
            assert service.store.stats.busy_retries > retries, "it gave up without retrying"
            assert await service.history(USER) == []  # reads go on (WAL) while the writer is locked out
        finally:
            locker.release()
        assert feedback_rows(db) == 0
        result = await service.like(USER, suggestion_id=shown[0].id)
        assert result.changed and feedback_rows(db) == 1


@bounded(60)
async def test_the_user_hears_busy_in_discord(
    open_service: ServiceOpener, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    db = tmp_path / "songrec.sqlite3"
    async with open_service(db, busy_deadline_s=0.6) as service, world(monkeypatch, service) as w:
        ix = await w.fake.slash(w.alice, "recommend", song="Song 12", count=1)
        await wait_suggestions(w.fake, ix, 1)
        locker = Locker(tmp_path, db)
        try:
            ix = await w.fake.slash(w.alice, "like")
            (reply,) = await w.fake.wait_reply(ix)
            assert reply["flags"] & EPHEMERAL and "busy right now" in reply["content"]
        finally:
            locker.release()
        assert feedback_rows(db) == 0
        ix = await w.fake.slash(w.alice, "like")
        (reply,) = await w.fake.wait_reply(ix)
        assert "Noted" in reply["content"] and feedback_rows(db) == 1
        assert w.fake.violations == [] and w.fake.unhandled == []
