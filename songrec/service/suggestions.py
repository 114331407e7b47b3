"""The suggestions the service shows: stored with their score parts and reason, read back as Suggestions."""

from __future__ import annotations

from typing import Any

import numpy as np

from songrec.content.engine import Engine
from songrec.domain import InvalidInput, NewSuggestion, Suggestion, SuggestionRecord, TrackInfo
from songrec.service.checks import MAX_ID
from songrec.service.errors import db_errors
from songrec.service.planner import Pick
from songrec.service.runtime import Serving
from songrec.service.scoring import CandidateScorer
from songrec.service.tracks import track_info
from songrec.store import StoreBackend

GONE = "That suggestion is no longer available."


class SuggestionLog:
    """Records picks (rank, model version, score, parts, reason, kind) and finds them again."""

    def __init__(self, store: StoreBackend, serving: Serving) -> None:
        self._store = store
        self._serving = serving

    async def record(
        self,
        engine: Engine,
        ranker: CandidateScorer | None,
        picks: list[Pick],
        *,
        user_id: int | None,
        channel_id: int | None,
        guild_id: int | None,
        session_id: int | None = None,
    ) -> list[Suggestion]:
        """Store the picks; return them with their ids."""
        if not picks:
            return []
        infos = [engine.info(p.row) for p in picks]
        version = self._serving.model_version(engine, ranker)
        new = [
            NewSuggestion(
                track_id=info.track_id,
                rank=rank,
                model_version=version,
                kind=pick.kind,  # type: ignore[arg-type]  # a planner Pick names a SuggestionKind
                score=pick.score,
                score_parts=pick.parts,
                reason=pick.reason,
                user_id=user_id,
                session_id=session_id,
                channel_id=channel_id,
                guild_id=guild_id,
            )
            for rank, (pick, info) in enumerate(zip(picks, infos, strict=True), 1)
        ]
        with db_errors():
            records = await self._store.record_suggestions(new)
        return [self.suggestion(engine, r, info) for r, info in zip(records, infos, strict=True)]

    @staticmethod
    def suggestion(engine: Engine, record: SuggestionRecord, info: TrackInfo | None = None) -> Suggestion:
        parts = {
            str(name): float(value)
            for name, value in record.score_parts.items()
            if type(value) is float or (isinstance(value, int | float) and not isinstance(value, bool))
        }
        return Suggestion(
            id=record.id,
            track=info or track_info(engine, record.track_id),
            rank=record.rank,
            kind=record.kind,
            reason=record.reason,
            score=float(record.score or 0.0),
            score_parts=parts,
            model_version=record.model_version,
            session_id=record.session_id,
        )

    async def fetch(self, suggestion_id: Any) -> SuggestionRecord | None:
        """The stored suggestion; None for an id that cannot exist, InvalidInput for one that is no id."""
        if isinstance(suggestion_id, bool) or not isinstance(suggestion_id, int | np.integer):
            raise InvalidInput(GONE)
        if not 0 < suggestion_id <= MAX_ID:
            return None
        with db_errors():
            return await self._store.get_suggestion(int(suggestion_id))

    async def last_shown(self, uid: int, channel_id: int | None) -> SuggestionRecord | None:
        """The newest suggestion the user saw in the channel: their own, or their session's."""
        store = self._store
        with db_errors():
            best = await store.last_suggestion(uid, channel_id)
            if channel_id is None:
                return best
            session = await store.active_session(channel_id)
            if session is None:
                return best
            members = {m.user_id for m in await store.members(session.id)}
            if uid not in members:
                return best
            ids = [t.suggestion_id for t in await store.session_tracks(session.id) if t.suggestion_id]
            if ids and (best is None or max(ids) > best.id):
                return await store.get_suggestion(max(ids)) or best
            return best
