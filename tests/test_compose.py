"""docker-compose.yml cannot be run here (no Docker engine): this parses it and checks that it describes
the deployment the code supports and tests/test_scale_two_processes.py runs: every SONGREC_ variable is
one songrec reads and parses, the bots share one PostgreSQL and one Redis, their shard ranges are
disjoint and cover SONGREC_SHARDS, the worker and the bots share one artifacts volume where the code
looks for it, health checks gate start-up, secrets come from the environment, and every command is
one the image's `songrec` entry point knows."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from songrec.settings import ENV_NAMES, Settings, parse_shard_ids

ROOT = Path(__file__).resolve().parent.parent
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
BOTS = sorted(name for name, s in SERVICES.items() if s.get("command") == ["serve"])
WORKERS = sorted(name for name, s in SERVICES.items() if s.get("command") == ["train", "--schedule"])
SONGREC_SERVICES = BOTS + WORKERS
PLACEHOLDER = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)(?::(?P<kind>[-?])(?P<rest>[^}]*))?\}")
SECRET = re.compile(r"(TOKEN|SECRET|PASSWORD)$")


def env_of(service: str) -> dict[str, str]:
    environment = SERVICES[service].get("environment") or {}
    assert isinstance(environment, dict), f"{service}: environment as a mapping"
    return {str(k): str(v) for k, v in environment.items()}


def resolved(value: str) -> str:
    """What compose would pass, with stand-ins for the host's values (defaults where given)."""
    return PLACEHOLDER.sub(
        lambda m: m["rest"] if m["kind"] == "-" else f"from-host-{m['name'].lower()}", value
    )


def dockerfile_home() -> str:
    match = re.search(r"SONGREC_HOME=(\S+)", (ROOT / "Dockerfile").read_text())
    assert match, "the Dockerfile sets SONGREC_HOME"
    return match[1]


def test_the_deployment_has_every_part() -> None:
    assert {"postgres", "redis"} <= set(SERVICES)
    assert len(BOTS) == 2 and WORKERS == ["trainer", "trainer-gpu"]
    assert SERVICES["postgres"]["image"].startswith("postgres:")
    assert SERVICES["redis"]["image"].startswith("redis:")
    for name in SONGREC_SERVICES:
        service = SERVICES[name]
        assert service["build"]["context"] == ".", f"{name} runs the image built from the Dockerfile"
        assert service["image"].startswith("songrec:")
    assert set(COMPOSE["volumes"]) == {"pgdata", "artifacts"}


def test_every_songrec_variable_is_one_the_code_reads_and_parses() -> None:
    for name in SONGREC_SERVICES:
        env = env_of(name)
        unknown = {
            k for k in env if k.startswith(("SONGREC_", "DISCORD_", "SPOTIFY_")) and k not in ENV_NAMES
        }
        assert not unknown, f"{name} sets variables songrec never reads: {unknown}"
        Settings.from_env({k: resolved(v) for k, v in env.items()})  # raises SettingsError on a bad value


def test_secrets_come_from_the_host_never_from_the_file() -> None:
    for name, service in SERVICES.items():
        for key, value in (service.get("environment") or {}).items():
            if SECRET.search(str(key)):
                assert PLACEHOLDER.fullmatch(str(value)), f"{name}: {key} must be ${{...}} from the host"


def test_bots_and_worker_share_one_database_and_one_redis() -> None:
    urls = {name: env_of(name)["SONGREC_DATABASE_URL"] for name in SONGREC_SERVICES}
    assert len(set(urls.values())) == 1, urls
    database = urlsplit(next(iter(urls.values())))
    assert database.scheme == "postgresql" and database.hostname == "postgres" and database.password is None
    pg = env_of("postgres")
    assert database.username == pg["POSTGRES_USER"] and database.path == "/" + pg["POSTGRES_DB"]
    for name in SONGREC_SERVICES:  # the password reaches asyncpg as PGPASSWORD, the same host secret
        assert env_of(name)["PGPASSWORD"] == pg["POSTGRES_PASSWORD"]
    redis = {env_of(name)["SONGREC_REDIS_URL"] for name in SONGREC_SERVICES}
    assert len(redis) == 1 and urlsplit(redis.pop()).hostname == "redis"


def test_shard_ranges_are_disjoint_and_cover_every_shard() -> None:
    counts = {int(env_of(name)["SONGREC_SHARDS"]) for name in BOTS}
    assert len(counts) == 1, "every bot process must agree on SONGREC_SHARDS"
    count = counts.pop()
    ranges = [set(parse_shard_ids(env_of(name)["SONGREC_SHARD_IDS"], count)) for name in BOTS]
    assert sum(len(r) for r in ranges) == len(set().union(*ranges)), "disjoint"
    assert set().union(*ranges) == set(range(count)), "every shard has a process"
    assert all(env_of(name)["SONGREC_RETRAIN"] == "off" for name in BOTS), "the worker trains, not the bots"


def test_one_artifacts_volume_where_the_code_looks() -> None:
    artifacts = f"{dockerfile_home()}/artifacts"  # songrec.settings.artifacts_dir(): SONGREC_HOME/artifacts
    for name in SONGREC_SERVICES:
        mounts = {m.split(":")[1]: m.split(":")[0] for m in SERVICES[name]["volumes"]}
        assert mounts.get(artifacts) == "artifacts", (
            f"{name} mounts the shared artifacts volume at {artifacts}"
        )
    assert any(m.startswith("pgdata:/var/lib/postgresql") for m in SERVICES["postgres"]["volumes"])


def test_health_checks_gate_start_up() -> None:
    for name in ("postgres", "redis", *BOTS):
        assert SERVICES[name]["healthcheck"]["test"], f"{name} has a health check"
    for name in SONGREC_SERVICES:
        needs = SERVICES[name]["depends_on"]
        assert needs["postgres"]["condition"] == needs["redis"]["condition"] == "service_healthy"
    later = [n for n in BOTS if any(b in SERVICES[n]["depends_on"] for b in BOTS)]
    assert later, "bot processes start one after another (one IDENTIFY per 5 s)"
    assert "--save" in SERVICES["redis"]["command"] and "no" in SERVICES["redis"]["command"]


def test_the_gpu_profile_reserves_an_nvidia_device() -> None:
    gpu = SERVICES["trainer-gpu"]
    assert gpu["profiles"] == ["gpu"] and "profiles" not in SERVICES["trainer"]
    assert gpu["build"]["args"]["TORCH_VARIANT"].startswith("cu"), "the CUDA build of torch"
    (device,) = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and "gpu" in device["capabilities"]
    assert SERVICES["trainer"]["build"]["args"]["TORCH_VARIANT"] == "cpu"


def test_every_command_is_one_the_entry_point_knows(monkeypatch: pytest.MonkeyPatch) -> None:
    from songrec.cli import main as cli

    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r'^ENTRYPOINT \["songrec"\]', dockerfile, re.M)
    assert 'songrec = "songrec.cli.main:main"' in (ROOT / "pyproject.toml").read_text()
    choices = next(a for a in cli.build_parser()._actions if a.dest == "command").choices  # type: ignore[union-attr]
    for name in SONGREC_SERVICES:
        assert SERVICES[name]["command"][0] in choices, name
    for name in BOTS:
        assert SERVICES[name]["healthcheck"]["test"][:3] == ["CMD", "songrec", "status"]
        assert "status" in choices
    calls: list[tuple[str, list[str]]] = []
    monkeypatch.setattr(cli, "run_child", lambda module, argv: calls.append((module, list(argv))) or 0)
    for name in WORKERS:
        assert cli.main(SERVICES[name]["command"]) == 0
    assert calls and all(c == ("training", ["--prog", "songrec", "schedule"]) for c in calls)
