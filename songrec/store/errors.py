"""Exceptions the store raises; each message says what happened and what to do about it."""

from __future__ import annotations


class StoreError(Exception):
    """Base class for every error raised by songrec.store."""


class InvalidInput(StoreError, ValueError):
    """A caller passed a value the store will not record (bad vote, unknown source, ...)."""


class NotFound(StoreError, LookupError):
    """The row an operation needs (session, suggestion, training run) does not exist."""


class SessionAlreadyActive(StoreError):
    """A channel already has a running listening session."""

    def __init__(self, channel_id: int, session_id: int) -> None:
        super().__init__(
            f"channel {channel_id} already has a running session (#{session_id}); end it before starting another"
        )
        self.channel_id = channel_id
        self.session_id = session_id


class StoreBusy(StoreError):
    """Another process kept the database write-locked for longer than we are willing to wait."""


class StoreClosed(StoreError):
    """The store was used after close()."""


class MigrationError(StoreError):
    """The migrations folder or the database's migration history is inconsistent."""


class DatabaseTooNew(MigrationError):
    """The database was migrated by a newer songrec than this one; refusing to touch it."""

    def __init__(self, path: str, db_version: int, code_version: int) -> None:
        super().__init__(
            f"database {path} is at schema version {db_version}, but this songrec only knows versions up to "
            f"{code_version}; upgrade songrec, or point SONGREC_DB at another file"
        )
        self.path = path
        self.db_version = db_version
        self.code_version = code_version


class DatabaseTooOld(MigrationError):
    """A read-only open found a database that still needs migrations."""

    def __init__(self, path: str, db_version: int, code_version: int) -> None:
        super().__init__(
            f"database {path} is at schema version {db_version} but songrec expects {code_version}; open it "
            "once read-write (start the bot, or Store.open without readonly) to apply the migrations"
        )
        self.path = path
        self.db_version = db_version
        self.code_version = code_version
