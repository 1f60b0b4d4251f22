"""Plain HTTP/1.1 by hand over asyncio sockets: one JSON request per connection, and
the incremental chunked-transfer decoder the SSE subscribers use."""

from __future__ import annotations

import asyncio
import json
from typing import Any

REQUEST_TIMEOUT = 30.0


class HttpError(RuntimeError):
    pass


def parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    """Status code and lower-cased headers of a response head (without the blank line)."""
    status_line, *lines = head.decode("latin-1").split("\r\n")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise HttpError(f"bad status line {status_line!r}")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(parts[1]), headers


class Dechunker:
    """Decodes `Transfer-Encoding: chunked` incrementally.

    `feed` returns the payload bytes that arrived, as soon as they arrive (a chunk's
    payload may come in several pieces); `finished` turns true at the last chunk.
    """

    __slots__ = ("_pending", "_remaining", "_skip", "chunks", "finished")

    def __init__(self) -> None:
        self._pending = b""  # an incomplete chunk-size line
        self._remaining = 0  # payload bytes of the current chunk still to come
        self._skip = 0  # bytes of the CRLF that ends the current chunk still to come
        self.finished = False
        self.chunks = 0  # chunks begun: one per body message (write) of the server

    def feed(self, data: bytes) -> bytes:
        if self._pending:
            data, self._pending = self._pending + data, b""
        parts: list[bytes] = []
        pos, end = 0, len(data)
        while pos < end and not self.finished:
            if self._remaining:
                take = min(self._remaining, end - pos)
                parts.append(data[pos : pos + take])
                pos += take
                self._remaining -= take
                if not self._remaining:
                    self._skip = 2
            elif self._skip:
                take = min(self._skip, end - pos)
                pos += take
                self._skip -= take
            else:
                eol = data.find(b"\r\n", pos)
                if eol < 0:
                    self._pending = data[pos:]
                    break
                size = int(data[pos:eol].split(b";", 1)[0], 16)
                pos = eol + 2
                if size == 0:  # the last chunk; trailers, if any, are ignored
                    self.finished = True
                else:
                    self.chunks += 1
                self._remaining = size
        return parts[0] if len(parts) == 1 else b"".join(parts)


def key_header(api_key: str) -> str:
    """The request header line that authenticates with Agented's API key (none without one)."""
    return f"X-API-Key: {api_key}\r\n" if api_key else ""


async def request_json(
    port: int,
    method: str,
    path: str,
    body: Any = None,
    *,
    api_key: str = "",
    within: float = REQUEST_TIMEOUT,
) -> tuple[int, Any]:
    """One request to 127.0.0.1:`port` (`Connection: close`); the status and the JSON body."""
    payload = b"" if body is None else json.dumps(body).encode()
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{key_header(api_key)}"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    async with asyncio.timeout(within):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(head + payload)
            raw = await reader.read()
        finally:
            writer.close()
    head_end = raw.find(b"\r\n\r\n")
    if head_end < 0:
        raise HttpError(f"{method} {path}: incomplete response {raw[:200]!r}")
    status, headers = parse_head(raw[:head_end])
    content = raw[head_end + 4 :]
    if headers.get("transfer-encoding", "").lower() == "chunked":
        content = Dechunker().feed(content)
    return status, json.loads(content) if content else None


class Api:
    """The few Agented admin calls the benchmark makes."""

    def __init__(self, port: int, api_key: str) -> None:
        self.port = port
        self.api_key = api_key

    async def call(self, method: str, path: str, body: Any, expect: int) -> Any:
        status, answer = await request_json(self.port, method, path, body, api_key=self.api_key)
        if status != expect:
            raise HttpError(f"{method} {path} answered {status}, expected {expect}: {answer}")
        return answer

    async def create_command_bot(self, name: str, command: list[str], timeout_seconds: int) -> str:
        bot = {
            "name": name,
            "prompt_template": "{message}",
            "backend_type": "command",
            "command": command,
            "timeout_seconds": timeout_seconds,
        }
        return (await self.call("POST", "/admin/triggers", bot, 201))["id"]

    async def create_minutely_bot(self, name: str) -> str:
        """A bot the server's scheduler runs at every minute boundary (it runs `true`)."""
        bot = {
            "name": name,
            "prompt_template": "probe",
            "backend_type": "command",
            "command": ["true"],
            "trigger_source": "scheduled",
            "schedule_type": "cron",
            "cron_expression": "* * * * *",
            "schedule_timezone": "UTC",
        }
        return (await self.call("POST", "/admin/triggers", bot, 201))["id"]

    async def executions_of(self, bot_id: str) -> list[dict[str, Any]]:
        answer = await self.call("GET", f"/admin/triggers/{bot_id}/executions", None, 200)
        return answer["executions"]

    async def run(self, bot_id: str, message: str) -> str:
        answer = await self.call("POST", f"/admin/triggers/{bot_id}/run", {"message": message}, 202)
        return answer["execution_id"]

    async def execution(self, execution_id: str) -> dict[str, Any]:
        return await self.call("GET", f"/admin/executions/{execution_id}?limit=1", None, 200)

    async def cancel(self, execution_id: str) -> None:
        await self.call("POST", f"/admin/executions/{execution_id}/cancel", None, 202)
