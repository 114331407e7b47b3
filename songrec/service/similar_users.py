"""Listeners like you: user-user Pearson correlation over co-rated tracks (Spotify deep-learning paper,
eq. 1), on an in-memory copy of everyone's live likes and dislikes.

The copy is loaded from the store at start, updated by every vote this service records, and reloaded
from the database every `ratings_refresh_s` (another process may write to the same database). Votes
recorded while a reload is reading are replayed on top of it, so none is lost to the race.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Neighbour:
    user_id: int
    correlation: float
    overlap: int  # co-rated tracks


def pearson(a: list[int], b: list[int]) -> float:
    """Pearson correlation of two equally long vote vectors (+1/-1).

    When one side never varies (someone who only ever likes), Pearson is undefined; then the share of
    agreement is used instead (the cosine of two +-1 vectors): 1 when every vote agrees, -1 when none does.
    """
    n = len(a)
    if n == 0:
        return 0.0
    mean_a, mean_b = sum(a) / n, sum(b) / n
    cov = sum((x - mean_a) * (y - mean_b) for x, y in zip(a, b, strict=True))
    var_a = sum((x - mean_a) ** 2 for x in a)
    var_b = sum((y - mean_b) ** 2 for y in b)
    if var_a < 1e-12 or var_b < 1e-12:
        return sum(x * y for x, y in zip(a, b, strict=True)) / n
    return cov / math.sqrt(var_a * var_b)


class RatingsCache:
    """Everyone's live votes, by user and by track; thread-safe (read from worker threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_user: dict[int, dict[str, int]] = {}
        self._by_track: dict[str, dict[int, int]] = {}
        self._journal: list[tuple[str, int, str | None, int]] | None = None
        self.loaded_at = 0.0

    # -- updates (event loop) ---------------------------------------------------------------

    def set(self, user_id: int, track_id: str, value: int) -> None:
        with self._lock:
            self._set(user_id, track_id, value)
            if self._journal is not None:
                self._journal.append(("set", user_id, track_id, value))

    def remove(self, user_id: int, track_id: str) -> None:
        with self._lock:
            self._remove(user_id, track_id)
            if self._journal is not None:
                self._journal.append(("remove", user_id, track_id, 0))

    def forget(self, user_id: int) -> None:
        with self._lock:
            self._forget(user_id)
            if self._journal is not None:
                self._journal.append(("forget", user_id, None, 0))

    def begin_reload(self) -> None:
        with self._lock:
            self._journal = []

    def finish_reload(self, votes: Iterable[tuple[int, str, int]]) -> None:
        """Replace everything with `votes` (user, track, value), then replay what happened meanwhile."""
        by_user: dict[int, dict[str, int]] = {}
        by_track: dict[str, dict[int, int]] = {}
        for user, track, value in votes:
            by_user.setdefault(user, {})[track] = value
            by_track.setdefault(track, {})[user] = value
        with self._lock:
            journal, self._journal = self._journal or [], None
            self._by_user, self._by_track = by_user, by_track
            for op, user, track, value in journal:
                if op == "set" and track is not None:
                    self._set(user, track, value)
                elif op == "remove" and track is not None:
                    self._remove(user, track)
                elif op == "forget":
                    self._forget(user)
            self.loaded_at = time.monotonic()

    def abort_reload(self) -> None:
        with self._lock:
            self._journal = None

    def _set(self, user_id: int, track_id: str, value: int) -> None:
        self._by_user.setdefault(user_id, {})[track_id] = value
        self._by_track.setdefault(track_id, {})[user_id] = value

    def _remove(self, user_id: int, track_id: str) -> None:
        self._by_user.get(user_id, {}).pop(track_id, None)
        raters = self._by_track.get(track_id)
        if raters is not None:
            raters.pop(user_id, None)
            if not raters:
                del self._by_track[track_id]

    def _forget(self, user_id: int) -> None:
        for track in list(self._by_user.pop(user_id, {})):
            raters = self._by_track.get(track)
            if raters is not None:
                raters.pop(user_id, None)
                if not raters:
                    del self._by_track[track]

    # -- queries (any thread) ----------------------------------------------------------------

    def ratings_of(self, user_id: int) -> dict[str, int]:
        with self._lock:
            return dict(self._by_user.get(user_id, {}))

    def neighbours(
        self, user_id: int, *, min_overlap: int, min_correlation: float, limit: int
    ) -> list[Neighbour]:
        """Users whose votes correlate with this user's over at least `min_overlap` shared tracks."""
        with self._lock:
            mine = self._by_user.get(user_id, {})
            if len(mine) < min_overlap:
                return []
            shared: dict[int, list[str]] = {}
            for track in mine:
                for other in self._by_track.get(track, {}):
                    if other != user_id:
                        shared.setdefault(other, []).append(track)
            found = []
            for other, tracks in shared.items():
                if len(tracks) < min_overlap:
                    continue
                theirs = self._by_user[other]
                r = pearson([mine[t] for t in tracks], [theirs[t] for t in tracks])
                if r >= min_correlation:
                    found.append(Neighbour(other, r, len(tracks)))
        found.sort(key=lambda n: (-n.correlation, -n.overlap, n.user_id))
        return found[:limit]

    def neighbour_likes(self, user_id: int, neighbours: list[Neighbour]) -> dict[str, tuple[int, float]]:
        """Tracks the neighbours liked that the user has not rated: track -> (listeners, summed correlation)."""
        out: dict[str, tuple[int, float]] = {}
        with self._lock:
            mine = self._by_user.get(user_id, {})
            for n in neighbours:
                for track, value in self._by_user.get(n.user_id, {}).items():
                    if value > 0 and track not in mine:
                        count, vote = out.get(track, (0, 0.0))
                        out[track] = (count + 1, vote + n.correlation)
        return out
