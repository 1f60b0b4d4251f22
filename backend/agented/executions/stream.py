"""An execution's log as an SSE source: live from its topic, else from the database.

Replay pages are read and encoded on the database's reader thread, bounded in
bytes: one line may be 256 KiB of NUL bytes, 1.5 MB once JSON-escaped, and
encoding a page of those on the event loop would stall every other request.
A replayed line is encoded as it was sent live: its `conversation` event (for
the CLIs that print one), then its `log` event.
"""

from __future__ import annotations

from collections.abc import Callable

from ..events.encoding import encode_log
from ..events.sse import REPLAY_PAGE_BYTES, REPLAY_PAGE_ROWS
from ..events.topic import Topic
from ..models import iso_from_unix
from ..storage.executions import ExecutionStore
from .conversation import conversation_event, has_conversation
from .logs import ExecutionLogService
from .service import complete_event, status_event

Encoder = Callable[[int, str, str, float], bytes]


def _encode(seq: int, stream: str, content: str, timestamp: float) -> bytes:
    """A stored line as its `log` event (runs on the database's reader thread)."""
    return encode_log(seq, stream, content, iso_from_unix(timestamp))


def _encoder(backend_type: str) -> Encoder:
    """How the stored lines of a `backend_type` run are replayed."""
    if not has_conversation(backend_type):
        return _encode

    def encode(seq: int, stream: str, content: str, timestamp: float) -> bytes:
        return conversation_event(backend_type, seq, content) + _encode(
            seq, stream, content, timestamp
        )

    return encode


class ExecutionStream:
    __slots__ = ("_encode", "_execution_id", "_executions", "_logs")

    def __init__(
        self, execution_id: str, logs: ExecutionLogService, executions: ExecutionStore
    ) -> None:
        self._execution_id = execution_id
        self._logs = logs
        self._executions = executions
        self._encode: Encoder | None = None  # known once the first page is replayed

    def live(self) -> Topic | None:
        return self._logs.topic(self._execution_id)

    async def replay(self, after: int) -> tuple[bytes, int]:
        if self._encode is None:
            execution = await self._executions.get(self._execution_id)
            self._encode = _encoder(execution.backend_type if execution else "command")
        return await self._executions.read_encoded_lines(
            self._execution_id,
            after,
            self._encode,
            max_rows=REPLAY_PAGE_ROWS,
            max_bytes=REPLAY_PAGE_BYTES,
        )

    async def stored_state(self) -> tuple[bytes, bytes]:
        execution = await self._executions.get(self._execution_id)
        if execution is None:
            raise LookupError(self._execution_id)
        return status_event(execution), complete_event(execution)
