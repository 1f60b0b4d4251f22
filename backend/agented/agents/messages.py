"""Sending, reading and expiring messages, and the live topic of each watched inbox.

Sends are serialised by one lock, so each inbox's messages reach its topic in
the order of their seqs (the topic insists on it) and a topic is never created
between a send's write and its append. A message sent while its inbox is
watched is kept in the topic's tail for the viewers; otherwise it leaves the
tail at once and a viewer that comes later reads it from the database.

Watching an inbox changes nothing: the stream is how people (the dashboard)
and tools look at it. A message is `delivered` only when the agent itself is
handed it — rendered into a run's prompt, or returned by the MCP `read_inbox`
tool to one of its runs — so a watched inbox never starves the agent's bot.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from ..errors import MessageInvalid, NotFound
from ..events.topic import Topic
from ..models import AgentMessage, MessageStatus, iso, utc_now
from ..scheduler import SchedulerService
from ..storage.agents import AgentStore
from ..storage.messages import MessageStore
from .inbox import closed_event, message_event

# How often expired messages are marked so, as a backstop: queries hide them from
# the moment their TTL passes, and a one-off job sweeps when the soonest TTL sent
# since the start ends, so that no message past its TTL stays in a stream's tail.
EXPIRY_SWEEP_SECONDS = 30
# At most this many pending messages go into one prompt (most urgent, then oldest,
# first): 50 of the largest are over 3 MB, beyond what any CLI takes as a prompt.
PROMPT_MESSAGES = 20
# Messages sent while an inbox is watched, for viewers a little behind (a few
# dozen of the largest messages); older ones are read from the database.
INBOX_TAIL_BYTES = 1024 * 1024


def prompt_text(messages: list[AgentMessage]) -> str:
    """Messages as a prompt shows them: a header line each, then the content."""
    blocks = []
    for message in messages:
        subject = f": {message.subject}" if message.subject else ""
        reply = f", in reply to {message.in_reply_to}" if message.in_reply_to else ""
        blocks.append(
            f"[{message.priority}] {message.message_type} {message.id} from"
            f" {message.from_agent_name} at {message.created_at}{reply}{subject}\n"
            f"{message.content}"
        )
    return "\n\n".join(blocks)


class MessageService:
    def __init__(self, messages: MessageStore, agents: AgentStore) -> None:
        self._messages = messages
        self._agents = agents
        self._topics: dict[str, Topic] = {}
        self._lock = asyncio.Lock()
        self._scheduler: SchedulerService | None = None
        self._next_sweep: datetime | None = None  # when the one-off sweep runs, if one is due

    def install(self, scheduler: SchedulerService) -> None:
        self._scheduler = scheduler
        scheduler.schedule(
            "messages:expire",
            IntervalTrigger(seconds=EXPIRY_SWEEP_SECONDS),
            self.expire_due,
            name="mark unread messages past their TTL expired",
        )

    async def send(
        self, sender_id: str, to_agent_id: str | None, fields: dict[str, Any]
    ) -> list[AgentMessage]:
        """Send from `sender_id` to `to_agent_id`, or to every other agent for a broadcast."""
        if fields.get("message_type") == "broadcast":
            if to_agent_id is not None:
                raise MessageInvalid("to_agent_id", "a broadcast goes to every other agent")
        elif to_agent_id is None:
            raise MessageInvalid("to_agent_id", "is required unless message_type is 'broadcast'")
        if to_agent_id == sender_id:
            raise MessageInvalid("to_agent_id", "an agent cannot send a message to itself")
        now = utc_now()
        async with self._lock:
            sent = await self._messages.send(sender_id, to_agent_id, fields, now)
            for message in sent:
                topic = self._topics.get(message.to_agent_id or "")
                if topic is not None:
                    topic.append(message.inbox_seq, message_event(message))
                    topic.mark_persisted(message.inbox_seq)
                    if not topic.has_viewers:
                        topic.forget_persisted()
        if sent and fields.get("ttl_seconds") is not None:
            self._sweep_by(now + timedelta(seconds=fields["ttl_seconds"]))
        return sent

    async def for_prompt(self, agent_id: str) -> tuple[str, list[str]]:
        """The agent's pending messages as prompt text, and their ids (to mark delivered)."""
        messages = await self._messages.pending(agent_id, utc_now(), PROMPT_MESSAGES)
        return prompt_text(messages), [message.id for message in messages]

    async def mark_delivered(self, message_ids: list[str]) -> None:
        await self._messages.mark_delivered(message_ids, utc_now())

    async def hand_over(
        self, agent_id: str, status: MessageStatus | None, limit: int
    ) -> list[AgentMessage]:
        """The agent's inbox as its own run asks for it: what was pending is delivered now."""
        now = utc_now()
        messages = await self._messages.inbox(agent_id, status, now, limit)
        pending = [message.id for message in messages if message.status == "pending"]
        if not pending:
            return messages
        await self._messages.mark_delivered(pending, now)
        return [
            message.model_copy(update={"status": "delivered", "delivered_at": iso(now)})
            if message.status == "pending"
            else message
            for message in messages
        ]

    async def mark_read(self, agent_id: str, message_id: str) -> AgentMessage:
        message = await self._messages.mark_read(agent_id, message_id, utc_now())
        if message is None:
            raise NotFound(f"message {message_id} not found in the inbox of agent {agent_id}")
        self._forget_tail(agent_id)  # a read message leaves the stream
        return message

    async def expire_due(self, now: datetime | None = None) -> set[str]:
        """Mark unread messages past their TTL expired; the agents whose inboxes changed."""
        changed = await self._messages.expire_due(utc_now() if now is None else now)
        for agent_id in changed:
            self._forget_tail(agent_id)  # an expired message never reaches a stream
        return changed

    def _sweep_by(self, moment: datetime) -> None:
        """Have the one-off sweep run at `moment` unless it already runs sooner."""
        if self._scheduler is None or (self._next_sweep is not None and self._next_sweep <= moment):
            return
        self._next_sweep = moment
        self._scheduler.schedule(
            "messages:expire-next",
            DateTrigger(run_date=moment),
            self._sweep_now,
            name="mark the next message past its TTL expired",
            misfire_grace_time=None,  # late is still worth doing
        )

    async def _sweep_now(self) -> None:
        self._next_sweep = None
        await self.expire_due()
        upcoming = await self._messages.next_expiry()
        if upcoming is not None:
            self._sweep_by(upcoming)

    async def open_inbox(self, agent_id: str) -> Topic | None:
        """The live topic of the agent's inbox (made on first use); None if there is no agent."""
        async with self._lock:
            topic = self._topics.get(agent_id)
            if topic is None:
                if await self._agents.get(agent_id) is None:
                    return None
                last = await self._messages.last_seq(agent_id)
                topic = Topic(f"inbox:{agent_id}", last, INBOX_TAIL_BYTES)
                self._topics[agent_id] = topic
            return topic

    async def close_inbox(self, agent_id: str) -> None:
        """End the inbox streams of a deleted agent with a final event."""
        async with self._lock:
            topic = self._topics.pop(agent_id, None)
        if topic is not None:
            topic.close(closed_event(agent_id))

    def _forget_tail(self, agent_id: str) -> None:
        topic = self._topics.get(agent_id)
        if topic is not None:
            topic.forget_persisted()
