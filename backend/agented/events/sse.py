"""The SSE writer: one loop per viewer, fed from a Topic's tail or, when behind, the database.

Streams are served as raw ASGI, beside Quart rather than through it: Quart's
per-chunk path and per-request tasks would cost most of the CPU and memory
budget with a thousand viewers (see the README's performance section). Each
viewer writes everything it owes in one chunk, waits on a single Event that
its topic, the shared heartbeat ticker, shutdown and a disconnect all set,
and is dropped if the client stops reading for SEND_TIMEOUT seconds; it can
resume with Last-Event-ID.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from .encoding import HEARTBEAT, encode_event
from .topic import Topic

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 15.0
SEND_TIMEOUT = 30.0
MAX_CHUNK_BYTES = 256 * 1024
REPLAY_PAGE = 2000

Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]

SHUTDOWN_EVENT = encode_event("shutdown", {"reason": "server shutting down"})


class StreamSource(Protocol):
    """What a stream shows: a live topic while there is one, else the stored history."""

    def live(self) -> Topic | None: ...

    async def replay(self, after: int) -> tuple[bytes, int]:
        """Stored events after `after` (a page of them), and the id of the last one."""
        ...

    async def stored_state(self) -> tuple[bytes, bytes]:
        """The stored `status` event and the `complete` event that ends a finished stream."""
        ...


@dataclass(eq=False, slots=True)
class Viewer:
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    heartbeat_due: bool = False
    gone: bool = False


class StreamHub:
    """Every open stream: one heartbeat ticker and one shutdown signal for all of them."""

    def __init__(self, heartbeat_seconds: float = HEARTBEAT_SECONDS) -> None:
        self._viewers: set[Viewer] = set()
        self._heartbeat_seconds = heartbeat_seconds
        self._ticker: asyncio.Task[None] | None = None
        self.stopping = False

    @property
    def viewer_count(self) -> int:
        return len(self._viewers)

    def start(self) -> None:
        self._ticker = asyncio.get_running_loop().create_task(
            self._tick(), name="agented-sse-heartbeat"
        )

    def stop(self) -> None:
        """End every stream now (each sends a `shutdown` event first)."""
        self.stopping = True
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        for viewer in self._viewers:
            viewer.wakeup.set()

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self._heartbeat_seconds)
            for viewer in self._viewers:
                viewer.heartbeat_due = True
                viewer.wakeup.set()

    async def serve(self, source: StreamSource, cursor: int, send: Send, receive: Receive) -> None:
        """Write `source`'s events after `cursor` until it ends, the client leaves or we stop."""
        viewer = Viewer()
        self._viewers.add(viewer)
        watcher = asyncio.get_running_loop().create_task(_watch_disconnect(receive, viewer))
        topic = source.live()
        if topic is not None:
            topic.watch(viewer.wakeup)
        try:
            if topic is None:
                await self._serve_history(source, cursor, send, viewer)
            else:
                await self._serve_live(source, topic, cursor, send, viewer)
        except TimeoutError:
            logger.info("dropped a stream viewer that stopped reading")
        finally:
            if topic is not None:
                topic.unwatch(viewer.wakeup)
            self._viewers.discard(viewer)
            watcher.cancel()

    async def _serve_history(
        self, source: StreamSource, cursor: int, send: Send, viewer: Viewer
    ) -> None:
        status, complete = await source.stored_state()
        await _write(send, status)
        while not viewer.gone:
            if self.stopping:
                await _write(send, SHUTDOWN_EVENT)
                return
            chunk, cursor = await source.replay(cursor)
            if not chunk:
                await _write(send, complete)
                return
            await _write(send, chunk)

    async def _serve_live(
        self, source: StreamSource, topic: Topic, cursor: int, send: Send, viewer: Viewer
    ) -> None:
        status_version = -1
        while True:
            viewer.wakeup.clear()
            if viewer.gone:
                return
            if self.stopping:
                await _write(send, SHUTDOWN_EVENT)
                return
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
                await _write(send, b"".join(parts))
                return
            payload = b"".join(parts)
            if payload:
                await _write(send, payload)
                viewer.heartbeat_due = False
                if not caught_up:
                    continue
            elif viewer.heartbeat_due:
                viewer.heartbeat_due = False
                await _write(send, HEARTBEAT)
            await viewer.wakeup.wait()


async def _write(send: Send, data: bytes) -> None:
    async with asyncio.timeout(SEND_TIMEOUT):
        await send({"type": "http.response.body", "body": data, "more_body": True})


async def _watch_disconnect(receive: Receive, viewer: Viewer) -> None:
    with contextlib.suppress(asyncio.CancelledError):
        while (await receive())["type"] != "http.disconnect":
            pass
        viewer.gone = True
        viewer.wakeup.set()


def stream_headers(request_id: str) -> list[tuple[bytes, bytes]]:
    return [
        (b"content-type", b"text/event-stream; charset=utf-8"),
        (b"cache-control", b"no-cache"),
        (b"x-accel-buffering", b"no"),
        (b"x-request-id", request_id.encode()),
    ]


async def send_json(
    send: Send,
    status: int,
    body: dict[str, Any],
    request_id: str,
    extra: Iterable[tuple[bytes, bytes]] = (),
    **headers: str,
) -> None:
    """A complete JSON response from raw ASGI, shaped like the rest of the API's."""
    payload = json.dumps(body, separators=(",", ":")).encode()
    named = ((name.replace("_", "-").encode(), value.encode()) for name, value in headers.items())
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"x-request-id", request_id.encode()),
                *named,
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
