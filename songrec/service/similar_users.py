"""Listeners like you: user-user Pearson correlation over co-rated tracks (Spotify deep-learning paper,
eq. 1), on an in-memory copy of everyone's live likes and dislikes.

The copy is loaded from the store at start, updated by every vote this service records, and brought up
to date from the database every `ratings_refresh_s` (another process may write to the same database):
incrementally, with only the votes newer than the last one seen (`apply_changes`), and in full now and
then (`finish_reload`), since an undo or a forget by another process changes no newer row. Votes
recorded while a refresh is reading are replayed on top of it, so none is lost to the race.

The neighbour search counts co-raters in C (collections.Counter over each rated track's raters), at most
`MAX_RATERS_PER_TRACK` of the newest raters of any one track, so its cost is bounded by the user's own
votes, whatever the size of the community.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from songrec.content.engine import Engine
    from songrec.service.config import ServiceConfig

#: Co-raters counted per track: a hit rated by everyone says little about who is alike, and the walk
#: over its raters would otherwise grow with the community.
MAX_RATERS_PER_TRACK = 2000


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
    return _pearson_of_sums(
        len(a),
        sum(a),
        sum(b),
        sum(x * y for x, y in zip(a, b, strict=True)),
        sum(x * x for x in a),
        sum(y * y for y in b),
    )


def _pearson_of_sums(n: int, sa: int, sb: int, sab: int, saa: int, sbb: int) -> float:
    """`pearson` from the vectors' sums. Votes are integers, so every sum is exact whatever order the
    co-rated tracks come in, and one pair's r is the same float however it was reached."""
    if n == 0:
        return 0.0
    var_a, var_b = n * saa - sa * sa, n * sbb - sb * sb  # n^2 times the variances, exactly
    if var_a <= 0 or var_b <= 0:
        return sab / n
    return (n * sab - sa * sb) / math.sqrt(var_a * var_b)


def _dismantle(*maps: dict) -> None:
    """Free replaced maps one inner map at a time. Dropping a million votes' maps at once is one C call
    holding the GIL for hundreds of milliseconds (a 341 ms event-loop step at 1M votes); one popitem per
    user or track is a short step other threads run between. Only for maps no reader can still reach."""
    for m in maps:
        while m:
            m.popitem()


class RatingsCache:
    """Everyone's live votes, by user and by track; thread-safe (read from worker threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_user: dict[int, dict[str, int]] = {}
        self._by_track: dict[str, dict[int, int]] = {}
        self._journal: list[tuple[str, int, str | None, int]] | None = None
        self._names: dict[str, str] = {}  # one str object per track id, shared by both maps
        self.loaded_at = 0.0
        #: The newest feedback id folded in from the database: the next incremental refresh starts after it.
        self.last_id = 0
        #: Listeners who opted out (/privacy): never anyone's neighbour; "off" ones get none either.
        self._hidden: set[int] = set()
        self._unlearned: set[int] = set()

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

    def finish_reload(self, votes: Iterable[tuple[int, str, int]], last_id: int = 0) -> None:
        """Replace everything with `votes` (user, track, value), then replay what happened meanwhile.

        The new maps are built outside the lock (requests keep reading the old ones meanwhile)."""
        by_user: dict[int, dict[str, int]] = {}
        by_track: dict[str, dict[int, int]] = {}
        names: dict[str, str] = {}
        for user, track, value in votes:
            track = names.setdefault(track, track)
            by_user.setdefault(user, {})[track] = value
            by_track.setdefault(track, {})[user] = value
        with self._lock:
            journal, self._journal = self._journal or [], None
            old = self._by_user, self._by_track
            self._by_user, self._by_track, self._names = by_user, by_track, names
            self._replay(journal)
            self.last_id = max(self.last_id, last_id)
            self.loaded_at = time.monotonic()
        _dismantle(*old)

    def apply_changes(self, changes: Iterable[tuple[int, int, str, int]]) -> None:
        """Fold in (id, user, track, value) rows newer than `last_id`, by id; value 0 means the row was
        undone. A pair's newest row says what holds now: a live row is the vote, an undone one means none
        (a live vote is always its pair's newest row). Then replay what happened while they were read."""
        final: dict[tuple[int, str], int] = {}
        newest = 0
        for row_id, user, track, value in changes:
            final[(user, track)] = value
            newest = max(newest, row_id)
        with self._lock:
            journal, self._journal = self._journal or [], None
            for (user, track), value in final.items():
                if value:
                    self._set(user, track, value)
                else:
                    self._remove(user, track)
            self._replay(journal)
            self.last_id = max(self.last_id, newest)
            self.loaded_at = time.monotonic()

    def _replay(self, journal: list[tuple[str, int, str | None, int]]) -> None:
        for op, user, track, value in journal:
            if op == "set" and track is not None:
                self._set(user, track, value)
            elif op == "remove" and track is not None:
                self._remove(user, track)
            elif op == "forget":
                self._forget(user)

    def abort_reload(self) -> None:
        with self._lock:
            self._journal = None

    def _set(self, user_id: int, track_id: str, value: int) -> None:
        track_id = self._names.setdefault(track_id, track_id)
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

    def set_privacy(self, user_id: int, choice: str) -> None:
        """Apply a /privacy choice at once: "private" hides the user from others, "off" also from themself."""
        with self._lock:
            self._hidden.discard(user_id)
            self._unlearned.discard(user_id)
            if choice in ("private", "off"):
                self._hidden.add(user_id)
            if choice == "off":
                self._unlearned.add(user_id)

    def replace_privacy(self, choices: dict[int, str]) -> None:
        """Every stored opt-out at once (start-up and full refreshes: another process may have changed one)."""
        hidden = {u for u, c in choices.items() if c in ("private", "off")}
        unlearned = {u for u, c in choices.items() if c == "off"}
        with self._lock:
            self._hidden, self._unlearned = hidden, unlearned

    # -- queries (any thread) ----------------------------------------------------------------

    def ratings_of(self, user_id: int) -> dict[str, int]:
        """A copy of the user's votes. Without the lock: the event loop asks (for a ranker in a planning
        process), and a neighbour search holds the lock for up to tens of milliseconds at a million
        votes. Copying one dict is one C call under the GIL, so the copy is still a consistent one."""
        if user_id in self._unlearned:  # opted out of all learning: no model folds them in
            return {}
        return dict(self._by_user.get(user_id, {}))

    def search_size(self, user_id: int) -> int:
        """How many raters `neighbours` would walk for this user: what its time grows with (~0.6 us each).

        Asked on the event loop, so it takes no lock (a search in a thread may hold it for tens of ms):
        the user's tracks are copied in one C call, and each count is one atomic read."""
        by_track = self._by_track
        tracks = list(self._by_user.get(user_id, ()))
        return sum(min(len(by_track.get(t, ())), MAX_RATERS_PER_TRACK) for t in tracks)

    def neighbours(
        self, user_id: int, *, min_overlap: int, min_correlation: float, limit: int
    ) -> list[Neighbour]:
        """Users whose votes correlate with this user's over at least `min_overlap` shared tracks."""
        with self._lock:
            mine = self._by_user.get(user_id, {})
            if len(mine) < min_overlap or user_id in self._unlearned:
                return []
            counts: Counter[int] = Counter()
            for track in mine:
                raters = self._by_track.get(track, {})
                if len(raters) > MAX_RATERS_PER_TRACK:  # the newest raters of a hit (dicts keep order)
                    counts.update(itertools.islice(reversed(raters), MAX_RATERS_PER_TRACK))
                else:
                    counts.update(raters.keys())  # keys: a mapping would add its values
            counts.pop(user_id, None)
            for hidden in self._hidden.intersection(counts):
                del counts[hidden]
            found = []
            for other, overlap in counts.items():
                if overlap < min_overlap:
                    continue
                theirs = self._by_user[other]
                sa = sb = sab = saa = sbb = 0
                shared = mine.keys() & theirs.keys()  # in C; the sums are exact in any order
                for track in shared:
                    x, y = mine[track], theirs[track]
                    sa += x
                    sb += y
                    sab += x * y
                    saa += x * x
                    sbb += y * y
                r = _pearson_of_sums(len(shared), sa, sb, sab, saa, sbb)
                if r >= min_correlation:
                    found.append(Neighbour(other, r, len(shared)))
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


#: Listeners-like-you candidates handed to the planner at most.
MAX_PLANNER_LIKES = 500


def planner_likes(
    ratings: RatingsCache, engine: Engine, user_id: int, cfg: ServiceConfig
) -> tuple[tuple[int, int, float], ...]:
    """What the listener's neighbours liked, as the planner takes it: (row, listeners, summed correlation),
    strongest first (CPU work: run it in the pool)."""
    neighbours = ratings.neighbours(
        user_id,
        min_overlap=cfg.similar_min_overlap,
        min_correlation=cfg.similar_min_correlation,
        limit=cfg.similar_max_neighbours,
    )
    if not neighbours:
        return ()
    found = []
    for track_id, (count, vote) in ratings.neighbour_likes(user_id, neighbours).items():
        row = engine.row_of(track_id)
        if row is not None:
            found.append((row, count, vote))
    found.sort(key=lambda f: (-f[2], -f[1], f[0]))
    return tuple(found[:MAX_PLANNER_LIKES])
