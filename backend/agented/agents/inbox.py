"""An agent's inbox as an SSE source, served by the one writer in `events/sse.py`.

Its topic lives while the agent does (see `MessageService.open_inbox`), so the
stream is always live: messages sent while it is watched come from the topic's
tail, anything else (a new connection, a viewer behind) from the database,
which skips read and expired messages. Watching marks nothing delivered (see
`agents/messages.py`).
"""

from __future__ import annotations

from ..events.encoding import encode_event
from ..events.sse import REPLAY_PAGE_BYTES, REPLAY_PAGE_ROWS
from ..events.topic import Topic
from ..models import AgentMessage, utc_now
from ..storage.messages import MessageStore


def message_event(message: AgentMessage) -> bytes:
    """A `message` event whose id is the message's place in its recipient's inbox."""
    return encode_event("message", message.model_dump(mode="json"), message.inbox_seq)


def closed_event(agent_id: str) -> bytes:
    """The last event of a deleted agent's inbox stream."""
    return encode_event("complete", {"agent_id": agent_id, "reason": "agent deleted"})


class InboxStream:
    __slots__ = ("_agent_id", "_messages", "_topic")

    def __init__(self, agent_id: str, topic: Topic, messages: MessageStore) -> None:
        self._agent_id = agent_id
        self._topic = topic
        self._messages = messages

    def live(self) -> Topic:
        return self._topic

    async def replay(self, after: int) -> tuple[bytes, int]:
        return await self._messages.unread_page(
            self._agent_id,
            after,
            utc_now(),
            message_event,
            max_rows=REPLAY_PAGE_ROWS,
            max_bytes=REPLAY_PAGE_BYTES,
        )

    async def stored_state(self) -> tuple[bytes, bytes]:
        # Only asked of a stream with no live topic, which an inbox stream never is.
        return b"", closed_event(self._agent_id)
