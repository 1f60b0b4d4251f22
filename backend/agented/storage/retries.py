"""Pending retries of rate-limited executions, and parked (waiting) runs; they outlive restarts."""

from __future__ import annotations

from typing import Any

from ..models import Retry, RetryStatus, iso, new_id, utc_now
from .database import Connection, Database
from .rows import RowMapping, placeholders

_ROWS = RowMapping(Retry)


class RetryStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def create(
        self,
        *,
        bot_id: str,
        execution_id: str,
        attempt: int,
        due_at: str,
        reason: str,
        context: dict[str, Any],
        parked: bool = False,
    ) -> Retry:
        row = _ROWS.to_row(
            {
                "id": new_id("rty"),
                "bot_id": bot_id,
                "execution_id": execution_id,
                "attempt": attempt,
                "due_at": due_at,
                "reason": reason,
                "context": context,
                "status": "pending",
                "parked": parked,
                "created_at": iso(utc_now()),
            }
        )

        def insert(connection: Connection) -> Retry:
            connection.execute(
                f"INSERT INTO retries ({', '.join(row)}) VALUES ({placeholders(len(row))})",
                tuple(row.values()),
            )
            return _ROWS.from_row(
                connection.execute("SELECT * FROM retries WHERE id = ?", (row["id"],)).fetchone()
            )

        return await self._db.write(insert)

    async def get(self, retry_id: str) -> Retry | None:
        def query(connection: Connection) -> Retry | None:
            row = connection.execute("SELECT * FROM retries WHERE id = ?", (retry_id,)).fetchone()
            return None if row is None else _ROWS.from_row(row)

        return await self._db.read(query)

    async def pending(self) -> list[Retry]:
        def query(connection: Connection) -> list[Retry]:
            rows = connection.execute(
                "SELECT * FROM retries WHERE status = 'pending' ORDER BY due_at"
            ).fetchall()
            return [_ROWS.from_row(row) for row in rows]

        return await self._db.read(query)

    async def parked_for(self, execution_id: str) -> Retry | None:
        """The pending entry that wakes a waiting execution, if any."""

        def query(connection: Connection) -> Retry | None:
            row = connection.execute(
                "SELECT * FROM retries WHERE execution_id = ? AND parked = 1"
                " AND status = 'pending'",
                (execution_id,),
            ).fetchone()
            return None if row is None else _ROWS.from_row(row)

        return await self._db.read(query)

    async def reschedule(self, retry_id: str, due_at: str, reason: str) -> bool:
        """Move a pending entry to `due_at` with a new reason; False if it is no longer pending."""

        def update(connection: Connection) -> bool:
            return (
                connection.execute(
                    "UPDATE retries SET due_at = ?, reason = ? WHERE id = ? AND status = 'pending'",
                    (due_at, reason, retry_id),
                ).rowcount
                > 0
            )

        return await self._db.write(update)

    async def set_status(
        self, retry_id: str, status: RetryStatus, retry_execution_id: str | None = None
    ) -> bool:
        """Move a pending retry on; False if it was no longer pending."""

        def update(connection: Connection) -> bool:
            return (
                connection.execute(
                    "UPDATE retries SET status = ?, retry_execution_id = ?"
                    " WHERE id = ? AND status = 'pending'",
                    (status, retry_execution_id, retry_id),
                ).rowcount
                > 0
            )

        return await self._db.write(update)
