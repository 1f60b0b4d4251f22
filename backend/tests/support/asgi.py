"""Call an app as a server would, with a request target the test client cannot express.

Quart's test client parses its path as a URL, so `//admin/x` becomes a host and
`/%2Fadmin` is decoded; a server hands the app `path` and `raw_path` as they came.
This builds that scope by hand and collects the response.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from quart import Quart

TIMEOUT = 10.0


@dataclass
class RawResponse:
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body)


async def call_asgi(
    app: Quart,
    method: str,
    path: str,
    *,
    raw_path: bytes | None = None,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
) -> RawResponse:
    """One request straight into `app.asgi_app`; `path` is the decoded path the server gives."""
    sent_headers = {"host": "localhost", **{k.lower(): v for k, v in (headers or {}).items()}}
    if body:
        sent_headers.setdefault("content-length", str(len(body)))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": raw_path if raw_path is not None else path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.encode(), v.encode()) for k, v in sent_headers.items()],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 20000),
        "extensions": {},
    }
    response = RawResponse()
    done = asyncio.Event()
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            response.status = message["status"]
            response.headers = {
                k.decode().lower(): v.decode() for k, v in message.get("headers", ())
            }
        elif message["type"] == "http.response.body":
            response.body += message.get("body", b"")
            if not message.get("more_body", False):
                done.set()

    async with asyncio.timeout(TIMEOUT):
        await app.asgi_app(scope, receive, send)
    return response
