"""`songrec serve`: the composition root, where the real service, the learning loop and the bot meet.

The bot (bot/) knows only the SongService protocol and the learning loop (training/) only the service it
retrains for, so neither imports the other: this module opens the service, starts the learning loop
beside it (kept on `service.learning`, which /admin retrain reads) and hands the running service to
`bot.app.run_bot`. `python -m bot` lands here too.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import TYPE_CHECKING, Any

from songrec.domain import BotConfigError, SongrecError

if TYPE_CHECKING:
    from bot.app import BotConfig
    from training.scheduler import EmbeddedTraining

log = logging.getLogger("songrec.bot")

EXIT_OK, EXIT_FAIL, EXIT_CONFIG, EXIT_NO_MODEL = 0, 1, 2, 4


async def start_learning(service: Any) -> EmbeddedTraining | None:
    """The learning loop beside the bot: hot-swap promoted rankers, retrain on schedule (in subprocesses).

    Set on `service.learning` for /admin retrain. A failure here must not stop the bot from serving.
    """
    try:
        from training.scheduler import start_embedded

        learning = await start_embedded(service)
    except Exception:
        log.exception("the learning loop did not start; serving without retraining")
        return None
    service.learning = learning
    return learning


async def serve(config: BotConfig) -> None:
    """Open the real service (and Spotify, metrics when configured), start learning, run the bot until stopped."""
    from bot.app import run_bot
    from songrec import settings as paths
    from songrec.coordination import open_coordination
    from songrec.ops.metrics import start_from_env as start_metrics_from_env
    from songrec.service import Service, ServiceConfig  # the real service, opened lazily (pandas, hnswlib)
    from songrec.service.config import serving_plan_processes
    from songrec.spotify import SpotifyClient, SpotifyConfig

    metrics_server = start_metrics_from_env()  # SONGREC_METRICS_PORT; off by default
    spotify_config = SpotifyConfig.from_env()  # optional: links outside the catalogue need it
    spotify = SpotifyClient(spotify_config) if spotify_config.configured else None
    # SONGREC_REDIS_URL: shared with the other bot processes; Redis down is one warning, not a stop.
    coordination = await open_coordination()
    try:
        service = await Service.open(
            db_path=paths.database_location(),
            artifacts=paths.artifacts_dir(),
            spotify=spotify,
            config=ServiceConfig(plan_processes=serving_plan_processes(paths.get_settings().plan_processes)),
            coordination=coordination,
        )
        learning = await start_learning(service)
        try:
            await run_bot(service, config=config, coordination=coordination)
        finally:
            if learning is not None:
                await learning.stop()
            await service.close()
    finally:
        await coordination.close()
        if spotify is not None:
            spotify.close()
        if metrics_server is not None:
            metrics_server.close()


def main(argv: list[str] | None = None) -> int:
    """Check the bot's configuration first (cheap, clear), then open the service and serve.

    Returns a process exit code; configuration problems print one actionable message, no traceback.
    """
    from bot.app import load_config, setup_logging

    try:
        config = load_config()
        setup_logging()  # before the service opens, so its log lines are redacted and one-line too
        asyncio.run(serve(config))
    except BotConfigError as error:
        print(f"songrec bot: {error}", file=sys.stderr)
        return EXIT_CONFIG
    except SongrecError as error:  # no trained model yet, database unusable: one sentence, no traceback
        print(f"songrec bot: {error}", file=sys.stderr)
        return EXIT_NO_MODEL if "songrec train" in str(error) else EXIT_FAIL
    except KeyboardInterrupt:
        return EXIT_OK
    return EXIT_OK
