"""songrec's storage layer: SQLite via aiosqlite, numbered migrations, and the Store (the only SQL in songrec)."""

from __future__ import annotations

from songrec.store.errors import (
    DatabaseTooNew,
    DatabaseTooOld,
    InvalidInput,
    MigrationError,
    NotFound,
    SessionAlreadyActive,
    StoreBusy,
    StoreClosed,
    StoreError,
)
from songrec.store.records import (
    FEEDBACK_SOURCES,
    SESSION_STRATEGIES,
    SUGGESTION_KINDS,
    TRAINING_STATUSES,
    FeedbackRecord,
    GuildSettings,
    HistoryEntry,
    NewSuggestion,
    SessionMemberRecord,
    SessionRecord,
    SessionTrackRecord,
    SuggestionRecord,
    TrainingRunRecord,
    UserRecord,
)
from songrec.store.store import Store, StoreStats

__all__ = [
    "FEEDBACK_SOURCES",
    "SESSION_STRATEGIES",
    "SUGGESTION_KINDS",
    "TRAINING_STATUSES",
    "DatabaseTooNew",
    "DatabaseTooOld",
    "FeedbackRecord",
    "GuildSettings",
    "HistoryEntry",
    "InvalidInput",
    "MigrationError",
    "NewSuggestion",
    "NotFound",
    "SessionAlreadyActive",
    "SessionMemberRecord",
    "SessionRecord",
    "SessionTrackRecord",
    "Store",
    "StoreBusy",
    "StoreClosed",
    "StoreError",
    "StoreStats",
    "SuggestionRecord",
    "TrainingRunRecord",
    "UserRecord",
]
