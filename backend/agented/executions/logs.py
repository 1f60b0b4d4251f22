"""The ExecutionLogService: numbering, publishing and persisting every output line.

Lines reach live viewers at once through the execution's Topic and reach
SQLite in small batches while the process runs (at most `flush_interval`
behind, so a crash loses about that much), never one row per round trip. When
the database falls behind, producers wait for room instead of buffering
without bound, which in turn makes the CLI block on its pipe.

Room is counted in rows and in bytes of encoded events: a line may be 256 KiB
of NUL bytes, which JSON-escapes to 1.5 MB, so a bound in rows alone would let
a hostile CLI hold gigabytes. Until persisted, a line is held twice (its row
and its event in the topic's tail); the row's text is never longer than its
event, so the memory held is at most about twice `max_pending_bytes`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from ..errors import StorageFull
from ..events.encoding import encode_log
from ..events.topic import Topic
from ..models import LogLine, iso_from_unix
from ..storage.executions import ExecutionStore, LogRow
from ..tasks import cancel_and_wait

logger = logging.getLogger(__name__)

# Characters of log text one page of `read` may hold (see ExecutionStore.read_lines):
# at most about 3 MB of JSON even when every character is escaped sixfold.
PAGE_CHARS = 512 * 1024


class ExecutionLogService:
    def __init__(
        self,
        store: ExecutionStore,
        *,
        flush_interval: float = 0.25,
        batch_rows: int = 5000,
        max_pending_rows: int = 50_000,
        batch_bytes: int = 4 * 1024 * 1024,
        max_pending_bytes: int = 16 * 1024 * 1024,
    ) -> None:
        self._store = store
        self._flush_interval = flush_interval
        self._batch_rows = batch_rows
        self._max_pending_rows = max_pending_rows
        self._batch_bytes = batch_bytes
        self._max_pending_bytes = max_pending_bytes
        self._topics: dict[str, Topic] = {}
        self._pending: dict[str, list[LogRow]] = {}
        self._pending_rows = 0
        self._pending_bytes = 0  # of the encoded events of the pending rows
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
        size = 0
        for content in lines:
            seq += 1
            rows.append((seq, stream, content, timestamp))
            event = encode_log(seq, stream, content, stamp)
            size += len(event)
            topic.append(seq, event)
        self._pending_rows += len(lines)
        self._pending_bytes += size
        if self._pending_rows >= self._batch_rows or self._pending_bytes >= self._batch_bytes:
            self._kick.set()
        if self._full():
            self._room.clear()

    @property
    def pending(self) -> tuple[int, int]:
        """Rows not yet persisted, and the bytes of their encoded events."""
        return self._pending_rows, self._pending_bytes

    def _full(self) -> bool:
        return (
            self._pending_rows >= self._max_pending_rows
            or self._pending_bytes >= self._max_pending_bytes
        )

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
            size, self._pending_bytes = self._pending_bytes, 0
            try:
                await self._store.append_lines(batches)
            except Exception as error:
                if not isinstance(error, StorageFull):  # that one the database logs once a minute
                    logger.exception("could not persist %d log lines; will retry", count)
                for key, rows in batches.items():
                    self._pending[key] = rows + self._pending.get(key, [])
                self._pending_rows += count
                self._pending_bytes += size
                raise
            finally:
                if not self._full():
                    self._room.set()
            for key, rows in batches.items():
                topic = self._topics.get(key)
                if topic is not None:
                    topic.mark_persisted(rows[-1][0])

    async def read(
        self,
        execution_id: str,
        after_seq: int,
        limit: int,
        query: str | None = None,
        *,
        before_seq: int | None = None,
    ) -> tuple[list[LogLine], bool]:
        """A page of stored lines (see `read_lines`), and whether more follow."""
        return await self._store.read_lines(
            execution_id, after_seq, limit, query, max_chars=PAGE_CHARS, before_seq=before_seq
        )

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._flush_interval):
                    await self._kick.wait()
            self._kick.clear()
            with contextlib.suppress(Exception):  # already logged; retried next round
                await self.flush()
