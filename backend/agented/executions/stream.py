"""An execution's log as an SSE source: live from its topic, else from the database.

Replay pages are read and encoded on the database's reader thread, bounded in
bytes: one line may be 256 KiB of NUL bytes, 1.5 MB once JSON-escaped, and
encoding a page of those on the event loop would stall every other request.
"""

from __future__ import annotations

from ..events.encoding import encode_log
from ..events.sse import REPLAY_PAGE_BYTES, REPLAY_PAGE_ROWS
from ..events.topic import Topic
from ..models import iso_from_unix
from ..storage.executions import ExecutionStore
from .logs import ExecutionLogService
from .service import complete_event, status_event


def _encode(seq: int, stream: str, content: str, timestamp: float) -> bytes:
    """A stored line as its `log` event (runs on the database's reader thread)."""
    return encode_log(seq, stream, content, iso_from_unix(timestamp))


class ExecutionStream:
    __slots__ = ("_execution_id", "_executions", "_logs")

    def __init__(
        self, execution_id: str, logs: ExecutionLogService, executions: ExecutionStore
    ) -> None:
        self._execution_id = execution_id
        self._logs = logs
        self._executions = executions

    def live(self) -> Topic | None:
        return self._logs.topic(self._execution_id)

    async def replay(self, after: int) -> tuple[bytes, int]:
        return await self._executions.read_encoded_lines(
            self._execution_id,
            after,
            _encode,
            max_rows=REPLAY_PAGE_ROWS,
            max_bytes=REPLAY_PAGE_BYTES,
        )

    async def stored_state(self) -> tuple[bytes, bytes]:
        execution = await self._executions.get(self._execution_id)
        if execution is None:
            raise LookupError(self._execution_id)
        return status_event(execution), complete_event(execution)
