"""The SSE writer: catching up in one write, coalescing, heartbeats, shutdown, disconnects,
stalled clients."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from agented.events import sse
from agented.events import topic as topic_module
from agented.events.encoding import HEARTBEAT
from agented.events.sse import SHUTDOWN_EVENT, StreamHub
from agented.events.topic import Topic
from agented.stopping import Stopping


class Source:
    """A stream source with a live topic and a 'database' holding every event."""

    def __init__(self, topic: Topic | None, stored: dict[int, bytes]) -> None:
        self.topic = topic
        self.stored = stored

    def live(self) -> Topic | None:
        return self.topic

    async def replay(self, after: int) -> tuple[bytes, int]:
        seqs = sorted(s for s in self.stored if s > after)[:3]
        return b"".join(self.stored[s] for s in seqs), seqs[-1] if seqs else after

    async def stored_state(self) -> tuple[bytes, bytes]:
        return b"[status]", b"[complete]"


class Client:
    """Collects what the writer sends; can stall or disconnect on demand."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.received = asyncio.Event()
        self.stalled = False
        self.ended = False  # the response was ended (its last, empty body message)
        self._inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def send(self, message: dict[str, Any]) -> None:
        if self.stalled:
            await asyncio.Event().wait()
        if not message["more_body"]:
            assert message["body"] == b""
            self.ended = True
            return
        self.chunks.append(message["body"])
        self.received.set()

    async def receive(self) -> dict[str, Any]:
        return await self._inbox.get()

    def disconnect(self) -> None:
        self._inbox.put_nowait({"type": "http.disconnect"})

    def send_request_body(self) -> None:
        self._inbox.put_nowait({"type": "http.request", "body": b"", "more_body": False})

    @property
    def unread(self) -> int:
        return self._inbox.qsize()

    async def next_chunk(self) -> bytes:
        async with asyncio.timeout(10):
            while not self.received.is_set():
                await self.received.wait()
        self.received.clear()
        return self.chunks[-1]


async def opened(source: Source, cursor: int) -> tuple[Source, int]:
    """What the stream route's opening gives the hub once it has started the response."""
    return source, cursor


def serve(hub: StreamHub, source: Source, cursor: int, client: Client) -> asyncio.Task[None]:
    return asyncio.ensure_future(hub.serve(opened(source, cursor), client.send, client.receive))


def publish(topic: Topic, first: int, last: int) -> dict[int, bytes]:
    events = {seq: b"<%d>" % seq for seq in range(first, last + 1)}
    for seq, payload in events.items():
        topic.append(seq, payload)
    return events


async def test_finished_history_is_replayed_between_status_and_complete() -> None:
    hub = StreamHub(Stopping())
    client = Client()
    stored = {seq: b"<%d>" % seq for seq in range(1, 8)}
    await serve(hub, Source(None, stored), 2, client)
    assert b"".join(client.chunks) == b"[status]<3><4><5><6><7>[complete]"
    assert client.ended, "the response is ended after `complete`"
    assert hub.viewer_count == 0


async def test_live_viewer_catches_up_in_one_write_then_follows_and_completes() -> None:
    hub = StreamHub(Stopping())
    topic = Topic("t")
    topic.set_status(b"[running]")
    publish(topic, 1, 5)
    client = Client()
    task = serve(hub, Source(topic, {}), 0, client)
    assert await client.next_chunk() == b"[running]<1><2><3><4><5>"
    publish(topic, 6, 9)
    assert await client.next_chunk() == b"<6><7><8><9>"
    topic.close(b"[complete]")
    await asyncio.wait_for(task, 10)
    assert client.chunks[-1] == b"[complete]"
    assert client.ended


async def test_viewer_that_fell_out_of_the_tail_reads_the_database_first() -> None:
    hub = StreamHub(Stopping())
    topic = Topic("t", tail_bytes=8)
    stored = publish(topic, 1, 10)
    topic.mark_persisted(10)
    topic.close(b"[complete]")
    client = Client()
    await serve(hub, Source(topic, stored), 0, client)
    assert b"".join(client.chunks) == b"".join(stored.values()) + b"[complete]"


async def test_idle_viewer_gets_heartbeats_from_the_shared_ticker() -> None:
    stopping = Stopping()
    hub = StreamHub(stopping, heartbeat_seconds=0.01)
    hub.start()
    topic = Topic("t")
    topic.set_status(b"[s]")
    client = Client()
    task = serve(hub, Source(topic, {}), 0, client)
    try:
        assert await client.next_chunk() == b"[s]"
        assert await client.next_chunk() == HEARTBEAT
    finally:
        stopping.set()
        await asyncio.wait_for(task, 10)
    assert client.chunks[-1] == SHUTDOWN_EVENT


async def test_disconnect_frees_the_viewer_at_once() -> None:
    hub = StreamHub(Stopping())  # no ticker: the viewer itself follows receive()
    topic = Topic("t")
    topic.set_status(b"[s]")
    client = Client()
    task = serve(hub, Source(topic, {}), 0, client)
    await client.next_chunk()
    assert hub.viewer_count == 1
    client.disconnect()
    await asyncio.wait_for(task, 10)
    assert hub.viewer_count == 0
    assert not topic.has_viewers
    publish(topic, 1, 3)
    await asyncio.sleep(0)
    assert client.chunks == [b"[s]"], "nothing is written after the client left"


async def test_a_request_body_is_read_past_and_a_finished_stream_leaves_no_reader_behind() -> None:
    hub = StreamHub(Stopping())
    topic = Topic("t")
    topic.set_status(b"[s]")
    client = Client()
    client.send_request_body()
    task = serve(hub, Source(topic, {}), 0, client)
    assert await client.next_chunk() == b"[s]"
    assert client.unread == 0, "the body was read"
    assert hub.viewer_count == 1, "and did not end the stream"
    topic.close(b"[complete]")
    await asyncio.wait_for(task, 10)
    assert client.ended
    client.disconnect()
    await asyncio.sleep(0)
    assert client.unread == 1, "nothing still waits on receive() once the stream ended"


async def test_stalled_viewer_is_dropped_without_holding_up_others(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sse, "SEND_TIMEOUT", 0.05)
    hub = StreamHub(
        Stopping(), heartbeat_seconds=0.15
    )  # the ticker visits each viewer every 0.15 s
    hub.start()
    topic = Topic("t")
    topic.set_status(b"[s]")
    stalled, healthy = Client(), Client()
    stalled.stalled = True
    stalled_task = serve(hub, Source(topic, {}), 0, stalled)
    healthy_task = serve(hub, Source(topic, {}), 0, healthy)
    await healthy.next_chunk()
    publish(topic, 1, 3)
    assert await healthy.next_chunk() == b"<1><2><3>"
    await asyncio.wait_for(stalled_task, 10)
    assert not stalled.ended, "dropped: nothing more is written, not even the response's end"
    assert hub.viewer_count == 1
    topic.close(b"[complete]")
    await asyncio.wait_for(healthy_task, 10)
    assert healthy.ended
    hub.stop()


async def test_a_live_viewer_behind_on_huge_events_writes_one_bounded_chunk_at_a_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sse, "MAX_CHUNK_BYTES", 1000)
    hub = StreamHub(Stopping())
    topic = Topic("t")
    events = {seq: b"<%d>" % seq + b"\0" * 597 for seq in range(1, 6)}  # 600 bytes each
    for seq, payload in events.items():
        topic.append(seq, payload)
    topic.close(b"[complete]")
    client = Client()
    await serve(hub, Source(topic, events), 0, client)
    assert client.chunks == [
        events[1] + events[2],
        events[3] + events[4],
        events[5] + b"[complete]",
    ], "each write stops at the first event past the limit"


class _Clock:
    """Stands in for time.monotonic in the topic: moves only when a write says it took time."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


async def test_events_arriving_while_a_busy_fan_out_cools_down_go_out_in_one_write_in_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = _Clock()
    monkeypatch.setattr(topic_module, "time", clock)
    hub = StreamHub(Stopping())
    topic = Topic("t")
    topic.set_status(b"[s]")
    client = Client()
    writes_take = 0.02  # each write costs 20 ms of the loop: a busy fan-out

    async def slow_send(message: dict[str, Any]) -> None:
        clock.now += writes_take
        await client.send(message)

    task = asyncio.ensure_future(hub.serve(opened(Source(topic, {}), 0), slow_send, client.receive))
    assert await client.next_chunk() == b"[s]"
    publish(topic, 1, 1)
    assert await client.next_chunk() == b"<1>", "the first event after a quiet spell goes at once"
    for seq in range(2, 6):  # one per loop iteration: each would be its own write uncoalesced
        publish(topic, seq, seq)
        await asyncio.sleep(0)
    assert await client.next_chunk() == b"<2><3><4><5>"
    writes_take = 0.0
    clock.now += 1.0  # a quiet spell: the next event goes at once again
    publish(topic, 6, 6)
    assert await client.next_chunk() == b"<6>"
    topic.close(b"[complete]")
    await asyncio.wait_for(task, 10)
    assert b"".join(client.chunks) == (
        b"[s]" + b"".join(b"<%d>" % seq for seq in range(1, 7)) + b"[complete]"
    )
