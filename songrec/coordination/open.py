"""Which coordination to use: Redis when SONGREC_REDIS_URL names one, else this process alone."""

from __future__ import annotations

import logging

from songrec.coordination.contract import Coordination
from songrec.coordination.local import LocalCoordination
from songrec.domain import SettingsError
from songrec.settings import get_settings, redact_url, redis_url_problem

log = logging.getLogger("songrec.coordination")


async def open_coordination(url: str | None = None) -> Coordination:
    """Redis at `url` (default: SONGREC_REDIS_URL), or LocalCoordination when none is configured.

    Redis being down is not an error: the deployment starts in per-process mode with one warning and
    shares state again as soon as Redis answers. A malformed URL is a SettingsError naming the variable.
    """
    if url is None:
        url = get_settings().redis_url
    if not url:
        return LocalCoordination()
    problem = redis_url_problem(url)
    if problem:
        raise SettingsError(
            f"SONGREC_REDIS_URL must be redis://host:port/db (or rediss://, unix:///path) ({problem})."
        )
    from songrec.coordination.redis_backend import RedisCoordination

    coordination = RedisCoordination.connect(url, label=redact_url(url))
    if await coordination.ping():
        log.info("shared state in %s", coordination.describe())
    return coordination
