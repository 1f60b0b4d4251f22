"""Real HTTP in front of an app a test started itself, for clients in other processes.

A worker's CLI reaches the server's `/mcp` over the network, where the test client
cannot follow. The listening socket is made first, so that the app can be built
knowing its own address (AGENTED_PUBLIC_URL); Hypercorn then serves the app on it
in the test's event loop, and leaves the app's lifespan (`test_app()`) to the test.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

from hypercorn.asyncio import serve
from hypercorn.config import Config
from quart import Quart


class HttpListener:
    """A socket listening on loopback at a port of its own; `url` is its address."""

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"

    @contextlib.asynccontextmanager
    async def serving(self, app: Quart) -> AsyncIterator[None]:
        """Serve `app` (already started) on this socket until the block ends."""
        config = Config()
        config.bind = [f"fd://{self._socket.detach()}"]  # Hypercorn closes it
        config.accesslog = None
        config.graceful_timeout = 1.0
        stop = asyncio.Event()
        server = asyncio.ensure_future(
            serve(_without_lifespan(app), config, shutdown_trigger=stop.wait)
        )
        try:
            yield
        finally:
            stop.set()
            await server


def _without_lifespan(app: Quart) -> Any:
    """`app` for HTTP; its lifespan events answered here, as the test runs its lifespan."""

    async def asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await app(scope, receive, send)
            return
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})

    return asgi
