"""Webhook deliveries already handled, so a redelivered event fires nothing (across restarts)."""

from __future__ import annotations

import sqlite3

from .database import Database


class DeliveryRepository:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def claim(self, key: str, now: float, window_seconds: float) -> bool:
        """Atomically record `key`; False if it was already seen within the window."""

        def claim(connection: sqlite3.Connection) -> bool:
            row = connection.execute(
                "SELECT received_at FROM webhook_deliveries WHERE key = ?", (key,)
            ).fetchone()
            if row is not None and row[0] >= now - window_seconds:
                return False
            connection.execute(
                "INSERT OR REPLACE INTO webhook_deliveries (key, received_at) VALUES (?, ?)",
                (key, now),
            )
            return True

        return await self._db.write(claim)

    async def forget_before(self, cutoff: float) -> int:
        """Drop keys older than `cutoff` (housekeeping)."""
        return await self._db.write(
            lambda connection: (
                connection.execute(
                    "DELETE FROM webhook_deliveries WHERE received_at < ?", (cutoff,)
                ).rowcount
            )
        )
