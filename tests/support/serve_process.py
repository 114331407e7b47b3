"""`songrec serve` as a child process of a test, talking to the FakeDiscord the test runs.

    python -m tests.support.serve_process PORT

Everything else comes from the environment, exactly as for `songrec serve` (DISCORD_TOKEN, SONGREC_*):
this only points discord.py's REST and gateway at the fake on 127.0.0.1:PORT (what FakeDiscord.patch
does inside a test process) and makes the learning loop's ranker training the tests' small config,
then hands over to songrec.cli.serve.main, the real composition root.
"""

from __future__ import annotations

import sys
from typing import Any


def point_discord_at(port: int) -> None:
    import discord.gateway
    import discord.http
    import yarl

    from tests.support.discord_server import API_PREFIX

    discord.http.Route.BASE = f"http://127.0.0.1:{port}{API_PREFIX}"
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(f"ws://127.0.0.1:{port}/gateway/")


def small_training() -> None:
    """The retrains this process starts train tests/support/ranker_env.py's small, fast config."""
    from tests.support.ranker_env import fast_args
    from training import scheduler

    original = scheduler.ScheduleConfig.from_env.__func__  # type: ignore[attr-defined]

    def from_env(cls: type[scheduler.ScheduleConfig], env: Any = None, **overrides: Any) -> Any:
        return original(cls, env, **{"job_args": tuple(fast_args()), **overrides})

    scheduler.ScheduleConfig.from_env = classmethod(from_env)  # type: ignore[method-assign,assignment]


def main(argv: list[str]) -> int:
    point_discord_at(int(argv[0]))
    small_training()
    from songrec.cli.serve import main as serve_main

    return serve_main([])


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
