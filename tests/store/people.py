"""A user with a bit of everything (settings, posted suggestions, a like, a replaced vote, an undo),
for the privacy tests of every backend and the SQLite file checks."""

from __future__ import annotations

from songrec.domain import NewSuggestion
from songrec.store import StoreBackend


async def populate(store: StoreBackend, user: int, tag: str) -> None:
    """Settings, suggestions (posted), a like, a replaced vote and an undo; ``tag`` marks the user's texts."""
    await store.set_user_settings(user, {"nickname": f"{tag}_nick", "explore": True})
    tracks = [f"t{user % 1000}x{i}" for i in range(3)]
    sugs = await store.record_suggestions(
        [
            NewSuggestion(
                t,
                i,
                "m1",
                "content",
                score=1.0 - i / 10,
                score_parts={"why": tag},
                reason=f"for {tag}",
                user_id=user,
                channel_id=70,
            )
            for i, t in enumerate(tracks)
        ]
    )
    await store.attach_message([s.id for s in sugs], 900 + user % 1000, 70, 80)
    await store.add_feedback(
        user, tracks[0], 1, "reaction", guild_id=80, channel_id=70, suggestion_id=sugs[0].id
    )
    await store.add_feedback(user, tracks[1], 1, "command")
    await store.add_feedback(user, tracks[1], -1, "button")  # leaves a tombstone too
    await store.undo_feedback(user, track_id=tracks[1])
