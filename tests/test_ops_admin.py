"""/admin status and `songrec status`: what is served, the catalogue, index recall, training runs and the
database; the serving-last-good-version warning; and who may ask (denied paths for /admin and /settings)."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from songrec.cli import main as cli
from songrec.content.artifacts import ArtifactStore, new_version
from songrec.content.engine import EMBEDDING_KIND
from songrec.service import Service, ServiceConfig
from songrec.store.sqlite.migrations import discover
from tests.support.bot_harness import bounded, world
from tests.support.discord_server import ADMIN_PERMISSIONS, EPHEMERAL
from tests.support.hostile_check import logging_restored
from tests.support.service_env import ServiceOpener


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    with logging_restored():
        yield


def embed_fields(message: dict[str, Any]) -> dict[str, str]:
    return {f["name"]: f["value"] for f in message["embeds"][0]["fields"]}


def guild_settings_rows(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT COUNT(*) FROM guild_settings").fetchone()[0]


@bounded(60)
async def test_admin_status_for_managers_and_the_owner_only(
    open_service: ServiceOpener, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    db = tmp_path / "db.sqlite3"
    async with open_service(db) as service, world(monkeypatch, service) as w:
        run = await service.store.record_training_run("cpu", "nightly")
        await service.store.update_training_run(run.id, status="succeeded", promoted=True)
        calls = 0
        real_status = service.status

        async def counted() -> dict[str, Any]:
            nonlocal calls
            calls += 1
            return await real_status()

        monkeypatch.setattr(service, "status", counted)
        fake = w.fake

        ix = await fake.slash(w.alice, "admin", "status")  # a plain member
        (reply,) = await fake.wait_reply(ix)
        assert reply["flags"] & EPHEMERAL and "Manage Server" in reply["content"] and calls == 0

        ix = await fake.slash(w.bob, "admin", "status", permissions=ADMIN_PERMISSIONS)
        (reply,) = await fake.wait_reply(ix)
        assert reply["flags"] & EPHEMERAL and calls == 1
        fields = embed_fields(reply)
        assert service.engine.version in fields["Model"] and "602 tracks" in fields["Model"]
        assert "recall@10" in fields["Model"] and "⚠️ Warning" not in fields
        assert f"#{run.id} succeeded (promoted)" in fields["Training runs"]
        assert "KiB" in fields["Database"] and "1 server ·" in fields["Bot"]

        w.bot.owner_id = w.carol  # the bot's owner needs no server permission
        ix = await fake.slash(w.carol, "admin", "status")
        (reply,) = await fake.wait_reply(ix)
        assert reply["embeds"] and calls == 2

        # /settings: refused without Manage Server, and nothing is written.
        ix = await fake.slash(w.alice, "settings", explore_rate=0.9, session_strategy="least_misery")
        (reply,) = await fake.wait_reply(ix)
        assert reply["flags"] & EPHEMERAL and "Manage Server" in reply["content"]
        assert guild_settings_rows(db) == 0
        assert fake.violations == [] and fake.unhandled == []


@bounded(60)
async def test_admin_status_warns_when_serving_the_last_good_version(
    small_artifact: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    root = tmp_path / "artifacts"
    shutil.copytree(small_artifact, root)
    store = ArtifactStore(root, EMBEDDING_KIND)
    good = store.current_version()
    assert good is not None
    bad = new_version()
    shutil.copytree(store.path(good), store.path(bad))
    (store.path(bad) / "manifest.json").write_text((store.path(good) / "manifest.json").read_text())
    store.promote(bad)
    (store.path(bad) / "model.pt").write_bytes(b"truncated")

    service = await Service.open(
        db_path=tmp_path / "db.sqlite3", artifacts=root, config=ServiceConfig(seed=0)
    )
    try:
        async with world(monkeypatch, service) as w:
            ix = await w.fake.slash(w.bob, "admin", "status", permissions=ADMIN_PERMISSIONS)
            (reply,) = await w.fake.wait_reply(ix)
            fields = embed_fields(reply)
            warning = fields["⚠️ Warning"]
            assert f"serving last good version {good} because" in warning and "model.pt is corrupt" in warning
            assert f"CURRENT points at `{bad}`" in fields["Model"]
    finally:
        await service.close()


async def test_cli_status_lists_training_runs_and_the_database(
    open_service: ServiceOpener,
    small_artifact: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "artifacts").symlink_to(small_artifact, target_is_directory=True)
    monkeypatch.setenv("SONGREC_HOME", str(home))
    monkeypatch.delenv("SONGREC_DB", raising=False)

    code = await asyncio.to_thread(cli.main, ["status"])
    out = capsys.readouterr().out
    assert code == cli.EXIT_OK and "not created yet" in out

    async with open_service(home / "songrec.sqlite3") as service:
        first = await service.store.record_training_run("cuda", "first")
        await service.store.update_training_run(first.id, status="failed")
        second = await service.store.record_training_run("cpu", "second")
        await service.store.update_training_run(
            second.id, status="succeeded", promoted=True, artifact_version="v-test"
        )
        status = await service.status()
    assert [r["id"] for r in status["training_runs"]] == [second.id, first.id]
    assert status["catalogue_size"] == 602 and status["index_recall"] is not None
    assert status["serving_note"] is None and status["database_bytes"] > 0

    code = await asyncio.to_thread(cli.main, ["status"])
    out = capsys.readouterr().out
    assert code == cli.EXIT_OK
    assert "embedding: 1 version(s)" in out and "catalogue 602 tracks" in out and "index recall@10" in out
    assert f"schema version {discover()[-1].version}" in out and "KiB" in out
    assert f"training run {second.id}: succeeded, promoted" in out and "artifact v-test" in out
    assert f"training run {first.id}: failed" in out
