"""Rows to records, and the two query helpers every SQLite part uses."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Sequence
from functools import cache
from typing import Any, TypeVar

import aiosqlite

from songrec.domain import (
    FeedbackRecord,
    GuildSettings,
    SessionMemberRecord,
    SessionRecord,
    SessionTrackRecord,
    SuggestionRecord,
    TrainingRunRecord,
    UserRecord,
)
from songrec.store._json import loads

T = TypeVar("T")
Conn = aiosqlite.Connection


@cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


@cache
def _in_field_order(cls: type, columns: tuple[str, ...]) -> bool:
    return columns == _field_names(cls)


def build(cls: type[T], row: sqlite3.Row, **overrides: Any) -> T:
    """Map a row onto a record by column name, so new columns added by later migrations do no harm (a row
    whose columns are the record's fields in order, the usual case, is passed positionally: faster)."""
    if not overrides and _in_field_order(cls, tuple(row.keys())):
        return cls(*row)
    return cls(**{name: overrides[name] if name in overrides else row[name] for name in _field_names(cls)})


def feedback(row: sqlite3.Row) -> FeedbackRecord:
    return build(FeedbackRecord, row)


def guild_settings(row: sqlite3.Row) -> GuildSettings:
    return build(GuildSettings, row, mix_enabled=bool(row["mix_enabled"]))


def suggestion(row: sqlite3.Row) -> SuggestionRecord:
    return build(SuggestionRecord, row, score_parts=loads(row["score_parts"]))


def session(row: sqlite3.Row) -> SessionRecord:
    return build(SessionRecord, row)


def member(row: sqlite3.Row) -> SessionMemberRecord:
    return build(SessionMemberRecord, row)


def session_track(row: sqlite3.Row) -> SessionTrackRecord:
    return build(SessionTrackRecord, row)


def training_run(row: sqlite3.Row) -> TrainingRunRecord:
    return build(TrainingRunRecord, row, metrics=loads(row["metrics"]), promoted=bool(row["promoted"]))


def user(row: sqlite3.Row) -> UserRecord:
    return build(UserRecord, row, settings=loads(row["settings"]))


async def one(conn: Conn, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
    rows = list(await conn.execute_fetchall(sql, params))
    return rows[0] if rows else None


async def all_rows(conn: Conn, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
    return list(await conn.execute_fetchall(sql, params))


async def all_tuples(conn: Conn, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """all_rows as plain tuples, for pages of many thousand rows read by position. Inside an InThread
    job (SQLite's own thread) and on PostgreSQL the connection fetches them as tuples directly."""
    fetch = getattr(conn, "fetch_tuples", None)
    if fetch is not None:
        return list(await fetch(sql, params))
    return [tuple(r) for r in await conn.execute_fetchall(sql, params)]


async def ensure_user(conn: Conn, user_id: int, now: float) -> None:
    """Inside a write job: the users row every feedback, suggestion and membership hangs off."""
    await conn.execute(
        "INSERT INTO users (user_id, created_at) VALUES (?, ?) ON CONFLICT (user_id) DO NOTHING",
        (user_id, now),
    )
