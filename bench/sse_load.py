"""The load client: many SSE subscribers in one asyncio (uvloop) process, or split over a few.

Each subscriber is an asyncio Protocol on its own socket that speaks HTTP/1.1 by hand:
it writes the GET request, parses the status line and headers, de-chunks the body
incrementally and finds the log events with one regex per batch of events, without
building a string per event. It keeps only counters (the next seq it expects, how many
it missed or saw twice) and adds each line's latency (receive time minus the line's
`t=` stamp) to a histogram shared by its group. Protocol callbacks are used rather than a
StreamReader loop per socket: they run straight from the event loop, with no task wake-up
per chunk.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any, cast

import uvloop
from httpio import Dechunker, key_header, parse_head
from procstat import own_cpu_seconds

# The seq and the emitter's `t=` stamp of every log event (the content starts "<seq> t="),
# or of every inbox message (its content starts "<n> t=", `agents_bus.py` sends them).
STAMPED_EVENTS = {
    "log": re.compile(rb"id: (\d+)\nevent: log\ndata: [^\n]*? t=(\d+\.\d+)"),
    "message": re.compile(rb'id: (\d+)\nevent: message\ndata: [^\n]*?"content":"\d+ t=(\d+\.\d+)'),
}
END_EVENTS = (b"event: complete", b"event: shutdown")
MAX_ERRORS_KEPT = 5
MIN_CONNECTS_PER_S = 50  # slower than this, connecting all subscribers is given up


class Latency:
    """A histogram of delays with 0.1 ms buckets up to 30 s (more goes to one last bucket)."""

    RESOLUTION = 10_000  # buckets per second
    BUCKETS = 30 * RESOLUTION

    def __init__(self) -> None:
        self.buckets = [0] * (self.BUCKETS + 1)
        self.count = 0
        self.total = 0.0
        self.max = 0.0

    def record(self, now: float, stamps: list[float]) -> None:
        """Lines stamped `stamps` all arrived at `now`."""
        buckets, top, resolution = self.buckets, self.BUCKETS, self.RESOLUTION
        for stamp in stamps:
            index = int((now - stamp) * resolution)
            buckets[top if index > top else max(index, 0)] += 1
        self.count += len(stamps)
        self.total += now * len(stamps) - sum(stamps)
        self.max = max(self.max, now - min(stamps))

    def merge(self, other: Latency) -> None:
        self.buckets = [a + b for a, b in zip(self.buckets, other.buckets, strict=True)]
        self.count += other.count
        self.total += other.total
        self.max = max(self.max, other.max)

    def percentile_ms(self, fraction: float) -> float:
        """The upper edge of the bucket holding that fraction of samples (never above max)."""
        wanted = fraction * self.count
        seen = 0
        for index, count in enumerate(self.buckets):
            seen += count
            if seen >= wanted and count:
                return round(min((index + 1) / self.RESOLUTION, self.max) * 1000, 2)
        return round(self.max * 1000, 2)

    def summary(self) -> dict[str, float | int | None]:
        if not self.count:
            return {"samples": 0, "p50": None, "p90": None, "p99": None, "max": None, "mean": None}
        return {
            "samples": self.count,
            "p50": self.percentile_ms(0.50),
            "p90": self.percentile_ms(0.90),
            "p99": self.percentile_ms(0.99),
            "max": round(self.max * 1000, 2),
            "mean": round(self.total / self.count * 1000, 2),
        }


class Subscriber(asyncio.Protocol):
    """One SSE connection to an Agented stream, counting what it receives."""

    def __init__(
        self,
        request: bytes,
        latency: Latency,
        on_end: Callable[[], None],
        stamped: re.Pattern[bytes] = STAMPED_EVENTS["log"],
    ) -> None:
        loop = asyncio.get_running_loop()
        # Resolved at the first event ("") or when the stream fails first (why it did).
        self.ready: asyncio.Future[str] = loop.create_future()
        self.latency = latency
        self.next_seq = 1
        self.received = 0
        self.missing = 0  # seqs skipped over (lines never received)
        self.duplicates = 0
        self.first_stamp = 0.0  # `t=` of the first line received
        self.last_stamp = 0.0  # `t=` of the last one
        self.last_receive = 0.0
        self.ended_by = ""  # "complete", "shutdown", or why the stream broke off
        self._request = request
        self._stamped = stamped
        self._on_end = on_end
        self._transport: asyncio.Transport | None = None
        self._head = b""
        self._body: Dechunker | None = None
        self._rest = b""  # an incomplete event

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, hence the cast.
        self._transport = cast(asyncio.Transport, transport)
        self._transport.write(self._request)

    def data_received(self, data: bytes) -> None:
        if self._body is None:
            data = self._read_head(data)
            if self._body is None:
                return
        payload = self._body.feed(data)
        if payload:
            self._on_payload(payload)
        if self._body.finished:
            self._end("stream ended without a complete event")

    def connection_lost(self, exc: Exception | None) -> None:
        self._end(f"connection lost: {exc}" if exc else "connection closed by the server")

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    @property
    def writes(self) -> int:
        return self._body.chunks if self._body is not None else 0

    @property
    def open(self) -> bool:
        return not self.ended_by

    def _read_head(self, data: bytes) -> bytes:
        head = self._head + data
        end = head.find(b"\r\n\r\n")
        if end < 0:
            self._head = head
            return b""
        status, headers = parse_head(head[:end])
        if status != 200 or headers.get("transfer-encoding", "").lower() != "chunked":
            self._end(f"HTTP {status} {headers.get('content-type', '')}: {head[end + 4 :][:200]!r}")
            return b""
        self._body = Dechunker()
        return head[end + 4 :]

    def _on_payload(self, payload: bytes) -> None:
        if self._rest:
            payload = self._rest + payload
        cut = payload.rfind(b"\n\n") + 2
        if cut == 1:  # no complete event yet
            self._rest = payload
            return
        self._rest = payload[cut:]
        self._on_events(payload if cut == len(payload) else payload[:cut])

    def _on_events(self, block: bytes) -> None:
        now = time.time()
        found = self._stamped.findall(block)
        if found:
            stamps = []
            expected = self.next_seq
            for seq_text, stamp in found:
                seq = int(seq_text)
                if seq == expected:
                    expected += 1
                elif seq < expected:
                    self.duplicates += 1
                    continue
                else:
                    self.missing += seq - expected
                    expected = seq + 1
                stamps.append(float(stamp))
            if stamps:
                if not self.received:
                    self.first_stamp = stamps[0]
                self.last_stamp = stamps[-1]
                self.latency.record(now, stamps)
            self.next_seq = expected
            self.received += len(found)
            self.last_receive = now
        if not self.ready.done():
            self.ready.set_result("")
        last = block.rfind(b"\n\n", 0, len(block) - 2)  # where the last event starts
        last = 0 if last < 0 else last + 2
        if block.startswith(END_EVENTS, last):
            self._end("complete" if block.startswith(END_EVENTS[0], last) else "shutdown")

    def _end(self, reason: str) -> None:
        if self.ended_by:
            return
        self.ended_by = reason
        if not self.ready.done():
            self.ready.set_result(reason)
        self.close()
        self._on_end()


def _factory(subscriber: Subscriber) -> Callable[[], Subscriber]:
    """A protocol factory for `loop.create_connection` that hands out `subscriber`."""
    return lambda: subscriber


@dataclass(frozen=True)
class GroupSpec:
    """Who to subscribe to and how many; `concurrency` bounds connects in flight, each of
    which may take `connect_timeout` s, all of them at most `connect_deadline` s.

    Subscriber i follows `path`, or `paths[i % len(paths)]` when `paths` is given (one
    stream each of many, like agents' inboxes); `event` names the stamped events counted.
    """

    port: int
    path: str
    count: int
    api_key: str = ""
    concurrency: int = 200
    connect_timeout: float = 30.0
    paths: tuple[str, ...] = ()
    event: str = "log"

    @property
    def connect_deadline(self) -> float:
        return self.connect_timeout + self.count / MIN_CONNECTS_PER_S


@dataclass
class GroupResult:
    """What a group of subscribers saw; results of several groups merge into one."""

    subscribers: int = 0
    connected: int = 0
    connect_seconds: float = 0.0
    connect_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    received: int = 0
    writes: int = 0  # HTTP chunks received: one per write of the server
    missing: int = 0
    duplicates: int = 0
    # (highest seq received, seqs skipped, duplicates) of each connected subscriber
    per_subscriber: list[tuple[int, int, int]] = field(default_factory=list)
    ended_by: dict[str, int] = field(default_factory=dict)
    first_stamp: float = 0.0  # the earliest `t=` received
    last_stamp: float = 0.0  # the latest `t=` received
    last_receive: float = 0.0
    cpu_seconds: list[float] = field(default_factory=list)  # one per client process
    latency: Latency = field(default_factory=Latency)

    def lost(self, emitted: int) -> tuple[int, int]:
        """Lines missing over all subscribers given `emitted` lines, and how many
        subscribers missed some line or got one twice."""
        lost = faulty = 0
        for highest, missing, duplicates in self.per_subscriber:
            short = missing + max(0, emitted - highest)
            lost += short
            faulty += bool(short or duplicates)
        return lost, faulty

    def merge(self, other: GroupResult) -> None:
        self.subscribers += other.subscribers
        self.connected += other.connected
        self.connect_seconds = max(self.connect_seconds, other.connect_seconds)
        self.connect_ms += other.connect_ms
        self.errors = (self.errors + other.errors)[:MAX_ERRORS_KEPT]
        self.received += other.received
        self.writes += other.writes
        self.missing += other.missing
        self.duplicates += other.duplicates
        self.per_subscriber += other.per_subscriber
        for reason, count in other.ended_by.items():
            self.ended_by[reason] = self.ended_by.get(reason, 0) + count
        stamps = [s for s in (self.first_stamp, other.first_stamp) if s]
        self.first_stamp = min(stamps, default=0.0)
        self.last_stamp = max(self.last_stamp, other.last_stamp)
        self.last_receive = max(self.last_receive, other.last_receive)
        self.cpu_seconds += other.cpu_seconds
        self.latency.merge(other.latency)


class LocalGroup:
    """Subscribers in this process's event loop."""

    def __init__(self, spec: GroupSpec) -> None:
        self.spec = spec
        self.latency = Latency()
        self.subscribers: list[Subscriber] = []
        self._result = GroupResult(subscribers=spec.count)
        self._open = 0
        self._connecting = True
        self._all_ended = asyncio.Event()
        self._cpu_at_connect = 0.0
        self._requests = [
            (
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{spec.port}\r\n"
                f"{key_header(spec.api_key)}"
                "Accept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n"
            ).encode()
            for path in spec.paths or (spec.path,)
        ]
        self._stamped = STAMPED_EVENTS[spec.event]

    async def connect(self) -> GroupResult:
        """Open every subscriber; returns once each got its first event or failed, or when
        `spec.connect_deadline` has passed (the rest are then failures)."""
        started = time.monotonic()
        todo = iter(range(self.spec.count))
        workers = min(self.spec.concurrency, self.spec.count)
        try:
            async with asyncio.timeout(self.spec.connect_deadline):
                await asyncio.gather(*(self._connect_some(todo) for _ in range(workers)))
        except TimeoutError:
            self._result.errors.insert(
                0, f"gave up connecting after {self.spec.connect_deadline:.0f} s"
            )
        self._result.connect_seconds = time.monotonic() - started
        self._cpu_at_connect = own_cpu_seconds()
        self._connecting = False
        if self._open <= 0:
            self._all_ended.set()
        return self._result

    async def _connect_some(self, todo: Iterator[int]) -> None:
        loop = asyncio.get_running_loop()
        for index in todo:
            request = self._requests[index % len(self._requests)]
            subscriber = Subscriber(request, self.latency, self._one_ended, self._stamped)
            started = time.monotonic()
            try:
                async with asyncio.timeout(self.spec.connect_timeout):
                    await loop.create_connection(_factory(subscriber), "127.0.0.1", self.spec.port)
                    self._open += 1
                    failure = await subscriber.ready
            except (OSError, TimeoutError) as error:
                failure = f"{type(error).__name__}: {error}"
            if failure:
                subscriber.close()
                if len(self._result.errors) < MAX_ERRORS_KEPT:
                    self._result.errors.append(failure)
                continue
            self.subscribers.append(subscriber)
            self._result.connected += 1
            self._result.connect_ms.append((time.monotonic() - started) * 1000)

    def _one_ended(self) -> None:
        self._open -= 1
        if self._open <= 0 and not self._connecting:
            self._all_ended.set()

    @property
    def open_count(self) -> int:
        return sum(1 for subscriber in self.subscribers if subscriber.open)

    def set_latency(self, latency: Latency) -> None:
        """Record further lines into `latency` (to split a run into phases)."""
        self.latency = latency
        for subscriber in self.subscribers:
            subscriber.latency = latency

    async def wait(self, within: float) -> bool:
        """Wait until every stream ended; False if some are still open after `within` s."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                await self._all_ended.wait()
        return self._all_ended.is_set()

    def result(self) -> GroupResult:
        result = self._result
        live = self.subscribers
        result.received = sum(s.received for s in live)
        result.writes = sum(s.writes for s in live)
        result.missing = sum(s.missing for s in live)
        result.duplicates = sum(s.duplicates for s in live)
        result.per_subscriber = [(s.next_seq - 1, s.missing, s.duplicates) for s in live]
        result.ended_by = {}
        for subscriber in live:
            reason = subscriber.ended_by or "still open"
            result.ended_by[reason] = result.ended_by.get(reason, 0) + 1
        result.first_stamp = min((s.first_stamp for s in live if s.received), default=0.0)
        result.last_stamp = max((s.last_stamp for s in live), default=0.0)
        result.last_receive = max((s.last_receive for s in live), default=0.0)
        result.cpu_seconds = [own_cpu_seconds() - self._cpu_at_connect]
        result.latency = self.latency
        return result

    def close(self) -> None:
        for subscriber in self.subscribers:
            subscriber.close()


def _child(conn: Connection, spec: GroupSpec, within: float) -> None:
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: the parent reports and cleans up
        uvloop.run(_child_main(conn, spec, within))


async def _child_main(conn: Connection, spec: GroupSpec, within: float) -> None:
    group = LocalGroup(spec)
    try:
        connected = await group.connect()
        conn.send(("connected", connected))
        await group.wait(within)
        conn.send(("done", group.result()))
    finally:
        group.close()


class RemoteGroup:
    """The same as LocalGroup, run by a child process of its own (multiprocessing, spawn)."""

    def __init__(self, spec: GroupSpec, within: float) -> None:
        self.spec = spec
        self._conn, child_conn = multiprocessing.Pipe()
        self._process = multiprocessing.get_context("spawn").Process(
            target=_child, args=(child_conn, spec, within), daemon=True, name="sse-client"
        )
        self._process.start()
        child_conn.close()
        self._result: GroupResult | None = None

    async def _receive(self, expect: str, within: float) -> GroupResult:
        def receive() -> Any:
            if not self._conn.poll(within):
                raise TimeoutError(f"client process sent no {expect!r} within {within:.0f} s")
            return self._conn.recv()

        kind, result = await asyncio.get_running_loop().run_in_executor(None, receive)
        if kind != expect:
            raise RuntimeError(f"client process sent {kind!r}, expected {expect!r}")
        return result

    async def connect(self) -> GroupResult:
        return await self._receive("connected", self.spec.connect_deadline + 30.0)

    async def wait(self, within: float) -> bool:
        try:
            self._result = await self._receive("done", within + 30.0)
        except (TimeoutError, EOFError):
            return False
        return "still open" not in self._result.ended_by

    def result(self) -> GroupResult:
        return self._result or GroupResult(subscribers=self.spec.count)

    def close(self) -> None:
        if self._result is not None:  # it is done: let it exit by itself
            self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(timeout=10)
        self._conn.close()


Group = LocalGroup | RemoteGroup


def open_groups(spec: GroupSpec, processes: int, within: float) -> list[Group]:
    """`spec.count` subscribers: in this process, or split evenly over child processes."""
    if processes <= 1:
        return [LocalGroup(spec)]
    share, extra = divmod(spec.count, processes)
    counts = [share + (index < extra) for index in range(processes)]
    return [RemoteGroup(GroupSpec(**{**spec.__dict__, "count": n}), within) for n in counts if n]


async def connect_all(groups: list[Group]) -> GroupResult:
    merged = GroupResult()
    for result in await asyncio.gather(*(group.connect() for group in groups)):
        merged.merge(result)
    return merged


async def wait_all(groups: list[Group], within: float) -> GroupResult:
    """Wait for every stream to end (or `within` s), then merge what all groups saw."""
    await asyncio.gather(*(group.wait(within) for group in groups))
    merged = GroupResult()
    for group in groups:
        merged.merge(group.result())
    return merged


def close_all(groups: list[Group]) -> None:
    for group in groups:
        group.close()
