"""Keeping the in-memory ratings (listeners like you, a ranker's fold-in) in step with the database.

Every vote this process takes goes into the RatingsCache as it is made; this catches up with what other
processes wrote: votes newer than the last one seen (incremental, after `ratings_refresh_s`), and now and
then every live vote again (full), which is the only way to see another process's undo or forget.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterator

from songrec.domain import VotePage
from songrec.service.config import ServiceConfig
from songrec.service.errors import db_errors
from songrec.service.runtime import CpuPool, long_lived_build
from songrec.service.similar_users import RatingsCache
from songrec.service.user_data import UserData
from songrec.store import StoreBackend

log = logging.getLogger(__name__)

#: Incremental ratings refreshes cannot see an undo or a forget made by another process (no newer row):
#: a full reload this often catches those up.
RATINGS_FULL_REFRESH_S = 600.0
#: Votes per page when reading them for the ratings (each page is converted on the event loop).
RATINGS_PAGE = 2000


def _drained(pages: list[VotePage]) -> Iterator[VotePage]:
    """The pages in order, each let go of as the next is taken: they are freed where they are consumed (a
    worker thread), not on the loop when the refresh returns (~70 ms of deallocation at 1M votes)."""
    pages.reverse()
    while pages:
        yield pages.pop()


def _votes_of(pages: list[VotePage]) -> Iterator[tuple[int, str, int]]:
    """(user, track, value) per live vote, made lazily where it is consumed (a worker thread)."""
    for page in _drained(pages):
        yield from zip(page.user_ids, page.track_ids, page.values, strict=True)


def _changes_of(pages: list[VotePage]) -> Iterator[tuple[int, int, str, int]]:
    """(id, user, track, value) per vote since the last refresh; value 0 for a vote since undone."""
    for page in _drained(pages):
        for row_id, user, track, value, gone in zip(
            page.ids, page.user_ids, page.track_ids, page.values, page.undone, strict=True
        ):
            yield row_id, user, track, 0 if gone else value


class RatingsRefresh:
    """Reloads the ratings from the store: in the background when they are stale, or when asked."""

    def __init__(
        self,
        store: StoreBackend,
        cpu: CpuPool,
        ratings: RatingsCache,
        user_data: UserData,
        config: ServiceConfig,
    ) -> None:
        self._store = store
        self._cpu = cpu
        self._ratings = ratings
        self._user_data = user_data
        self._config = config
        self._task: asyncio.Task[None] | None = None
        self._full_at = 0.0
        #: How long the last refresh took, in seconds.
        self.last_s = 0.0

    def maybe_start(self) -> None:
        """Start a background refresh if the ratings are older than `ratings_refresh_s` (a request asks)."""
        stale = time.monotonic() - self._ratings.loaded_at > self._config.ratings_refresh_s
        if stale and (self._task is None or self._task.done()):
            self._task = asyncio.create_task(self._quietly(), name="songrec-ratings-refresh")

    def cancel(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()

    async def _quietly(self) -> None:
        try:
            await self.reload(full=time.monotonic() - self._full_at > RATINGS_FULL_REFRESH_S)
        except Exception as exc:  # a refresh failing must not fail a request: retry next time
            log.warning("could not refresh ratings from the database: %s", exc)

    async def reload(self, full: bool = True) -> None:
        """Bring the in-memory ratings up to date: every live vote (full), or only the votes newer than the
        last one seen. Rows are read a page at a time (each page is a short step on the event loop) and
        folded in on a worker thread, so neither blocks the loop for long at a million votes."""
        with long_lived_build() if full else contextlib.nullcontext():
            await self._reload_pages(full)

    async def _reload_pages(self, full: bool) -> None:
        ratings = self._ratings
        since = 0 if full else ratings.last_id
        ratings.begin_reload()
        started = time.monotonic()
        try:
            with db_errors():
                if full:
                    await self._user_data.load_privacy()  # another process may have changed someone's
                    last = await self._store.last_feedback_id()
                    pages = [page async for page in self._store.iter_vote_pages(batch_size=RATINGS_PAGE)]
                else:
                    pages = [
                        page
                        async for page in self._store.iter_vote_pages(
                            since, include_undone=True, batch_size=RATINGS_PAGE
                        )
                    ]
        except BaseException:
            ratings.abort_reload()
            raise
        # The pages stay columns until the worker thread walks them: a million (user, track, value) tuples
        # made on the loop set off the garbage collector's full passes there (a 305 ms step at 1M votes).
        if full:
            await self._cpu.run(ratings.finish_reload, _votes_of(pages), last)
            self._full_at = time.monotonic()
        else:
            await self._cpu.run(ratings.apply_changes, _changes_of(pages))
        self.last_s = time.monotonic() - started
