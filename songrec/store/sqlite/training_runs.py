"""The training-run log: one row per retrain (running, then succeeded/failed/...), with its metrics."""

from __future__ import annotations

from typing import Any

from songrec.domain import TRAINING_STATUSES, InvalidInput, NotFound, TrainingRunRecord
from songrec.store import _validate as v
from songrec.store.sqlite import rows
from songrec.store.sqlite.connection import Database
from songrec.store.sqlite.rows import Conn


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be a string, got {type(value).__name__}")
    return value


class SqliteTrainingRuns:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def record_training_run(
        self, device: str, reason: str = "", *, status: str = "running", started_at: float | None = None
    ) -> TrainingRunRecord:
        if not isinstance(device, str) or not device:
            raise InvalidInput(f"device must be a non-empty string such as 'cpu' or 'cuda', got {device!r}")
        _text(reason, "reason")
        stat = v.choice(status, TRAINING_STATUSES, "training status")
        start = v.finite_or_none(started_at, "started_at")

        async def job(conn: Conn) -> TrainingRunRecord:
            row = await rows.one(
                conn,
                "INSERT INTO training_runs (started_at, status, device, reason) VALUES (?, ?, ?, ?) RETURNING *",
                (start if start is not None else self._db.clock(), stat, device, reason),
            )
            assert row is not None
            return rows.training_run(row)

        return await self._db.write(job)

    async def update_training_run(
        self,
        run_id: int,
        *,
        status: str = v.UNSET,
        finished_at: float | None = v.UNSET,
        metrics: dict[str, Any] = v.UNSET,
        artifact_version: str | None = v.UNSET,
        promoted: bool = v.UNSET,
        reason: str = v.UNSET,
    ) -> TrainingRunRecord:
        """Update the fields given. A status other than 'running' sets finished_at (unless given)."""
        rid = v.row_id(run_id, "run_id")
        changes: dict[str, Any] = {}
        auto_finish = status is not v.UNSET and status != "running" and finished_at is v.UNSET
        if status is not v.UNSET:
            changes["status"] = v.choice(status, TRAINING_STATUSES, "training status")
        if finished_at is not v.UNSET:
            changes["finished_at"] = v.finite_or_none(finished_at, "finished_at")
        if metrics is not v.UNSET:
            changes["metrics"] = v.json_object(metrics, "metrics")
        if artifact_version is not v.UNSET:
            if artifact_version is not None and not isinstance(artifact_version, str):
                raise InvalidInput(f"artifact_version must be a string, got {artifact_version!r}")
            changes["artifact_version"] = artifact_version
        if promoted is not v.UNSET:
            if not isinstance(promoted, bool):
                raise InvalidInput(f"promoted must be True or False, got {promoted!r}")
            changes["promoted"] = int(promoted)
        if reason is not v.UNSET:
            changes["reason"] = _text(reason, "reason")[:2000]

        async def job(conn: Conn) -> TrainingRunRecord:
            values = dict(changes)
            if auto_finish:
                values["finished_at"] = self._db.clock()
            if values:
                sets = ", ".join(f"{column} = ?" for column in values)  # column names are ours
                await conn.execute(f"UPDATE training_runs SET {sets} WHERE id = ?", (*values.values(), rid))
            row = await rows.one(conn, "SELECT * FROM training_runs WHERE id = ?", (rid,))
            if row is None:
                raise NotFound(f"training run {rid} does not exist")
            return rows.training_run(row)

        return await self._db.write(job)

    async def fail_stale_runs(self, older_than_s: float, reason: str) -> int:
        """Mark 'running' rows started more than ``older_than_s`` ago as failed; returns how many.

        A run whose parent died (a bot restart, a killed worker) is never finished by anyone; once it
        is older than any run may live, it can only be dead.
        """
        age = v.finite_or_none(older_than_s, "older_than_s")
        if age is None or age < 0:
            raise InvalidInput(f"older_than_s must be a non-negative number, got {older_than_s!r}")

        async def job(conn: Conn) -> int:
            now = self._db.clock()
            cursor = await conn.execute(
                "UPDATE training_runs SET status = 'failed', finished_at = ?, reason = ? "
                "WHERE status = 'running' AND started_at < ?",
                (now, reason[:2000], now - age),
            )
            return int(cursor.rowcount or 0)

        return await self._db.write(job)

    async def last_training_runs(self, limit: int = 10) -> list[TrainingRunRecord]:
        """Newest first."""
        n = v.positive_limit(limit)
        found = await self._db.read(
            lambda c: rows.all_rows(c, "SELECT * FROM training_runs ORDER BY id DESC LIMIT ?", (n,))
        )
        return [rows.training_run(r) for r in found]

    async def last_promoted_run(self) -> TrainingRunRecord | None:
        row = await self._db.read(
            lambda c: rows.one(c, "SELECT * FROM training_runs WHERE promoted = 1 ORDER BY id DESC LIMIT 1")
        )
        return None if row is None else rows.training_run(row)
