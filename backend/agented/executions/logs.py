"""The ExecutionLogService: numbering, publishing and persisting every output line.

Lines reach live viewers at once through the execution's Topic and reach
SQLite in small batches while the process runs (at most `flush_interval`
behind, so a crash loses about that much), never one row per round trip. When
the database falls behind, producers wait for room instead of buffering
without bound, which in turn makes the CLI block on its pipe.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from ..events.encoding import encode_log
from ..events.topic import Topic
from ..models import LogLine, iso_from_unix
from ..storage.executions import ExecutionRepository
from ..tasks import cancel_and_wait

logger = logging.getLogger(__name__)


class ExecutionLogService:
    def __init__(
        self,
        repository: ExecutionRepository,
        *,
        flush_interval: float = 0.25,
        batch_rows: int = 5000,
        max_pending_rows: int = 50_000,
    ) -> None:
        self._repository = repository
        self._flush_interval = flush_interval
        self._batch_rows = batch_rows
        self._max_pending_rows = max_pending_rows
        self._topics: dict[str, Topic] = {}
        self._pending: dict[str, list[tuple]] = {}
        self._pending_rows = 0
        self._flush_lock = asyncio.Lock()
        self._kick = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="agented-log-writer")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        await self.flush()

    def open(self, execution_id: str) -> Topic:
        topic = self._topics[execution_id] = Topic(execution_id)
        return topic

    def topic(self, execution_id: str) -> Topic | None:
        return self._topics.get(execution_id)

    def append(self, topic: Topic, stream: str, lines: list[str], timestamp: float) -> None:
        """Number, publish and queue for persistence lines that arrived together."""
        stamp = iso_from_unix(timestamp)
        rows = self._pending.setdefault(topic.key, [])
        seq = topic.last_seq
        for content in lines:
            seq += 1
            rows.append((seq, stream, content, timestamp))
            topic.append(seq, encode_log(seq, stream, content, stamp))
        self._pending_rows += len(lines)
        if self._pending_rows >= self._batch_rows:
            self._kick.set()
        if self._pending_rows >= self._max_pending_rows:
            self._room.clear()

    async def wait_for_room(self) -> None:
        """Return once the database has caught up enough to take more lines."""
        await self._room.wait()

    async def close(self, execution_id: str, final: bytes) -> None:
        """End the topic: viewers get `final`; later viewers replay from the database."""
        topic = self._topics.pop(execution_id, None)
        if topic is not None:
            topic.close(final)

    async def flush(self) -> None:
        """Persist everything queued so far (serialised, so rows land in order)."""
        async with self._flush_lock:
            if not self._pending:
                return
            batches, self._pending = self._pending, {}
            count, self._pending_rows = self._pending_rows, 0
            try:
                await self._repository.append_lines(batches)
            except Exception:
                logger.exception("could not persist %d log lines; will retry", count)
                for key, rows in batches.items():
                    self._pending[key] = rows + self._pending.get(key, [])
                self._pending_rows += count
                raise
            finally:
                if self._pending_rows < self._max_pending_rows:
                    self._room.set()
            for key, rows in batches.items():
                topic = self._topics.get(key)
                if topic is not None:
                    topic.mark_persisted(rows[-1][0])

    async def read(
        self, execution_id: str, after_seq: int, limit: int, query: str | None = None
    ) -> list[LogLine]:
        return await self._repository.read_lines(execution_id, after_seq, limit, query)

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._flush_interval):
                    await self._kick.wait()
            self._kick.clear()
            with contextlib.suppress(Exception):  # already logged; retried next round
                await self.flush()
