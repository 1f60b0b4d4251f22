"""Scheduled runs that were skipped because the bot's previous run was still going."""

from __future__ import annotations

from typing import Any

from .database import Connection, Database


class ScheduleSkipStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def record(self, bot_id: str, skipped_at: str, reason: str) -> None:
        await self._db.write(
            lambda connection: connection.execute(
                "INSERT INTO schedule_skips (bot_id, skipped_at, reason) VALUES (?, ?, ?)",
                (bot_id, skipped_at, reason),
            )
        )

    async def recent(self, limit: int = 100) -> list[dict[str, Any]]:
        def query(connection: Connection) -> list[dict[str, Any]]:
            rows = connection.execute(
                # trigger_id: the former name of bot_id, still shown for older clients
                "SELECT bot_id, bot_id AS trigger_id, skipped_at, reason FROM schedule_skips"
                " ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
            return [dict(row) for row in rows]

        return await self._db.read(query)
