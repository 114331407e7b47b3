"""The Dockerfile cannot be built here (no Docker engine); this keeps its essentials from rotting."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def instructions(name: str) -> list[str]:
    return [line.split(None, 1)[1] for line in DOCKERFILE.splitlines() if line.upper().startswith(name + " ")]


def test_multi_stage_from_a_slim_python() -> None:
    stages = instructions("FROM")
    assert len(stages) >= 2
    assert all("slim" in s for s in stages)
    assert any(" AS runtime" in s for s in stages)


def test_runs_as_a_non_root_user() -> None:
    users = instructions("USER")
    assert users and users[-1].strip() not in {"root", "0"}
    assert "useradd" in DOCKERFILE


def test_data_on_a_volume_and_home_points_there() -> None:
    assert instructions("VOLUME") and "/data" in instructions("VOLUME")[0]
    assert "SONGREC_HOME=/data" in DOCKERFILE


def test_healthcheck_and_entrypoint_serve() -> None:
    assert instructions("HEALTHCHECK")
    entry = instructions("ENTRYPOINT")[-1] + " " + " ".join(instructions("CMD"))
    assert "songrec" in entry and "serve" in entry


def test_torch_pin_matches_the_project_and_cuda_is_a_build_arg() -> None:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pin = next(d for d in deps if d.startswith("torch"))
    assert pin == "torch==2.13.0"
    assert re.search(r"torch==2\.13\.0", DOCKERFILE)
    assert "ARG TORCH_VARIANT=cpu" in DOCKERFILE


def test_no_secrets_baked_in() -> None:
    assert not re.search(r"(DISCORD_TOKEN|SPOTIFY_CLIENT_SECRET)\s*=", DOCKERFILE)
