"""`songrec train` leaves a line in the training-run log, so `songrec status` lists the run that built
the model; on SQLite and on PostgreSQL (the configured database_location()), and never fails the job."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from songrec.ops import status
from tests.support.postgres_server import PostgresServer
from training import cli as training_cli
from training import run_log
from training.embedding import EmbeddingBuild


def fake_training(monkeypatch: pytest.MonkeyPatch, fail: bool = False) -> None:
    """The embedding job's command with the catalogue and the training itself replaced by stand-ins."""

    class Build:
        frame = pd.DataFrame({"track_id": ["a", "b"]})
        issues: list[str] = []
        content_hash = "0" * 12

    def build(*_: Any, **kwargs: Any) -> EmbeddingBuild:
        if fail:
            raise RuntimeError("out of memory")
        metrics = {"best_val_mse": 0.01, "recall_at_10": 1.0, "epochs_run": 1, "seconds": 2, "device": "cpu"}
        return EmbeddingBuild("emb-test-1", Path("/nowhere"), metrics)

    monkeypatch.setattr(training_cli, "load_default_catalogue", lambda *a, **k: Build())
    monkeypatch.setattr(training_cli, "build_embedding_artifact", build)
    monkeypatch.setattr(training_cli, "job_from_args", lambda args: None)


def embedding_args(**overrides: Any) -> argparse.Namespace:
    values = {"catalog": None, "strict": False, "no_promote": False, "quiet": True, "playlists": None}
    return argparse.Namespace(**{**values, **overrides})


def test_songrec_train_records_its_run_in_sqlite(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SONGREC_HOME", str(tmp_path))
    monkeypatch.delenv("SONGREC_DB", raising=False)
    monkeypatch.delenv("SONGREC_DATABASE_URL", raising=False)
    fake_training(monkeypatch)
    assert training_cli.cmd_embedding(embedding_args()) == 0
    report = status.database_status(tmp_path / "songrec.sqlite3")
    [run] = report.training_runs
    assert (run.status, run.artifact_version, run.promoted) == ("succeeded", "emb-test-1", True)
    assert run.metrics["recall_at_10"] == 1.0 and run.finished_at is not None
    lines = status.format_database(report)
    assert "no training runs recorded yet" not in "\n".join(lines)
    assert any("emb-test-1" in line and "embedding model" in line for line in lines)


def test_a_failed_train_is_recorded_as_failed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SONGREC_HOME", str(tmp_path))
    monkeypatch.delenv("SONGREC_DB", raising=False)
    monkeypatch.delenv("SONGREC_DATABASE_URL", raising=False)
    fake_training(monkeypatch, fail=True)
    with pytest.raises(RuntimeError):
        training_cli.cmd_embedding(embedding_args(no_promote=True))
    [run] = status.database_status(tmp_path / "songrec.sqlite3").training_runs
    assert run.status == "failed" and "RuntimeError" in run.reason and not run.promoted


def test_an_unreachable_database_does_not_fail_training(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("SONGREC_HOME", str(tmp_path))
    monkeypatch.setenv("SONGREC_DB", str(blocker / "songrec.sqlite3"))  # under a file: cannot be created
    monkeypatch.delenv("SONGREC_DATABASE_URL", raising=False)
    fake_training(monkeypatch)
    assert training_cli.cmd_embedding(embedding_args()) == 0
    assert "could not record the training run" in caplog.text


def test_the_run_is_recorded_on_postgresql(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, postgres_server: PostgresServer
) -> None:
    url = postgres_server.create_database("runlog")
    monkeypatch.setenv("SONGREC_HOME", str(tmp_path))
    monkeypatch.setenv("SONGREC_DATABASE_URL", url)
    run_id = run_log.record_start("cpu")
    assert run_id is not None
    run_log.record_end(run_id, "succeeded", version="emb-pg", promoted=True, metrics={"nan": float("nan")})
    [run] = status.database_status(url).training_runs
    assert (run.id, run.status, run.artifact_version, run.metrics) == (
        run_id,
        "succeeded",
        "emb-pg",
        {"nan": None},
    )
