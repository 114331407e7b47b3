"""A listener's own data: their history and profile, export and forget-me, and their privacy choice.

The privacy choice (/privacy) lives in the user's settings JSON (PRIVACY_SETTING) and is mirrored in
memory, here and in the ratings cache, so it applies at once and costs no read per request: "private"
listeners are nobody's neighbour and never compared with anyone; "off" ones are also not learned from
for their own suggestions. The training jobs read the same setting and leave both out of the global models.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from functools import partial
from typing import Any, cast

from songrec.catalog.schema import NUMERIC_FEATURES
from songrec.content.engine import DESCRIBED
from songrec.domain import (
    DEFAULT_PRIVACY,
    PRIVACY_CHOICES,
    PRIVACY_CHOICES_HELP,
    PRIVACY_SETTING,
    PRIVACY_USES,
    HistoryItem,
    InvalidInput,
    NotShared,
    PrivacyChoice,
    PrivacyReport,
    Profile,
)
from songrec.service import checks
from songrec.service.config import ServiceConfig
from songrec.service.errors import db_errors
from songrec.service.runtime import CpuPool, Serving
from songrec.service.similar_users import RatingsCache
from songrec.service.tracks import rows_of, track_info
from songrec.store import StoreBackend

MAX_HISTORY = 100


def privacy_choice(settings: dict[str, Any]) -> PrivacyChoice:
    """The stored choice, or the default for anything unknown (a hand-edited or older value)."""
    value = settings.get(PRIVACY_SETTING, DEFAULT_PRIVACY)
    return cast(PrivacyChoice, value if value in PRIVACY_CHOICES else DEFAULT_PRIVACY)


class UserData:
    """What the service tells a listener about themself, and what they may change about it."""

    def __init__(
        self,
        store: StoreBackend,
        serving: Serving,
        cpu: CpuPool,
        ratings: RatingsCache,
        config: ServiceConfig,
    ) -> None:
        self._store = store
        self._serving = serving
        self._cpu = cpu
        self._ratings = ratings
        self._config = config
        self._choices: dict[int, PrivacyChoice] = {}  # only those who changed it

    # -- privacy ----------------------------------------------------------------------------

    async def load_privacy(self) -> None:
        """Read every stored opt-out (at start and on full ratings refreshes)."""
        with db_errors():
            stored = await self._store.users_with_setting(PRIVACY_SETTING)
        choices = {uid: privacy_choice({PRIVACY_SETTING: c}) for uid, c in stored.items()}
        self._choices = {uid: c for uid, c in choices.items() if c != DEFAULT_PRIVACY}
        self._ratings.replace_privacy(dict(self._choices))

    def choice(self, user_id: int) -> PrivacyChoice:
        return self._choices.get(user_id, DEFAULT_PRIVACY)

    def learns_from(self, user_id: int) -> bool:
        """False when the user opted out of all learning: their votes steer nothing."""
        return self.choice(user_id) != "off"

    def require_shared(self, user_id: int, viewer_id: int) -> None:
        """Refuse to show or compare someone else's taste after they opted out."""
        if user_id != viewer_id and self.choice(user_id) != "shared":
            raise NotShared("That listener keeps their taste to themselves (they opted out in /privacy).")

    async def privacy(self, user_id: int) -> PrivacyReport:
        uid = checks.user(user_id)
        with db_errors():
            votes = await self._store.feedback_for_user(uid)
            exported = await self._store.export_user(uid)
        choice = self.choice(uid)
        stored = {
            "likes": sum(1 for v in votes if v.value > 0),
            "dislikes": sum(1 for v in votes if v.value < 0),
            "suggestions": len(exported.get("suggestions", [])),
            "sessions": len(exported.get("session_memberships", [])),
        }
        return PrivacyReport(user_id=uid, choice=choice, stored=stored, uses=PRIVACY_USES[choice])

    async def set_privacy(self, user_id: int, choice: str) -> PrivacyReport:
        uid = checks.user(user_id)
        if not isinstance(choice, str) or choice not in PRIVACY_CHOICES:
            raise InvalidInput(PRIVACY_CHOICES_HELP)
        with db_errors():
            await self._store.set_user_settings(uid, {PRIVACY_SETTING: choice})
        if choice == DEFAULT_PRIVACY:
            self._choices.pop(uid, None)
        else:
            self._choices[uid] = cast(PrivacyChoice, choice)
        self._ratings.set_privacy(uid, choice)  # listeners like you: at once
        return await self.privacy(uid)

    # -- history, profile, export, forget ----------------------------------------------------

    async def history(self, user_id: int, limit: int = 20) -> list[HistoryItem]:
        uid = checks.user(user_id)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_HISTORY:
            raise InvalidInput(f"History shows between 1 and {MAX_HISTORY} entries.")
        with db_errors():
            votes = await self._store.feedback_for_user(uid)
        engine = self._serving.engine
        return [
            HistoryItem(
                track=track_info(engine, v.track_id),
                value=v.value,
                source=v.source,
                created_at=datetime.fromtimestamp(v.created_at, UTC).isoformat(timespec="seconds"),
            )
            for v in sorted(votes, key=lambda v: (v.created_at, v.id), reverse=True)[:limit]
        ]

    async def profile(self, user_id: int) -> Profile:
        uid = checks.user(user_id)
        with db_errors():
            votes = await self._store.feedback_for_user(uid)
        engine = self._serving.engine
        liked = list(rows_of(engine, [v.track_id for v in votes if v.value > 0]))
        infos = [engine.info(r) for r in liked]
        artists = Counter(a for t in infos for a in t.artists)
        genres = Counter(t.genre for t in infos if t.genre)
        decades = Counter(f"{t.year // 10 * 10}s" for t in infos if t.year)
        summary: dict[str, float] = {}
        if liked:
            means = engine.scaled[liked].mean(axis=0)
            names = list(NUMERIC_FEATURES)
            summary = {f: round(float(means[names.index(f)]), 4) for f in DESCRIBED}
        neighbours = await self._cpu.run(
            partial(
                self._ratings.neighbours,
                uid,
                min_overlap=self._config.similar_min_overlap,
                min_correlation=self._config.similar_min_correlation,
                limit=5,
            )
        )
        return Profile(
            user_id=uid,
            likes=sum(1 for v in votes if v.value > 0),
            dislikes=sum(1 for v in votes if v.value < 0),
            top_artists=tuple(a for a, _ in artists.most_common(5)),
            top_genres=tuple(g for g, _ in genres.most_common(5)),
            decades=tuple(d for d, _ in decades.most_common(5)),
            feature_summary=summary,
            similar_users=tuple(n.user_id for n in neighbours),
        )

    async def forget_user(self, user_id: int) -> int:
        uid = checks.user(user_id)
        with db_errors():
            counts = await self._store.forget_user(uid)
        self._ratings.forget(uid)
        # Their settings row went too; a listener who comes back starts from the default choice.
        self._choices.pop(uid, None)
        self._ratings.set_privacy(uid, DEFAULT_PRIVACY)
        return sum(n for table, n in counts.items() if table != "sessions")  # sessions are only unlinked

    async def export_user(self, user_id: int) -> dict[str, Any]:
        uid = checks.user(user_id)
        with db_errors():
            return await self._store.export_user(uid)
