"""An execution's log as an SSE source: live from its topic, else from the database."""

from __future__ import annotations

from ..events.encoding import encode_log
from ..events.sse import REPLAY_PAGE
from ..events.topic import Topic
from ..models import iso_from_unix
from ..storage.executions import ExecutionRepository
from .logs import ExecutionLogService
from .service import complete_event, status_event


class ExecutionStream:
    __slots__ = ("_execution_id", "_executions", "_logs")

    def __init__(
        self, execution_id: str, logs: ExecutionLogService, executions: ExecutionRepository
    ) -> None:
        self._execution_id = execution_id
        self._logs = logs
        self._executions = executions

    def live(self) -> Topic | None:
        return self._logs.topic(self._execution_id)

    async def replay(self, after: int) -> tuple[bytes, int]:
        lines = await self._logs.read(self._execution_id, after, REPLAY_PAGE)
        chunk = b"".join(
            encode_log(line.seq, line.stream, line.content, iso_from_unix(line.timestamp))
            for line in lines
        )
        return chunk, lines[-1].seq if lines else after

    async def stored_state(self) -> tuple[bytes, bytes]:
        execution = await self._executions.get(self._execution_id)
        if execution is None:
            raise LookupError(self._execution_id)
        return status_event(execution), complete_event(execution)
