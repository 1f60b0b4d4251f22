"""Bots: their configuration, unique by name ignoring case."""

from __future__ import annotations

from typing import Any

from ..errors import DuplicateBotName
from ..models import Bot, iso, new_id, utc_now
from .database import Connection, Database
from .rows import RowMapping, placeholders

_ROWS = RowMapping(Bot)


def _to_row(values: dict[str, Any]) -> dict[str, Any]:
    row = _ROWS.to_row(values)
    if "name" in row:
        row["name_key"] = row["name"].casefold()
    return row


class BotStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def list(self) -> list[Bot]:
        def query(connection: Connection) -> list[Bot]:
            rows = connection.execute("SELECT * FROM bots ORDER BY name_key").fetchall()
            return [_ROWS.from_row(row) for row in rows]

        return await self._db.read(query)

    async def get(self, bot_id: str) -> Bot | None:
        def query(connection: Connection) -> Bot | None:
            row = connection.execute("SELECT * FROM bots WHERE id = ?", (bot_id,)).fetchone()
            return None if row is None else _ROWS.from_row(row)

        return await self._db.read(query)

    async def create(self, values: dict[str, Any]) -> Bot:
        now = iso(utc_now())
        row = _to_row({**values, "id": new_id("bot"), "created_at": now, "updated_at": now})

        def insert(connection: Connection) -> Bot:
            self._check_name_free(connection, row["name_key"], None)
            names = ", ".join(row)
            connection.execute(
                f"INSERT INTO bots ({names}) VALUES ({placeholders(len(row))})", tuple(row.values())
            )
            return _ROWS.from_row(
                connection.execute("SELECT * FROM bots WHERE id = ?", (row["id"],)).fetchone()
            )

        return await self._db.write(insert)

    async def update(self, bot_id: str, changes: dict[str, Any]) -> Bot | None:
        row = _to_row({**changes, "updated_at": iso(utc_now())})

        def apply(connection: Connection) -> Bot | None:
            if "name_key" in row:
                self._check_name_free(connection, row["name_key"], bot_id)
            assignments = ", ".join(f"{name} = ?" for name in row)
            connection.execute(
                f"UPDATE bots SET {assignments} WHERE id = ?", (*row.values(), bot_id)
            )
            found = connection.execute("SELECT * FROM bots WHERE id = ?", (bot_id,)).fetchone()
            return None if found is None else _ROWS.from_row(found)

        return await self._db.write(apply)

    async def delete(self, bot_id: str) -> bool:
        def remove(connection: Connection) -> bool:
            return connection.execute("DELETE FROM bots WHERE id = ?", (bot_id,)).rowcount > 0

        return await self._db.write(remove)

    @staticmethod
    def _check_name_free(connection: Connection, name_key: str, own_id: str | None) -> None:
        clash = connection.execute(
            "SELECT name FROM bots WHERE name_key = ? AND id IS DISTINCT FROM ?", (name_key, own_id)
        ).fetchone()
        if clash is not None:
            raise DuplicateBotName(f"a bot named {clash['name']!r} already exists")
