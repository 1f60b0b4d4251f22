"""A plain Quart SSE app, the textbook way, for `sse_bench.py --compare-quart-baseline`.

Served like Agented (`hypercorn -c hypercorn.toml ... quart_baseline:app`), it streams
the same events to the same client, but one Quart Response per subscriber fed by an
asyncio.Queue, and one ASGI write per event: the per-write cost that Agented's
batching avoids. `POST /emit {"lines", "rate", "size"}` starts a producer that stamps
each line like `emit.py` does and puts its event in every subscriber's queue.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

from quart import Quart, Response, request

app = Quart(__name__)
subscribers: set[asyncio.Queue[bytes | None]] = set()
producers: set[asyncio.Task[None]] = set()

STATUS = b'event: status\ndata: {"status":"running"}\n\n'
COMPLETE = b'event: complete\ndata: {"status":"success"}\n\n'


def log_event(seq: int, padding: str) -> bytes:
    content = json.dumps(f"{seq} t={time.time():.6f} {padding}")
    return b'id: %d\nevent: log\ndata: {"seq":%d,"stream":"stdout","content":%s}\n\n' % (
        seq,
        seq,
        content.encode(),
    )


def publish(event: bytes | None) -> None:
    for queue in subscribers:
        queue.put_nowait(event)


async def produce(lines: int, rate: float, size: int) -> None:
    padding = "x" * max(0, size - 30)
    start = time.monotonic()
    for seq in range(1, lines + 1):
        delay = start + (seq - 1) / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        publish(log_event(seq, padding))
    publish(COMPLETE)
    publish(None)


@app.get("/stream")
async def stream() -> Response:
    queue: asyncio.Queue[bytes | None] = asyncio.Queue()
    subscribers.add(queue)

    async def events() -> AsyncIterator[bytes]:
        try:
            yield STATUS
            while (event := await queue.get()) is not None:
                yield event
        finally:
            subscribers.discard(queue)

    response = Response(events(), content_type="text/event-stream")
    response.timeout = None
    return response


@app.post("/emit")
async def emit() -> tuple[dict[str, str], int]:
    params = await request.get_json()
    task = asyncio.get_running_loop().create_task(
        produce(int(params["lines"]), float(params["rate"]), int(params.get("size", 100)))
    )
    producers.add(task)
    task.add_done_callback(producers.discard)
    return {"status": "started"}, 202
