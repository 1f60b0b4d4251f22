"""Messages between agents: each agent's inbox numbered 1, 2, ... (its stream's event ids).

A message is unread while `pending` or `delivered`; it is `read` once marked,
and `expired` once its TTL passes unread. An unread message past its TTL is
hidden at once by every query here, before the sweep gets to mark it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime, timedelta
from typing import Any

from ..errors import MessageInvalid, NotFound
from ..models import AgentMessage, MessageStatus, iso, new_id
from .database import Connection, Database, Row
from .rows import RowMapping, placeholders

_ROWS = RowMapping(AgentMessage)
# Shown in an inbox: read ones, and unread ones whose TTL has not passed (parameter: now).
_UNEXPIRED = "(expires_at IS NULL OR expires_at > ?)"
_VISIBLE = f"(status = 'read' OR (status IN ('pending', 'delivered') AND {_UNEXPIRED}))"
_PRIORITY_FIRST = "CASE priority WHEN 'high' THEN 0 WHEN 'normal' THEN 1 ELSE 2 END"


def _agent(connection: Connection, agent_id: str) -> Row:
    found = connection.execute("SELECT id, name FROM agents WHERE id = ?", (agent_id,)).fetchone()
    if found is None:
        raise NotFound(f"agent {agent_id} not found")
    row: Row = found
    return row


class MessageStore:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def send(
        self,
        sender_id: str,
        to_agent_id: str | None,
        fields: dict[str, Any],
        now: datetime,
    ) -> list[AgentMessage]:
        """Store `fields` as pending messages to `to_agent_id`, or to every other agent if None."""
        created = iso(now)
        ttl = fields.get("ttl_seconds")
        expires = None if ttl is None else iso(now + timedelta(seconds=ttl))

        def insert(connection: Connection) -> list[AgentMessage]:
            sender = _agent(connection, sender_id)
            if to_agent_id is None:
                recipients = connection.execute(
                    "SELECT id, name FROM agents WHERE id != ? ORDER BY name_key", (sender_id,)
                ).fetchall()
            else:
                recipients = [_agent(connection, to_agent_id)]
            reply_to = fields.get("in_reply_to")
            if (
                reply_to is not None
                and not connection.execute(
                    "SELECT 1 FROM agent_messages WHERE id = ?", (reply_to,)
                ).fetchone()
            ):
                raise MessageInvalid("in_reply_to", f"no message {reply_to} to reply to")
            sent = []
            for recipient in recipients:
                (seq,) = connection.execute(
                    "SELECT COALESCE(MAX(inbox_seq), 0) + 1 FROM agent_messages"
                    " WHERE to_agent_id = ?",
                    (recipient["id"],),
                ).fetchone()
                row = _ROWS.to_row(
                    {
                        **fields,
                        "from_execution_id": fields.get("from_execution_id"),  # MCP sends only
                        "id": new_id("msg"),
                        "inbox_seq": seq,
                        "from_agent_id": sender["id"],
                        "from_agent_name": sender["name"],
                        "to_agent_id": recipient["id"],
                        "to_agent_name": recipient["name"],
                        "status": "pending",
                        "created_at": created,
                        "expires_at": expires,
                        "delivered_at": None,
                        "read_at": None,
                    }
                )
                connection.execute(
                    f"INSERT INTO agent_messages ({', '.join(row)})"
                    f" VALUES ({placeholders(len(row))})",
                    tuple(row.values()),
                )
                sent.append(_ROWS.from_row(row))
            return sent

        return await self._db.write(insert)

    async def get(self, message_id: str) -> AgentMessage | None:
        def query(connection: Connection) -> AgentMessage | None:
            row = connection.execute(
                "SELECT * FROM agent_messages WHERE id = ?", (message_id,)
            ).fetchone()
            return None if row is None else _ROWS.from_row(row)

        return await self._db.read(query)

    async def inbox(
        self, agent_id: str, status: MessageStatus | None, now: datetime, limit: int
    ) -> list[AgentMessage]:
        """The agent's messages, high priority first, then oldest first; never expired ones."""
        sql = f"SELECT * FROM agent_messages WHERE to_agent_id = ? AND {_VISIBLE}"
        params: list[Any] = [agent_id, iso(now)]
        if status is not None:
            sql += " AND status = ?"
            params.append(status)
        sql += f" ORDER BY {_PRIORITY_FIRST}, inbox_seq LIMIT ?"
        params.append(limit)
        return await self._db.read(
            lambda connection: [_ROWS.from_row(row) for row in connection.execute(sql, params)]
        )

    async def outbox(self, agent_id: str, limit: int) -> list[AgentMessage]:
        """What the agent sent, newest first, with each message's state (expired ones too)."""
        sql = "SELECT * FROM agent_messages WHERE from_agent_id = ? ORDER BY rowid DESC LIMIT ?"
        return await self._db.read(
            lambda connection: [
                _ROWS.from_row(row) for row in connection.execute(sql, (agent_id, limit))
            ]
        )

    async def thread(self, message_id: str) -> list[AgentMessage]:
        """Every message of the conversation `message_id` belongs to, oldest first.

        Up the `in_reply_to` links to the first message, then down through every
        reply to it. A reply can only name a message that exists when it is sent
        (never itself, never a later one), so the links never form a cycle.
        """
        sql = """
            WITH RECURSIVE
                up(id, parent, depth) AS (
                    SELECT id, in_reply_to, 0 FROM agent_messages WHERE id = ?
                    UNION
                    SELECT m.id, m.in_reply_to, up.depth + 1
                    FROM agent_messages m JOIN up ON m.id = up.parent
                ),
                root(id) AS (SELECT id FROM up ORDER BY depth DESC LIMIT 1),
                down(id) AS (
                    SELECT id FROM root
                    UNION
                    SELECT m.id FROM agent_messages m JOIN down ON m.in_reply_to = down.id
                )
            SELECT * FROM agent_messages WHERE id IN (SELECT id FROM down)
            ORDER BY created_at, rowid
        """
        return await self._db.read(
            lambda connection: [
                _ROWS.from_row(row) for row in connection.execute(sql, (message_id,))
            ]
        )

    async def mark_read(self, agent_id: str, message_id: str, now: datetime) -> AgentMessage | None:
        """Mark a message to `agent_id` read (again is fine); None if it has none such unexpired."""
        moment = iso(now)

        def apply(connection: Connection) -> AgentMessage | None:
            connection.execute(
                "UPDATE agent_messages SET status = 'read', read_at = ?,"
                " delivered_at = COALESCE(delivered_at, ?)"
                " WHERE id = ? AND to_agent_id = ? AND status IN ('pending', 'delivered')"
                f" AND {_UNEXPIRED}",
                (moment, moment, message_id, agent_id, moment),
            )
            row = connection.execute(
                f"SELECT * FROM agent_messages WHERE id = ? AND to_agent_id = ? AND {_VISIBLE}",
                (message_id, agent_id, moment),
            ).fetchone()
            return None if row is None else _ROWS.from_row(row)

        return await self._db.write(apply)

    async def unread_page(
        self,
        agent_id: str,
        after_seq: int,
        now: datetime,
        encode: Callable[[AgentMessage], bytes],
        *,
        max_rows: int,
        max_bytes: int,
    ) -> tuple[bytes, int]:
        """Unread, unexpired messages after `after_seq`, encoded; their state is left alone.

        Returns them joined and the inbox seq the page reached (`after_seq` if none):
        past the last one looked at, shown or skipped, so a reader never stalls on
        a run of read or expired messages. At most `max_rows` looked at, and no
        more than one message past `max_bytes`; encoding runs on the reader thread.
        """
        moment = iso(now)

        def page(connection: Connection) -> tuple[bytes, int]:
            rows = connection.execute(
                "SELECT * FROM agent_messages WHERE to_agent_id = ? AND inbox_seq > ?"
                " ORDER BY inbox_seq LIMIT ?",
                (agent_id, after_seq, max_rows),
            ).fetchall()
            parts: list[bytes] = []
            size = 0
            last = after_seq
            for row in rows:
                last = row["inbox_seq"]
                unread = row["status"] in ("pending", "delivered")
                if not unread or (row["expires_at"] is not None and row["expires_at"] <= moment):
                    continue
                parts.append(encode(_ROWS.from_row(row)))
                size += len(parts[-1])
                if size >= max_bytes:
                    break
            return b"".join(parts), last

        return await self._db.read(page)

    async def pending(self, agent_id: str, now: datetime, limit: int) -> list[AgentMessage]:
        """Messages to the agent not yet handed to it, high priority first, then oldest first."""
        sql = (
            "SELECT * FROM agent_messages WHERE to_agent_id = ? AND status = 'pending'"
            f" AND {_UNEXPIRED} ORDER BY {_PRIORITY_FIRST}, inbox_seq LIMIT ?"
        )
        return await self._db.read(
            lambda connection: [
                _ROWS.from_row(row) for row in connection.execute(sql, (agent_id, iso(now), limit))
            ]
        )

    async def mark_delivered(self, message_ids: Collection[str], now: datetime) -> None:
        """Mark those of the messages still pending delivered."""
        moment = iso(now)

        def apply(connection: Connection) -> None:
            connection.executemany(
                "UPDATE agent_messages SET status = 'delivered', delivered_at = ?"
                " WHERE id = ? AND status = 'pending'",
                [(moment, message_id) for message_id in message_ids],
            )

        await self._db.write(apply)

    async def next_expiry(self) -> datetime | None:
        """When the next unread message's TTL ends, if any has one."""

        def query(connection: Connection) -> datetime | None:
            (moment,) = connection.execute(
                "SELECT MIN(expires_at) FROM agent_messages"
                " WHERE status IN ('pending', 'delivered') AND expires_at IS NOT NULL"
            ).fetchone()
            return None if moment is None else datetime.fromisoformat(moment)

        return await self._db.read(query)

    async def last_seq(self, agent_id: str) -> int:
        def query(connection: Connection) -> int:
            (seq,) = connection.execute(
                "SELECT COALESCE(MAX(inbox_seq), 0) FROM agent_messages WHERE to_agent_id = ?",
                (agent_id,),
            ).fetchone()
            return int(seq)

        return await self._db.read(query)

    async def unread_counts(self, now: datetime) -> dict[str, int]:
        """Unread, unexpired messages per agent id (agents with none are absent)."""

        def query(connection: Connection) -> dict[str, int]:
            rows = connection.execute(
                "SELECT to_agent_id, COUNT(*) FROM agent_messages WHERE to_agent_id IS NOT NULL"
                f" AND status IN ('pending', 'delivered') AND {_UNEXPIRED} GROUP BY to_agent_id",
                (iso(now),),
            )
            return {agent_id: count for agent_id, count in rows}

        return await self._db.read(query)

    async def expire_due(self, now: datetime) -> set[str]:
        """Mark unread messages past their TTL expired; the ids of the agents they were to."""

        def apply(connection: Connection) -> set[str]:
            rows = connection.execute(
                "UPDATE agent_messages SET status = 'expired' WHERE status IN"
                " ('pending', 'delivered') AND expires_at IS NOT NULL AND expires_at <= ?"
                " RETURNING to_agent_id",
                (iso(now),),
            ).fetchall()
            return {agent_id for (agent_id,) in rows if agent_id is not None}

        return await self._db.write(apply)
