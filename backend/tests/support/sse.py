"""Reading Server-Sent Events in tests, from the Quart test client or from raw bytes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

STREAM_TIMEOUT = 60.0


@dataclass(frozen=True)
class Event:
    event: str
    data: Any
    id: int | None


def parse_events(buffer: bytes) -> tuple[list[Event], bytes]:
    """Complete events in `buffer` (comments skipped) and the unfinished rest."""
    events = []
    *blocks, rest = buffer.split(b"\n\n")
    for block in blocks:
        fields: dict[str, str] = {}
        for line in block.decode().split("\n"):
            if line.startswith(":") or ": " not in line:
                continue
            name, value = line.split(": ", 1)
            fields[name] = value
        if "event" in fields:
            event_id = int(fields["id"]) if "id" in fields else None
            events.append(Event(fields["event"], json.loads(fields["data"]), event_id))
    return events, rest


async def stream_events(
    client,
    execution_id: str,
    *,
    last_event_id: int | None = None,
    stop_after_seq: int | None = None,
) -> list[Event]:
    """An execution's events until `complete`, or until log `stop_after_seq` (then disconnect)."""
    headers = {} if last_event_id is None else {"Last-Event-ID": str(last_event_id)}
    events: list[Event] = []
    buffer = b""
    async with asyncio.timeout(STREAM_TIMEOUT):
        async with client.request(
            f"/admin/executions/{execution_id}/stream", headers=headers
        ) as connection:
            await connection.send_complete()
            while True:
                buffer += await connection.receive()
                new, buffer = parse_events(buffer)
                events.extend(new)
                if any(e.event in ("complete", "shutdown") for e in new):
                    break
                if stop_after_seq is not None and any(
                    e.event == "log" and e.id >= stop_after_seq for e in new
                ):
                    await connection.disconnect()
                    break
    return events


def log_seqs(events: list[Event]) -> list[int]:
    return [event.id for event in events if event.event == "log"]


class OpenStream:
    """A stream kept open while a test acts: take its events as they come."""

    def __init__(self, connection: Any) -> None:
        self._connection = connection
        self._buffer = b""
        self._events: list[Event] = []
        self.ended = False

    async def take(self, count: int) -> list[Event]:
        """The next `count` events (or fewer, if the stream ends first)."""
        async with asyncio.timeout(STREAM_TIMEOUT):
            while len(self._events) < count and not self.ended:
                chunk = await self._connection.receive()
                if not chunk:
                    self.ended = True
                    break
                new, self._buffer = parse_events(self._buffer + chunk)
                self._events.extend(new)
                self.ended = any(e.event in ("complete", "shutdown") for e in new)
        taken, self._events = self._events[:count], self._events[count:]
        return taken


@asynccontextmanager
async def open_stream(
    client, path: str, *, last_event_id: int | None = None, headers: dict[str, str] | None = None
) -> AsyncIterator[OpenStream]:
    """Open the SSE stream at `path`; leaving the block disconnects."""
    sent = dict(headers or {})
    if last_event_id is not None:
        sent["Last-Event-ID"] = str(last_event_id)
    async with client.request(path, headers=sent) as connection:
        await connection.send_complete()
        yield OpenStream(connection)
        await connection.disconnect()
