"""/compat: how alike two listeners are, the songs they both like, and three both would like.

Votes first: Pearson over the tracks both rated, when there are at least `similar_min_overlap` of them
(the same measure as listeners-like-you). Otherwise their taste profiles: the cosine of the mean
embeddings of their likes. The answer says which. The shared suggestions are the group-session blend
(sessions.plan_session) for the two of them. Only someone who shares their taste (/privacy) is compared.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from songrec.content.engine import Engine
from songrec.domain import InvalidInput, TasteMatch, TrackInfo
from songrec.service import checks
from songrec.service.config import ServiceConfig
from songrec.service.errors import db_errors
from songrec.service.runtime import CpuPool, Serving
from songrec.service.scoring import CandidateScorer
from songrec.service.sessions import MemberTaste, plan_session
from songrec.service.similar_users import Neighbour, RatingsCache, pearson
from songrec.service.tracks import rows_of
from songrec.service.user_data import UserData
from songrec.store import StoreBackend

BOTH_LIKE_SHOWN = 5
SHARED_PICKS = 3
MAX_NEIGHBOURS = 25
#: Neighbours looked at before keeping those of the guild (the cache's search is bounded by the asker).
CANDIDATES = 500


def describe(method: str, score: float, overlap: int) -> str:
    if method == "none":
        return "Not enough to compare yet: you both need a few likes first."
    strength = (
        "Very alike"
        if score >= 0.6
        else "Quite alike"
        if score >= 0.3
        else "A little alike"
        if score >= 0
        else "Opposite tastes"
    )
    if method == "votes":
        return f"{strength}: {score:+.2f} agreement over {overlap} songs you both rated."
    why = (
        f"only {overlap} song{'s' if overlap != 1 else ''} rated by both"
        if overlap
        else "no song rated by both"
    )
    return f"{strength}: taste profiles {score:+.2f} similar ({why}, so by the kind of songs you like)."


class TasteMatcher:
    def __init__(
        self,
        store: StoreBackend,
        serving: Serving,
        cpu: CpuPool,
        ratings: RatingsCache,
        user_data: UserData,
        config: ServiceConfig,
    ) -> None:
        self._store = store
        self._ratings = ratings
        self._serving = serving
        self._cpu = cpu
        self._user_data = user_data
        self._config = config

    async def compat(self, user_id: int, other_id: int) -> TasteMatch:
        uid, oid = checks.user(user_id), checks.user(other_id)
        if uid == oid:
            raise InvalidInput("Pick someone other than yourself to compare tastes with.")
        self._user_data.require_shared(oid, uid)
        with db_errors():
            mine, theirs = await self._store.feedback_for_user(uid), await self._store.feedback_for_user(oid)
        engine = self._serving.engine
        a = {v.track_id: v.value for v in mine}
        b = {v.track_id: v.value for v in theirs}
        return await self._cpu.run(_match, engine, self._serving.ranker, self._config, uid, oid, a, b)

    async def correlated(self, uid: int, limit: int) -> list[Neighbour]:
        """Listeners whose votes correlate with this (checked) user's, by the service's thresholds, off the
        event loop: what /neighbours and Service.similar_users both stand on."""
        cfg = self._config
        return await self._cpu.run(
            partial(
                self._ratings.neighbours,
                uid,
                min_overlap=cfg.similar_min_overlap,
                min_correlation=cfg.similar_min_correlation,
                limit=limit,
            )
        )

    async def neighbours(
        self, user_id: int, *, guild_id: int | None = None, limit: int = 5
    ) -> list[tuple[int, float]]:
        """The closest listeners by Pearson (only those who share, see RatingsCache), in this guild when
        given: those who voted there."""
        uid = checks.user(user_id)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_NEIGHBOURS:
            raise InvalidInput(f"Ask for between 1 and {MAX_NEIGHBOURS} listeners.")
        found = await self.correlated(uid, CANDIDATES if guild_id is not None else limit)
        if guild_id is not None and found:
            with db_errors():
                here = set(
                    await self._store.voted_in_guild(checks.user(guild_id), [n.user_id for n in found])
                )
            found = [n for n in found if n.user_id in here]
        return [(n.user_id, round(n.correlation, 4)) for n in found[:limit]]


def _match(
    engine: Engine,
    ranker: CandidateScorer | None,
    cfg: ServiceConfig,
    uid: int,
    oid: int,
    a: dict[str, int],
    b: dict[str, int],
) -> TasteMatch:
    shared = [t for t in a if t in b]
    liked_a = rows_of(engine, [t for t, v in a.items() if v > 0])
    liked_b = rows_of(engine, [t for t, v in b.items() if v > 0])
    if len(shared) >= cfg.similar_min_overlap:
        method, score = "votes", pearson([a[t] for t in shared], [b[t] for t in shared])
    elif liked_a and liked_b:
        method, score = "profiles", _cosine(engine, liked_a, liked_b)
    else:
        method, score = "none", 0.0
    both = rows_of(engine, [t for t in shared if a[t] > 0 and b[t] > 0])[:BOTH_LIKE_SHOWN]
    picks: list[TrackInfo] = []
    if liked_a or liked_b:
        members = [
            MemberTaste(uid, liked_a, rows_of(engine, [t for t, v in a.items() if v < 0])),
            MemberTaste(oid, liked_b, rows_of(engine, [t for t, v in b.items() if v < 0])),
        ]
        rated = frozenset(rows_of(engine, list({*a, *b})))
        found = plan_session(engine, members, "average", SHARED_PICKS, rated, (), cfg, ranker)
        picks = [engine.info(p.row) for p in found[:SHARED_PICKS]]
    return TasteMatch(
        user_id=uid,
        other_id=oid,
        method=method,
        score=round(float(score), 4),
        overlap=len(shared),
        both_like=tuple(engine.info(r) for r in both),
        suggestions=tuple(picks),
        summary=describe(method, float(score), len(shared)),
    )


def _cosine(engine: Engine, rows_a: tuple[int, ...], rows_b: tuple[int, ...]) -> float:
    pa = engine.embeddings[list(rows_a)].astype(np.float64).mean(axis=0)
    pb = engine.embeddings[list(rows_b)].astype(np.float64).mean(axis=0)
    norm = float(np.linalg.norm(pa) * np.linalg.norm(pb))
    return float(pa @ pb / norm) if norm > 1e-12 else 0.0
