"""The ExecutionLogService: numbering, publishing and persisting every output line.

Lines reach live viewers at once through the execution's Topic and reach
SQLite in small batches while the process runs (at most `flush_interval`
behind, so a crash loses about that much), never one row per round trip. When
the database falls behind, producers wait for room instead of buffering
without bound, which in turn makes the CLI block on its pipe.

Room is counted in rows and in bytes of memory, whatever the line length: a
line may be 10 bytes (then the Python objects around it weigh more than its
text) or 256 KiB of NUL bytes (1.5 MB once JSON-escaped). Until persisted a
line is held twice, as its row and as its event in the topic's tail, so each
is charged the size of its text, of its event and of the objects holding them
(`line_cost`). Lines being written count until the write has succeeded: the
bound covers everything between the CLI's pipe and SQLite, not only the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys

from ..errors import StorageFull
from ..events.encoding import encode_log
from ..events.topic import Topic
from ..models import LogLine, iso_from_unix
from ..storage.executions import ExecutionStore, LogRow
from ..tasks import cancel_and_wait
from .conversation import conversation_event, entry_json, has_conversation

logger = logging.getLogger(__name__)

# Characters of log text one page of `read` may hold (see ExecutionStore.read_lines):
# at most about 3 MB of JSON even when every character is escaped sixfold.
PAGE_CHARS = 512 * 1024
# Bytes of conversation entries one page of `read_conversation` may hold (and one entry more).
CONVERSATION_PAGE_BYTES = 512 * 1024
# Bytes of Python objects around a pending line besides its text and its event: the
# row tuple, its seq and timestamp, the event's bytes header, two list slots.
ROW_OVERHEAD = 200


def line_cost(content: str, event: bytes) -> int:
    """Bytes of memory one unpersisted line holds (its row and its event)."""
    return sys.getsizeof(content) + len(event) + ROW_OVERHEAD


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
        publish: bool = True,
    ) -> None:
        self._store = store
        # False in a worker, where nobody watches its topics: the server reads the lines back
        # and publishes them, so encoding events here would be a fifth of the worker's time.
        self._publish = publish
        self._flush_interval = flush_interval
        self._batch_rows = batch_rows
        self._max_pending_rows = max_pending_rows
        self._batch_bytes = batch_bytes
        self._max_pending_bytes = max_pending_bytes
        self._topics: dict[str, Topic] = {}
        # The backend of each open topic whose CLI prints a conversation (none: no parsing).
        self._backends: dict[str, str] = {}
        self._pending: dict[str, list[LogRow]] = {}  # queued, not yet being written
        self._queued_rows = 0  # these two say when to write a batch
        self._queued_bytes = 0  # (line_cost of the queued rows)
        # Queued or being written: what the bound on memory counts.
        self._held_rows = 0
        self._held_bytes = 0
        self._flush_lock = asyncio.Lock()
        self._kick = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._task: asyncio.Task[None] | None = None
        self.lines_ingested = 0  # since the server started, for /metrics

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="agented-log-writer")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        await self.flush()

    def open(self, execution_id: str, backend_type: str = "command", last_seq: int = 0) -> Topic:
        """The live topic of an execution whose lines a `backend_type` CLI prints; `last_seq`
        lines are already stored (a waiting execution's topic opened again after a restart)."""
        topic = self._topics[execution_id] = Topic(execution_id, last_seq)
        if has_conversation(backend_type):
            self._backends[execution_id] = backend_type
        return topic

    def topic(self, execution_id: str) -> Topic | None:
        return self._topics.get(execution_id)

    def append(
        self, topic: Topic, stream: str, lines: list[str], timestamp: float, *, stored: bool = False
    ) -> None:
        """Number, publish and queue for persistence lines that arrived together.

        A line that holds part of the agent's conversation is published with its
        `conversation` event first (see `conversation_event`), in the same entry.
        Lines already `stored` (a worker wrote them, with these very seqs) are only
        published, and only numbered while nobody watches (`Topic.skip_stored`): most
        runs on workers are never watched live, and encoding their events was a fifth
        of the server's work in following them.
        """
        rows = [] if stored else self._pending.setdefault(topic.key, [])
        seq = topic.last_seq
        size = 0
        if stored and topic.skip_stored(seq + len(lines)):
            seq = topic.last_seq  # numbered only: the database holds them for any viewer
        elif self._publish:
            stamp = iso_from_unix(timestamp)
            backend = self._backends.get(topic.key)
            for content in lines:
                seq += 1
                event = encode_log(seq, stream, content, stamp)
                if backend is not None:
                    event = conversation_event(backend, seq, content) + event
                topic.append(seq, event)
                if not stored:
                    rows.append((seq, stream, content, timestamp))
                    size += line_cost(content, event)
        else:  # numbered and queued only; the topic holds nothing but the last seq
            for content in lines:
                seq += 1
                rows.append((seq, stream, content, timestamp))
                size += line_cost(content, b"")
            topic.last_seq = seq
        self.lines_ingested += len(lines)
        if stored:
            topic.mark_persisted(seq)
            return
        self._held_rows += len(lines)
        self._held_bytes += size
        self._queued_rows += len(lines)
        self._queued_bytes += size
        if self._queued_rows >= self._batch_rows or self._queued_bytes >= self._batch_bytes:
            self._kick.set()
        if self._full():
            self._room.clear()

    @property
    def pending(self) -> tuple[int, int]:
        """Lines not yet persisted (queued or being written), and their `line_cost` in all."""
        return self._held_rows, self._held_bytes

    def _full(self) -> bool:
        return (
            self._held_rows >= self._max_pending_rows or self._held_bytes >= self._max_pending_bytes
        )

    async def wait_for_room(self) -> None:
        """Return once the database has caught up enough to take more lines."""
        await self._room.wait()

    async def close(self, execution_id: str, final: bytes) -> None:
        """End the topic: viewers get `final`; later viewers replay from the database."""
        topic = self._topics.pop(execution_id, None)
        self._backends.pop(execution_id, None)
        if topic is not None:
            topic.close(final)

    async def flush(self) -> None:
        """Persist everything queued so far (serialised, so rows land in order)."""
        async with self._flush_lock:
            if not self._pending:
                return
            batches, self._pending = self._pending, {}
            count, self._queued_rows = self._queued_rows, 0
            size, self._queued_bytes = self._queued_bytes, 0
            written = True  # or given up: a cancelled flush must not keep the pipe shut
            try:
                await self._store.append_lines(batches)
            except Exception as error:
                written = False
                if not isinstance(error, StorageFull):  # that one the database logs once a minute
                    logger.exception("could not persist %d log lines; will retry", count)
                for key, rows in batches.items():
                    self._pending[key] = rows + self._pending.get(key, [])
                self._queued_rows += count
                self._queued_bytes += size
                raise
            finally:
                if written:
                    self._held_rows -= count
                    self._held_bytes -= size
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

    async def read_conversation(
        self, execution_id: str, backend_type: str, after_seq: int, limit: int
    ) -> tuple[bytes, int]:
        """The conversation entries of up to `limit` stored lines after `after_seq`, as the
        items of a JSON array, and the seq of the last line read (`after_seq` if none).

        Derived from the stored lines on the database's reader thread, a page ends
        once its entries hold CONVERSATION_PAGE_BYTES.
        """
        if not has_conversation(backend_type):
            return b"", after_seq

        def encode(seq: int, _stream: str, content: str, _timestamp: float) -> bytes:
            return entry_json(backend_type, seq, content)

        entries, last = await self._store.read_encoded_lines(
            execution_id, after_seq, encode, max_rows=limit, max_bytes=CONVERSATION_PAGE_BYTES
        )
        return entries.removesuffix(b","), last

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._flush_interval):
                    await self._kick.wait()
            self._kick.clear()
            with contextlib.suppress(Exception):  # already logged; retried next round
                await self.flush()
