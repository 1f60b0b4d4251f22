"""The production ASGI app plus one SSE route, for lifecycle tests under real Hypercorn.

The route (private, like every route not on the public list: clients send the
test key) holds a stream open until the runtime says the server is stopping,
then ends it with a final event, which is what every Agented stream must do.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from quart import Response

from agented.asgi import app
from agented.runtime import runtime_of


@app.get("/test/stream")
async def test_stream() -> Response:
    runtime = runtime_of(app)
    assert runtime is not None

    async def body() -> AsyncIterator[bytes]:
        yield b": connected\n\n"
        await runtime.stopping.wait()
        yield b"event: shutdown\ndata: {}\n\n"

    response = Response(body(), content_type="text/event-stream")
    response.timeout = None
    return response
