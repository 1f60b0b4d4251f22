"""The record of every webhook delivery and what became of it, kept for a while.

Beside `deliveries.py`, which remembers delivery keys only to refuse repeats,
this keeps what a person reads on a bot's page: when a delivery came, its id and
event, and whether it was accepted, refused (and why), a duplicate, or ignored.
It is bounded twice, by age and by count per bot (the bot-less deliveries
counting as one more bot), so a flood of refused requests cannot grow it
without end; housekeeping prunes it.
"""

from __future__ import annotations

from typing import Any

from ..models import DeliveryRecord, iso, utc_now
from .database import Connection, Database
from .rows import RowMapping, placeholders

_ROWS = RowMapping(DeliveryRecord)
KEEP_PER_BOT = 200
KEEP_DAYS = 30


class DeliveryRecordStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def record(self, entries: list[dict[str, Any]]) -> None:
        """Store deliveries (each the record's fields but `id` and `received_at`), in one write."""
        now = iso(utc_now())
        rows = [_ROWS.to_row({**entry, "received_at": now}) for entry in entries]
        if not rows:
            return

        def insert(connection: Connection) -> None:
            for row in rows:
                connection.execute(
                    f"INSERT INTO delivery_records ({', '.join(row)})"
                    f" VALUES ({placeholders(len(row))})",
                    tuple(row.values()),
                )

        await self._db.write(insert)

    async def list(self, bot_id: str | None, *, limit: int) -> list[DeliveryRecord]:
        """The newest deliveries of a bot (of none: those no bot was concerned by)."""

        # Two spellings rather than `IS ?`, which PostgreSQL lacks and cannot use an index for.
        which = "bot_id IS NULL" if bot_id is None else "bot_id = ?"
        sql = f"SELECT * FROM delivery_records WHERE {which} ORDER BY id DESC LIMIT ?"
        parameters = (limit,) if bot_id is None else (bot_id, limit)

        def query(connection: Connection) -> list[DeliveryRecord]:
            rows = connection.execute(sql, parameters).fetchall()
            return [_ROWS.from_row(row) for row in rows]

        return await self._db.read(query)

    async def prune(self, cutoff: str, keep_per_bot: int = KEEP_PER_BOT) -> int:
        """Delete records received before `cutoff` and all but each bot's newest `keep_per_bot`."""

        def delete(connection: Connection) -> int:
            return connection.execute(
                "DELETE FROM delivery_records WHERE received_at < ? OR id IN (SELECT id FROM"
                " (SELECT id, ROW_NUMBER() OVER (PARTITION BY bot_id ORDER BY id DESC) AS newer"
                " FROM delivery_records) AS ranked WHERE newer > ?)",
                (cutoff, keep_per_bot),
            ).rowcount

        return await self._db.write(delete)
