"""When the monthly mixes go out: an APScheduler cron job on the first of each month (UTC), in the bot.

The bot owns it (not training/, which bot/ never imports): the mix is posted to Discord, so it belongs
beside the gateway connection. Posting twice is impossible whatever the timing (the service claims each
server's month first), so the schedule can be generous: after a start in the first days of a month the
job also runs once, catching up a first-of-the-month that found the bot down.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.mix_posts import MixOutcome, post_monthly_mixes

if TYPE_CHECKING:
    from bot.app import SongrecBot

log = logging.getLogger("songrec.bot")

#: 00:05 UTC on the first: the month is over everywhere it is still the 1st or later in UTC.
TRIGGER = {"day": 1, "hour": 0, "minute": 5}
#: A start within this many days of a month's beginning runs the job once at start.
CATCH_UP_DAYS = 3
#: A run the scheduler missed (the loop was busy, the machine slept) still goes within this window.
MISFIRE_GRACE_S = 6 * 3600


class MixSchedule:
    """Starts and stops the first-of-the-month job; ``run`` is the job itself (tests call it directly)."""

    def __init__(self, bot: SongrecBot) -> None:
        self._bot = bot
        self._scheduler: AsyncIOScheduler | None = None

    def start(self, now: datetime | None = None) -> None:
        scheduler = AsyncIOScheduler(event_loop=asyncio.get_running_loop(), timezone=UTC)
        options = {"coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE_S}
        scheduler.add_job(self.run, CronTrigger(timezone=UTC, **TRIGGER), id="songrec-monthly-mix", **options)
        if (now or datetime.now(UTC)).day <= CATCH_UP_DAYS:
            scheduler.add_job(self.run, id="songrec-monthly-mix-catch-up", **options)
        scheduler.start()
        self._scheduler = scheduler
        log.info("monthly mixes go out at %s", self.next_run())

    def next_run(self) -> datetime | None:
        job = self._scheduler.get_job("songrec-monthly-mix") if self._scheduler else None
        return job.next_run_time if job is not None else None

    def stop(self) -> None:
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        self._scheduler = None

    async def run(self) -> list[MixOutcome]:
        await self._bot.wait_until_ready()  # the servers this process serves are known once ready
        outcomes = await post_monthly_mixes(self._bot)
        posted = sum(o.message is not None for o in outcomes)
        log.info("monthly mix job: %d posted, %d servers looked at", posted, len(outcomes))
        return outcomes
