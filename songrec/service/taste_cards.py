"""/taste: a listener's taste card, drawn on the CPU pool (never on the event loop).

Someone else's card is refused when they opted out (/privacy); a listener with no likes gets words,
not an empty picture.
"""

from __future__ import annotations

from songrec.content.cards import render_taste_card, taste_facts
from songrec.content.engine import Engine
from songrec.domain import TasteCard
from songrec.service import checks
from songrec.service.errors import db_errors
from songrec.service.runtime import CpuPool, Serving
from songrec.service.tracks import rows_of
from songrec.service.user_data import UserData
from songrec.store import StoreBackend

NO_LIKES_SELF = "You haven't liked anything yet: 👍 a few suggestions from /recommend and ask again."
NO_LIKES_OTHER = "They haven't liked anything yet, so there is no taste card to show."
MAX_NAME = 64


class TasteCards:
    def __init__(self, store: StoreBackend, serving: Serving, cpu: CpuPool, user_data: UserData) -> None:
        self._store = store
        self._serving = serving
        self._cpu = cpu
        self._user_data = user_data

    async def taste_card(
        self, user_id: int, *, viewer_id: int | None = None, name: str | None = None
    ) -> TasteCard:
        uid = checks.user(user_id)
        viewer = uid if viewer_id is None else checks.user(viewer_id)
        self._user_data.require_shared(uid, viewer)
        with db_errors():
            votes = await self._store.feedback_for_user(uid)
        engine = self._serving.engine
        liked = list(rows_of(engine, [v.track_id for v in sorted(votes, key=lambda v: v.id) if v.value > 0]))
        if not liked:
            empty = NO_LIKES_SELF if viewer == uid else NO_LIKES_OTHER
            return TasteCard(uid, 0, (), (), (), empty)
        shown = (name or "").strip()[:MAX_NAME]
        title = f"{shown}'s taste" if shown else ("Your taste" if viewer == uid else "Their taste")
        return await self._cpu.run(_draw, engine, uid, liked, title)


def _draw(engine: Engine, uid: int, liked: list[int], title: str) -> TasteCard:
    from songrec.content.cards import HEIGHT, WIDTH

    facts = taste_facts(engine, liked)
    png = render_taste_card(engine, liked, title, facts)
    return TasteCard(
        user_id=uid,
        likes=facts.likes,
        top_genres=tuple(g for g, _ in facts.top_genres),
        decades=tuple(d for d, _ in facts.decades),
        top_artists=tuple(a for a, _ in facts.top_artists),
        summary=facts.summary,
        png=png,
        width=WIDTH,
        height=HEIGHT,
    )
