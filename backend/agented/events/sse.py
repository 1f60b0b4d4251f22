"""The SSE writer: one loop per viewer, fed from a Topic's tail or, when behind, the database.

Streams are served as raw ASGI, beside Quart rather than through it: Quart's
per-chunk path and per-request tasks would cost most of the CPU and memory
budget with a thousand viewers (see the README's performance section). Each
viewer writes everything it owes in one chunk, waits on a single Wakeup that
its topic, the shared ticker and shutdown set, and is dropped if one write
waits on the client for over SEND_TIMEOUT seconds; it can resume with
Last-Event-ID.

An open stream costs memory for as long as it is open, so it holds as little as
it can: one coroutine frame for the whole live loop, and no task of its own
waiting on `receive()` for the client to leave. Its viewer drives that one
`receive()` by hand instead (a Task would do the same, with a task object, its
coroutine and its registration on top): it steps the coroutine until it waits
on a future, and steps it again when that future is done, so a disconnect
still frees the viewer at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Generator
from typing import Any, Protocol

from ..http.asgi import Receive, Send
from ..stopping import Stopping
from .encoding import HEARTBEAT, encode_event
from .topic import Topic
from .wakeup import Wakeup

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 15.0
SEND_TIMEOUT = 30.0
# What one write holds, from the tail or a replay page: bounded in bytes of encoded
# events (a viewer holds at most one chunk, and overshoots by at most one event),
# and in rows for replay pages of short lines.
MAX_CHUNK_BYTES = 256 * 1024
REPLAY_PAGE_BYTES = MAX_CHUNK_BYTES
REPLAY_PAGE_ROWS = 2000

SHUTDOWN_EVENT = encode_event("shutdown", {"reason": "server shutting down"})


class StreamSource(Protocol):
    """What a stream shows: a live topic while there is one, else the stored history."""

    def live(self) -> Topic | None: ...

    async def replay(self, after: int) -> tuple[bytes, int]:
        """Stored events after `after` (a page of them), and the id of the last one.

        A page holds at most REPLAY_PAGE_ROWS events and no more than one event
        past REPLAY_PAGE_BYTES, and is encoded off the event loop.
        """
        ...

    async def stored_state(self) -> tuple[bytes, bytes]:
        """The stored `status` event and the `complete` event that ends a finished stream."""
        ...


class Viewer(Wakeup):
    """One open stream: its own wake-up (one object, not two), what the ticker checks, and
    the `receive()` it follows for the client leaving."""

    __slots__ = (
        "_listening",
        "gone",
        "heartbeat_due",
        "receive",
        "stalled",
        "task",
        "writing_since",
    )

    def __init__(self, task: asyncio.Task[Any] | None, receive: Receive) -> None:
        super().__init__()
        self.task = task
        self.receive = receive
        self.heartbeat_due = False
        self.gone = False
        self.writing_since: float | None = None
        self.stalled = False
        self._listening: Generator[Any, None, dict[str, Any]] | None = None

    def listen(self, _done: object = None) -> None:
        """Follow `receive()` until the client leaves: then `gone`, and woken.

        Steps the pending `receive()` until it waits on a future, and is called
        again when that future is done; messages other than `http.disconnect`
        (a GET's empty body) are read past. Also the future's callback.
        """
        while not self.gone:
            pending = self._listening
            if pending is None:
                pending = self._listening = self.receive().__await__()
            try:
                waiting_on = pending.send(None)
            except StopIteration as done:
                self._listening = None
                if done.value["type"] == "http.disconnect":
                    self._leave()
                continue
            except (Exception, asyncio.CancelledError):
                # The server's receive failed (or its future was cancelled): there is no
                # connection left to follow, so none to write to either.
                self._listening = None
                self._leave()
                return
            if isinstance(waiting_on, asyncio.Future):
                waiting_on.add_done_callback(self.listen)
            else:  # a bare yield (a sleep(0)): step again on the next loop turn
                asyncio.get_running_loop().call_soon(self.listen)
            return

    def stop_listening(self) -> None:
        """Abandon the pending `receive()` (closing it takes its waiter out of the server's
        queue; its future's callback then finds nothing to step)."""
        pending, self._listening = self._listening, None
        self.gone = True
        if pending is not None:
            pending.close()

    def _leave(self) -> None:
        self.gone = True
        self.set()


class StreamHub:
    """Every open stream: one ticker for heartbeats and stalled clients; all end on `stopping`.

    Viewers are spread over BUCKETS groups and the ticker visits one group per
    tick, so with ten thousand streams the heartbeats (and the check for clients
    that stopped reading) are spread over the interval instead of waking every
    stream at once: 67 of them every 0.1 s, a few milliseconds of writes.
    Checking for stalls there, rather than arming a timeout around every write,
    keeps the per-write path cheap.
    """

    BUCKETS = 150

    def __init__(self, stopping: Stopping, heartbeat_seconds: float = HEARTBEAT_SECONDS) -> None:
        self._buckets: list[set[Viewer]] = [set() for _ in range(self.BUCKETS)]
        self._next_bucket = 0
        self._tick_seconds = heartbeat_seconds / self.BUCKETS
        self._ticker: asyncio.Task[None] | None = None
        self._stopping = stopping
        stopping.on_set(self._end_streams)

    @property
    def viewer_count(self) -> int:
        return sum(len(bucket) for bucket in self._buckets)

    def start(self) -> None:
        self._ticker = asyncio.get_running_loop().create_task(
            self._tick(), name="agented-sse-ticker"
        )

    def stop(self) -> None:
        """Stop the ticker (the streams themselves end when `stopping` is set)."""
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None

    def _end_streams(self) -> None:
        """End every stream now: each wakes, sees `stopping` and sends `shutdown` last."""
        self.stop()
        for bucket in self._buckets:
            for viewer in bucket:
                viewer.set()

    async def _tick(self) -> None:
        turn = 0
        while True:
            await asyncio.sleep(self._tick_seconds)
            now = time.monotonic()
            for viewer in self._buckets[turn % self.BUCKETS]:
                started = viewer.writing_since
                if started is not None and now - started > SEND_TIMEOUT and viewer.task:
                    viewer.stalled = True
                    viewer.task.cancel()
                else:
                    viewer.heartbeat_due = True
                    viewer.set()
            turn += 1

    async def serve(
        self, opening: Awaitable[tuple[StreamSource, int] | None], send: Send, receive: Receive
    ) -> None:
        """Serve one stream, from opening it to ending its response.

        `opening` checks the request and starts the response, giving the source and
        the cursor to write after, or None when it answered with an error. Then the
        source's events after the cursor are written until it ends, the client leaves
        or we stop, and the response is ended. A client dropped for not reading gets
        nothing more (a write would wait for it forever). The opening and the live
        loop run here rather than in coroutines of their own: an open stream holds
        this one frame.
        """
        opened = await opening
        del opening  # a finished coroutine: not kept for as long as the stream is open
        if opened is None:
            return
        source, cursor = opened
        del opened
        topic = source.live()
        viewer = Viewer(asyncio.current_task(), receive)
        viewer.listen()
        bucket = self._buckets[self._next_bucket]
        self._next_bucket = (self._next_bucket + 1) % self.BUCKETS
        bucket.add(viewer)
        if topic is not None:
            topic.watch(viewer)
        try:
            if topic is None:
                await self._serve_history(source, cursor, send, viewer)
            status_version = -1
            while topic is not None:
                viewer.clear()
                if viewer.gone:
                    break
                if self._stopping.is_set():
                    await _write(send, viewer, SHUTDOWN_EVENT)
                    break
                parts: list[bytes] = []
                if topic.status_version != status_version:
                    status_version = topic.status_version
                    parts.append(topic.status)
                taken = topic.read_after(cursor, MAX_CHUNK_BYTES)
                if taken is None:
                    chunk, cursor = await source.replay(cursor)
                else:
                    chunk, cursor = taken
                parts.append(chunk)
                caught_up = cursor >= topic.last_seq
                if caught_up and topic.final is not None:
                    parts.append(topic.final)
                    await _write(send, viewer, b"".join(parts))
                    break
                payload = b"".join(parts)
                if payload:
                    await _write(send, viewer, payload)
                    viewer.heartbeat_due = False
                    if not caught_up:
                        continue
                elif viewer.heartbeat_due:
                    viewer.heartbeat_due = False
                    await _write(send, viewer, HEARTBEAT)
                if not viewer.is_set():
                    await viewer.wait()
        except asyncio.CancelledError:
            if not viewer.stalled:
                raise
            asyncio.current_task().uncancel()  # type: ignore[union-attr]
            logger.info("dropped a stream viewer that stopped reading")
            return
        finally:
            if topic is not None:
                topic.unwatch(viewer)
            bucket.discard(viewer)
            viewer.stop_listening()
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _serve_history(
        self, source: StreamSource, cursor: int, send: Send, viewer: Viewer
    ) -> None:
        status, complete = await source.stored_state()
        await _write(send, viewer, status)
        while not viewer.gone:
            if self._stopping.is_set():
                await _write(send, viewer, SHUTDOWN_EVENT)
                return
            chunk, cursor = await source.replay(cursor)
            if not chunk:
                await _write(send, viewer, complete)
                return
            await _write(send, viewer, chunk)


async def _write(send: Send, viewer: Viewer, data: bytes) -> None:
    viewer.writing_since = time.monotonic()  # the ticker drops viewers stuck here too long
    await send({"type": "http.response.body", "body": data, "more_body": True})
    viewer.writing_since = None


STREAM_HEADERS = (
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
)


def stream_headers(request_id: str) -> tuple[tuple[bytes, bytes], ...]:
    """The response headers of a stream (shared tuples: the server keeps them while it is open)."""
    return (*STREAM_HEADERS, (b"x-request-id", request_id.encode()))
