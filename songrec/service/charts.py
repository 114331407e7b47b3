"""/charts: a server's most liked songs and artists over a week, a month or all time.

Only votes given in that server count, and only those of listeners who share their taste (/privacy):
"private" and "off" listeners are left out of every count, as they are of listeners-like-you and
/compat. The same tally feeds the monthly mix (server_mix.py).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from songrec.content.engine import Engine
from songrec.domain import CHART_PERIODS, DEFAULT_PRIVACY, FeedbackRecord, InvalidInput, ServerCharts
from songrec.service import checks
from songrec.service.errors import db_errors
from songrec.service.runtime import CpuPool, Serving
from songrec.service.tracks import track_info
from songrec.service.user_data import UserData
from songrec.store import StoreBackend

DAY_S = 86_400.0
PERIOD_SECONDS: dict[str, float | None] = {"week": 7 * DAY_S, "month": 30 * DAY_S, "all": None}
PERIOD_WORDS = {"week": "this week", "month": "in the last 30 days", "all": "so far"}
PERIOD_HELP = "Pick a period: week, month or all."
MAX_CHART = 25
TOP_ARTISTS = 5


@dataclass(frozen=True)
class Tally:
    """What a server's votes over a span add up to, opted-out listeners left out."""

    likes_by_track: dict[str, int]  # track id -> likes, most liked first (ties: liked first, first)
    net_by_track: dict[str, int]  # likes minus dislikes
    liked_by: dict[int, list[str]]  # listener -> the tracks they liked, in vote order
    disliked_by: dict[int, list[str]]
    listeners: int  # who voted at all
    likes: int

    def top_artists(self, engine: Engine, n: int = TOP_ARTISTS) -> list[tuple[str, int]]:
        counts: Counter[str] = Counter()
        for track_id, likes in self.likes_by_track.items():
            for artist in track_info(engine, track_id).artists:
                counts[artist] += likes
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


def tally(votes: Iterable[FeedbackRecord], shares: Callable[[int], bool]) -> Tally:
    likes: Counter[str] = Counter()
    net: Counter[str] = Counter()
    liked_by: dict[int, list[str]] = {}
    disliked_by: dict[int, list[str]] = {}
    first: dict[str, int] = {}
    voters: set[int] = set()
    for vote in votes:
        if not shares(vote.user_id):
            continue
        voters.add(vote.user_id)
        net[vote.track_id] += vote.value
        if vote.value > 0:
            likes[vote.track_id] += 1
            first.setdefault(vote.track_id, vote.id)
            liked_by.setdefault(vote.user_id, []).append(vote.track_id)
        else:
            disliked_by.setdefault(vote.user_id, []).append(vote.track_id)
    order = sorted(likes, key=lambda t: (-likes[t], -net[t], first[t]))
    return Tally(
        likes_by_track={t: likes[t] for t in order},
        net_by_track=dict(net),
        liked_by=liked_by,
        disliked_by=disliked_by,
        listeners=len(voters),
        likes=sum(likes.values()),
    )


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def listing(names: list[str]) -> str:
    """'A', 'A and B', 'A, B and C'."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def chart_summary(period: str, t: Tally, artists: list[tuple[str, int]]) -> str:
    when = PERIOD_WORDS[period]
    if not t.likes:
        return (
            f"Nobody here has liked a song {when} yet: rate suggestions with 👍 (or /like) and the "
            "charts fill up."
        )
    text = f"Most liked here {when}: {plural(t.listeners, 'listener')}, {plural(t.likes, 'like')}"
    if artists:
        text += f"; top artist{'s' if len(artists) > 1 else ''} {listing([a for a, _ in artists[:3]])}"
    return text + "."


class ChartBook:
    """Reads a server's votes for a span and ranks them."""

    def __init__(
        self,
        store: StoreBackend,
        serving: Serving,
        cpu: CpuPool,
        user_data: UserData,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._serving = serving
        self._cpu = cpu
        self._user_data = user_data
        self._clock = clock

    def shares(self, user_id: int) -> bool:
        """Whether a listener's votes may show in what others see (/privacy)."""
        return self._user_data.choice(user_id) == DEFAULT_PRIVACY

    async def tally(self, guild_id: int, since: float | None, until: float | None) -> Tally:
        with db_errors():
            votes = await self._store.guild_feedback(guild_id, since=since, until=until)
        return await self._cpu.run(tally, votes, self.shares)

    async def charts(self, guild_id: int, period: str = "week", limit: int = 10) -> ServerCharts:
        gid = checks.guild(guild_id)
        if period not in CHART_PERIODS:
            raise InvalidInput(PERIOD_HELP)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_CHART:
            raise InvalidInput(f"Charts list between 1 and {MAX_CHART} songs.")
        span = PERIOD_SECONDS[period]
        counted = await self.tally(gid, None if span is None else self._clock() - span, None)
        engine = self._serving.engine
        artists = counted.top_artists(engine)
        songs = list(counted.likes_by_track.items())[:limit]
        return ServerCharts(
            guild_id=gid,
            period=period,
            songs=tuple((track_info(engine, t), n) for t, n in songs),
            artists=tuple(artists),
            listeners=counted.listeners,
            likes=counted.likes,
            summary=chart_summary(period, counted, artists),
        )
