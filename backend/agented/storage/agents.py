"""Agents: the participants of the message bus, unique by name ignoring case."""

from __future__ import annotations

from typing import Any

from ..errors import DuplicateAgentName
from ..models import Agent, iso, new_id, utc_now
from .database import Connection, Database
from .rows import RowMapping, placeholders

_ROWS = RowMapping(Agent)
BotsByAgent = dict[str, list[tuple[str, str]]]  # agent id → (bot id, bot name) in name order


def _to_row(values: dict[str, Any]) -> dict[str, Any]:
    row = _ROWS.to_row(values)
    if "name" in row:
        row["name_key"] = row["name"].casefold()
    return row


def _select(connection: Connection, agent_id: str) -> Agent | None:
    row = connection.execute("SELECT * FROM agents WHERE id = ?", (agent_id,)).fetchone()
    return None if row is None else _ROWS.from_row(row)


def _check_name_free(connection: Connection, name_key: str, own_id: str | None) -> None:
    clash = connection.execute(
        "SELECT name FROM agents WHERE name_key = ? AND id IS DISTINCT FROM ?", (name_key, own_id)
    ).fetchone()
    if clash is not None:
        raise DuplicateAgentName(f"an agent named {clash['name']!r} already exists")


class AgentStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def list(self) -> list[Agent]:
        def query(connection: Connection) -> list[Agent]:
            rows = connection.execute("SELECT * FROM agents ORDER BY name_key").fetchall()
            return [_ROWS.from_row(row) for row in rows]

        return await self._db.read(query)

    async def get(self, agent_id: str) -> Agent | None:
        return await self._db.read(lambda connection: _select(connection, agent_id))

    async def create(self, values: dict[str, Any]) -> Agent:
        now = iso(utc_now())
        row = _to_row({**values, "id": new_id("agt"), "created_at": now, "updated_at": now})

        def insert(connection: Connection) -> Agent:
            _check_name_free(connection, row["name_key"], None)
            connection.execute(
                f"INSERT INTO agents ({', '.join(row)}) VALUES ({placeholders(len(row))})",
                tuple(row.values()),
            )
            created = _select(connection, row["id"])
            assert created is not None  # inserted just above, in this transaction
            return created

        return await self._db.write(insert)

    async def update(self, agent_id: str, changes: dict[str, Any]) -> Agent | None:
        row = _to_row({**changes, "updated_at": iso(utc_now())})

        def apply(connection: Connection) -> Agent | None:
            if "name_key" in row:
                _check_name_free(connection, row["name_key"], agent_id)
            assignments = ", ".join(f"{name} = ?" for name in row)
            connection.execute(
                f"UPDATE agents SET {assignments} WHERE id = ?", (*row.values(), agent_id)
            )
            return _select(connection, agent_id)

        return await self._db.write(apply)

    async def delete(self, agent_id: str) -> bool:
        """Delete the agent; its bots act as no agent and its messages stay (see migration 6)."""

        def remove(connection: Connection) -> bool:
            return connection.execute("DELETE FROM agents WHERE id = ?", (agent_id,)).rowcount > 0

        return await self._db.write(remove)

    async def bots_by_agent(self) -> BotsByAgent:
        """(id, name) of the bots acting as each agent, by agent id, bots in name order."""

        def query(connection: Connection) -> BotsByAgent:
            found: BotsByAgent = {}
            for agent_id, bot_id, name in connection.execute(
                "SELECT agent_id, id, name FROM bots WHERE agent_id IS NOT NULL ORDER BY name_key"
            ):
                found.setdefault(agent_id, []).append((bot_id, name))
            return found

        return await self._db.read(query)
