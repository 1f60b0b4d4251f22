"""Probes for the hostile-output and memory scenarios: a liveness poller, a raw counting SSE
reader, a reader that checks order at a bounded pace, and a viewer that never reads.

The fanout subscribers (sse_load.py) parse every event for its seq and stamp; a stream
of 1.5 MB events of escaped NUL bytes needs none of that, only to be read as fast as
the server writes it, counted, and checked for its closing `complete` event.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import uvloop
from httpio import Dechunker, HttpError, key_header, request_json

LIVENESS_PATH = "/health/liveness"
LOG_EVENT = b"\nevent: log\n"
COMPLETE_EVENT = b"event: complete"
READ_BYTES = 1 << 20
# The id of a log event and the 8-digit seq its line starts with (emit.py's numbered lines).
NUMBERED_EVENT = re.compile(
    rb'id: (\d+)\nevent: log\ndata: \{"seq":\d+,"stream":"\w+","content":"(\d{8})'
)
SLOW_READ_BYTES = 64 * 1024


def percentiles(samples: list[float]) -> dict[str, float | int | None]:
    ordered = sorted(samples)

    def at(fraction: float) -> float | None:
        if not ordered:
            return None
        return round(ordered[min(len(ordered) - 1, int(fraction * len(ordered)))], 1)

    return {"samples": len(ordered), "p50": at(0.5), "p99": at(0.99), "max": at(1.0)}


@dataclass
class LivenessProbe:
    """GET `path` (/health/liveness) every `interval` seconds (a new connection each time),
    timed; with `api_key`, as the admin.

    A probe that gets no answer within `within` seconds counts as that long.
    """

    port: int
    path: str = LIVENESS_PATH
    api_key: str = ""
    interval: float = 0.05
    within: float = 30.0
    latencies_ms: list[float] = field(default_factory=list)
    failures: int = 0
    _task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> dict[str, float | int | None]:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        return {**percentiles(self.latencies_ms), "failures": self.failures}

    async def _run(self) -> None:
        while True:
            started = time.monotonic()
            try:
                status, _ = await request_json(
                    self.port, "GET", self.path, api_key=self.api_key, within=self.within
                )
                if status != 200:
                    self.failures += 1
            except (OSError, TimeoutError, ValueError, HttpError):
                self.failures += 1
            elapsed = time.monotonic() - started
            self.latencies_ms.append(elapsed * 1000)
            await asyncio.sleep(max(0.0, self.interval - elapsed))


def _probe_child(conn: Connection, probe: LivenessProbe) -> None:
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: the parent reports and cleans up
        uvloop.run(_probe_child_main(conn, probe))


async def _probe_child_main(conn: Connection, probe: LivenessProbe) -> None:
    probe.start()
    await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # until told to stop
    conn.send(await probe.stop())


class ProbeProcess:
    """A LivenessProbe run by a child process of its own (multiprocessing, spawn).

    Beside thousands of subscribers in this process, a probe on the same event loop
    would also time the client's own bursts of parsing; in its own process it times
    the server.
    """

    def __init__(self, probe: LivenessProbe) -> None:
        self._conn, child_conn = multiprocessing.Pipe()
        self._process = multiprocessing.get_context("spawn").Process(
            target=_probe_child, args=(child_conn, probe), daemon=True, name="probe"
        )
        self._process.start()
        child_conn.close()

    async def stop(self) -> dict[str, Any]:
        def finish() -> dict[str, Any]:
            self._conn.send("stop")
            if not self._conn.poll(60.0):
                raise TimeoutError("the probe process sent no result within 60 s")
            result: dict[str, Any] = self._conn.recv()
            return result

        try:
            return await asyncio.get_running_loop().run_in_executor(None, finish)
        finally:
            self._process.join(timeout=10)
            if self._process.is_alive():
                self._process.kill()
                self._process.join(timeout=10)
            self._conn.close()


@dataclass
class StreamCount:
    bytes_read: int = 0
    log_events: int = 0
    completed: bool = False
    seconds: float = 0.0
    error: str | None = None


async def read_stream(port: int, path: str, api_key: str, within: float) -> StreamCount:
    """Read one SSE stream to its end as fast as possible, counting bytes and log events."""
    count = StreamCount()
    started = time.monotonic()
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{key_header(api_key)}"
        "Accept: text/event-stream\r\nConnection: close\r\n\r\n"
    ).encode()
    carry = b""  # the end of the last read, for events split between two reads
    try:
        async with asyncio.timeout(within):
            reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=READ_BYTES)
            try:
                writer.write(request)
                while data := await reader.read(READ_BYTES):
                    count.bytes_read += len(data)
                    count.log_events += data.count(LOG_EVENT) + _spanning(carry, data, LOG_EVENT)
                    if COMPLETE_EVENT in data or _spanning(carry, data, COMPLETE_EVENT):
                        count.completed = True
                    carry = data[-64:]
            finally:
                writer.close()
    except (OSError, TimeoutError) as error:
        count.error = f"{type(error).__name__}: {error}"
    count.seconds = round(time.monotonic() - started, 2)
    return count


def _spanning(before: bytes, after: bytes, pattern: bytes) -> int:
    """Occurrences of `pattern` that start in `before` and end in `after`."""
    edge = len(pattern) - 1  # too short to hold one on either side alone
    return (before[-edge:] + after[:edge]).count(pattern) if before else 0


def _request(port: int, path: str, api_key: str) -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{key_header(api_key)}"
        "Accept: text/event-stream\r\nConnection: close\r\n\r\n"
    ).encode()


@dataclass
class OrderedCount:
    bytes_read: int = 0
    log_events: int = 0
    out_of_order: int = 0  # events whose id was not the next one, or whose line did not match it
    completed: bool = False
    seconds: float = 0.0
    error: str | None = None


async def read_in_order(
    port: int, path: str, api_key: str, within: float, bytes_per_s: float
) -> OrderedCount:
    """Read one stream of numbered lines at most `bytes_per_s`, checking every id and line.

    Each log event's id must be the one after the last, and its line must start with that
    number: every line delivered, once, in order.
    """
    count = OrderedCount()
    started = time.monotonic()
    body = Dechunker()
    rest = b""
    expected = 1
    try:
        async with asyncio.timeout(within):
            reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=READ_BYTES)
            try:
                writer.write(_request(port, path, api_key))
                head = await reader.readuntil(b"\r\n\r\n")
                if not head.startswith(b"HTTP/1.1 200"):
                    raise OSError(f"answered {head[:60]!r}")
                while data := await reader.read(SLOW_READ_BYTES):
                    count.bytes_read += len(data)
                    payload = rest + body.feed(data)
                    cut = payload.rfind(b"\n\n") + 2
                    events, rest = (payload[:cut], payload[cut:]) if cut > 1 else (b"", payload)
                    for event_id, line_seq in NUMBERED_EVENT.findall(events):
                        if int(event_id) != expected or int(line_seq) != expected:
                            count.out_of_order += 1
                        expected = int(event_id) + 1
                        count.log_events += 1
                    if COMPLETE_EVENT in events:
                        count.completed = True
                        break
                    behind = count.bytes_read / bytes_per_s - (time.monotonic() - started)
                    if behind > 0:
                        await asyncio.sleep(behind)
            finally:
                writer.close()
    except (OSError, TimeoutError, asyncio.IncompleteReadError) as error:
        count.error = f"{type(error).__name__}: {error}"
    count.seconds = round(time.monotonic() - started, 2)
    return count


@contextlib.asynccontextmanager
async def stalled_viewer(port: int, path: str, api_key: str) -> AsyncIterator[None]:
    """A viewer that asks for the stream and then never reads a byte of it."""
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(_request(port, path, api_key))
        await writer.drain()
        yield
    finally:
        writer.close()
