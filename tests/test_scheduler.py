"""Retraining runs in a subprocess: a crash or an OOM kill of it is recorded and leaves serving alone;
one run at a time; the schedule's knobs come from the environment."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from songrec.content.artifacts import ArtifactStore
from songrec.models.ranker import RANKER_KIND, RankerWatcher
from tests.support import ranker_env
from tests.support.service_env import ServiceOpener
from training.scheduler import Retrainer, ScheduleConfig, describe_exit

pytestmark = pytest.mark.timeout(240)


@pytest.mark.parametrize(
    ("fault", "expected"), [("crash", "exited with code 70"), ("oom", "killed by SIGKILL")]
)
async def test_a_crashing_training_process_leaves_serving_untouched(
    open_service: ServiceOpener, trained_ranker: ranker_env.Trained, tmp_path: Path, fault: str, expected: str
) -> None:
    db, root = ranker_env.trained_copy(trained_ranker, tmp_path)
    current = ArtifactStore(root, RANKER_KIND).current_version()
    async with open_service(db) as service:
        await RankerWatcher(service, root).check()
        serving = service.ranker
        assert serving is not None
        cfg = ScheduleConfig(env={"SONGREC_TRAINING_FAULT": fault}, job_args=tuple(ranker_env.fast_args()))
        retrainer = Retrainer(db, root, cfg, store=service.store)
        # the bot keeps answering while the child starts and dies
        run = asyncio.create_task(retrainer.run("test"))
        while not run.done():
            assert await service.recommend(ranker_env.FIRST_USER, k=3)
            await asyncio.sleep(0.2)
        outcome = run.result()
        assert outcome.status == "failed" and not outcome.promoted
        assert expected in outcome.reason
        [record] = await service.store.last_training_runs(1)
        assert record.id == outcome.run_id and record.status == "failed"
        assert expected in record.reason and record.finished_at is not None
        assert record.metrics["returncode"] == outcome.returncode and record.metrics["trigger"] == "test"
        assert ArtifactStore(root, RANKER_KIND).current_version() == current
        assert service.ranker is serving
        assert await service.recommend(ranker_env.FIRST_USER, k=3)


async def test_only_one_run_at_a_time(
    open_service: ServiceOpener, trained_ranker: ranker_env.Trained, tmp_path: Path
) -> None:
    db, root = ranker_env.trained_copy(trained_ranker, tmp_path)
    cfg = ScheduleConfig(env={"SONGREC_TRAINING_FAULT": "crash"})
    async with open_service(db) as service:
        retrainer = Retrainer(db, root, cfg, store=service.store)
        first = asyncio.create_task(retrainer.run("first"))
        await asyncio.sleep(0)  # let it take the lock
        second = await retrainer.run("second")
        assert second.status == "busy" and second.run_id is None
        assert (await first).status == "failed"
        runs = await service.store.last_training_runs(5)
        triggers = [r.metrics.get("trigger") for r in runs]
        assert triggers[0] == "first" and "second" not in triggers  # the refused run left no record


async def test_a_run_left_running_by_a_dead_parent_is_marked_failed(
    open_service: ServiceOpener, trained_ranker: ranker_env.Trained, tmp_path: Path
) -> None:
    db, root = ranker_env.trained_copy(trained_ranker, tmp_path)
    cfg = ScheduleConfig(env={"SONGREC_TRAINING_FAULT": "crash"}, timeout_s=30.0)
    async with open_service(db) as service:
        orphan = await service.store.record_training_run("cpu", "killed with its bot", started_at=1.0)
        outcome = await Retrainer(db, root, cfg, store=service.store).run("after restart")
        runs = {r.id: r for r in await service.store.last_training_runs(5)}
        assert runs[orphan.id].status == "failed" and "abandoned" in runs[orphan.id].reason
        assert runs[outcome.run_id].metrics["trigger"] == "after restart"  # type: ignore[index]


def test_schedule_knobs_come_from_the_environment() -> None:
    cfg = ScheduleConfig.from_env(
        {
            "SONGREC_RETRAIN_INTERVAL_S": "120",
            "SONGREC_RETRAIN_CHECK_S": "2",
            "SONGREC_RETRAIN_MIN_FEEDBACK": "25",
            "SONGREC_RETRAIN_TIMEOUT_S": "oops",
        }
    )
    assert (cfg.interval_s, cfg.check_s, cfg.min_new_feedback) == (120.0, 2.0, 25)
    assert cfg.timeout_s == ScheduleConfig().timeout_s  # a bad value falls back to the default
    assert "SIGKILL" in describe_exit(-9) and describe_exit(3) == "exited with code 3"


def test_songrec_train_passes_ranker_and_schedule_through(monkeypatch: pytest.MonkeyPatch) -> None:
    from songrec.cli import main as cli

    calls: list[tuple[str, list[str]]] = []
    monkeypatch.setattr(cli, "run_child", lambda module, argv: calls.append((module, list(argv))) or 0)
    assert cli.main(["train", "ranker", "--force"]) == 0
    assert cli.main(["train", "--ranker", "--clf-epochs", "3"]) == 0
    assert cli.main(["train", "--schedule", "--interval", "60"]) == 0
    assert cli.main(["train", "--epochs", "2"]) == 0
    prog = ["--prog", "songrec"]  # the job's help and errors name `songrec`, not `python -m training`
    assert calls == [
        ("training", [*prog, "ranker", "--force"]),
        ("training", [*prog, "ranker", "--clf-epochs", "3"]),
        ("training", [*prog, "schedule", "--interval", "60"]),
        ("training", [*prog, "embedding", "--epochs", "2"]),
    ]


def test_bad_job_input_gets_a_friendly_error(
    trained_ranker: ranker_env.Trained, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from training.cli import main as training_main

    missing = tmp_path / "nope.sqlite3"
    assert training_main(["ranker", "--db", str(missing)]) == 2
    assert "no feedback database" in capsys.readouterr().err
    assert training_main(["schedule", "--db", str(missing)]) == 2
    assert "no feedback database" in capsys.readouterr().err
    db, root = ranker_env.trained_copy(trained_ranker, tmp_path)
    assert training_main(["ranker", "--db", str(db), "--config-json", '{"no_such_knob": 1}']) == 2
    assert "--config-json" in capsys.readouterr().err
