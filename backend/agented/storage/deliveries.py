"""Webhook deliveries already handled, so a redelivered event fires nothing (across restarts).

A delivery may have several keys (a signed body's hash and its delivery id);
it is a repeat if any of them was seen within the window, and then none of its
keys is recorded. Every key is remembered for at least MINIMUM_WINDOW_SECONDS,
whatever the configured window: a Standard Webhooks signature stays acceptable
for 5 minutes either side of its timestamp (triggers.signatures), so a shorter
memory would let a captured request be replayed while it still verifies.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from .database import Connection, Database

MINIMUM_WINDOW_SECONDS = 600.0


class DeliveryStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def claim(self, keys: Sequence[str], now: float, window_seconds: float) -> bool:
        """Atomically record every key; False (recording none) if any was seen in the window."""
        [fresh] = await self.claim_each([keys], now, window_seconds)
        return fresh

    async def claim_each(
        self, key_sets: Sequence[Sequence[str]], now: float, window_seconds: float
    ) -> list[bool]:
        """`claim` for each key set in turn, all in one transaction; True where it was fresh."""
        since = now - max(window_seconds, MINIMUM_WINDOW_SECONDS)

        def seen(connection: Connection, key: str) -> bool:
            row = connection.execute(
                "SELECT received_at FROM webhook_deliveries WHERE key = ?", (key,)
            ).fetchone()
            return row is not None and row[0] >= since

        def claim(connection: Connection) -> list[bool]:
            results = []
            for keys in key_sets:
                fresh = not any(seen(connection, key) for key in keys)
                if fresh:
                    connection.executemany(
                        "INSERT INTO webhook_deliveries (key, received_at) VALUES (?, ?)"
                        " ON CONFLICT (key) DO UPDATE SET received_at = excluded.received_at",
                        [(key, now) for key in keys],
                    )
                results.append(fresh)
            return results

        return await self._db.write(claim)

    async def forget_before(self, cutoff: float) -> int:
        """Drop keys older than `cutoff` (housekeeping), but none younger than the minimum."""
        cutoff = min(cutoff, time.time() - MINIMUM_WINDOW_SECONDS)
        return await self._db.write(
            lambda connection: (
                connection.execute(
                    "DELETE FROM webhook_deliveries WHERE received_at < ?", (cutoff,)
                ).rowcount
            )
        )
