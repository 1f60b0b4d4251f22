"""The agents' message bus under load: many agents, each watching its live inbox, while
messages flow to them at a steady rate (issue: 100 agents, 1,000 messages/s).

Two ways to send, two scenarios:
- `agents_bus`: broadcasts from one more agent, so each request stores one message per
  agent (100) in one transaction and appends it to every inbox's topic: what is measured
  is the bus itself, storing and delivering 1,000 messages/s to 100 live inboxes.
- `agents_bus_direct`: one `POST /admin/agents/<sender>/messages` per message, to one
  recipient each, so the server also pays a whole HTTP request (Hypercorn, Quart,
  validation, a transaction) for every message: it reports the rate the worker sustains.
Requests go over a few keep-alive connections paced on absolute deadlines. Each message's
content is "<n> t=<send time>", which the subscribers (`sse_load.py`) time exactly as they
time log lines. The streams end when the agents are deleted (`complete`).
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from httpio import Api, HttpError, key_header, parse_head
from scenarios import (
    Measurement,
    Scenario,
    Settings,
    check_connected,
    client_figures,
    log,
    serving,
    target,
)
from sse_load import GroupSpec, Latency, LocalGroup

AGENTS = 100
RATE = 1000.0  # messages per second, all recipients together
SECONDS = 20.0
SENDING_CONNECTIONS = 16  # keep-alive connections the messages are sent over (at most)
TARGET_P99_MS = 100.0


class KeepAlive:
    """One HTTP/1.1 keep-alive connection that sends JSON requests one after another."""

    def __init__(self, port: int, api_key: str) -> None:
        self._port = port
        self._key = key_header(api_key)
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: Any) -> tuple[int, Any]:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection("127.0.0.1", self._port)
        assert self._reader is not None
        payload = json.dumps(body).encode()
        self._writer.write(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{self._port}\r\n{self._key}"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n".encode()
            + payload
        )
        head = await self._reader.readuntil(b"\r\n\r\n")
        status, headers = parse_head(head[:-4])
        if "content-length" not in headers:
            raise HttpError(f"POST {path}: answered {status} without a Content-Length")
        content = await self._reader.readexactly(int(headers["content-length"]))
        if headers.get("connection", "").lower() == "close":  # e.g. keep_alive_max_requests
            self.close()
            self._reader = self._writer = None
        return status, json.loads(content) if content else None

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


async def _send_all(
    port: int, api_key: str, sender: str, bodies: list[dict[str, Any]], rate: float
) -> tuple[float, Latency]:
    """POST `bodies` as messages from `sender` at `rate` requests/s, each stamped with its
    send time; the seconds it took and how long each request took (send to answer)."""
    answered = Latency()
    started = time.time()
    connections = min(SENDING_CONNECTIONS, len(bodies))

    async def connection(first: int) -> None:
        client = KeepAlive(port, api_key)
        try:
            for n in range(first, len(bodies), connections):
                delay = started + n / rate - time.time()
                if delay > 0:
                    await asyncio.sleep(delay)  # pacing the load, not synchronisation
                sent_at = time.time()
                body = {**bodies[n], "content": f"{n} t={sent_at:.6f}"}
                status, answer = await client.post(f"/admin/agents/{sender}/messages", body)
                if status != 201:
                    raise HttpError(f"sending message {n} answered {status}: {answer}")
                answered.record(time.time(), [sent_at])
        finally:
            client.close()

    await asyncio.gather(*(connection(first) for first in range(connections)))
    return time.time() - started, answered


async def agents_bus(
    settings: Settings, agents: int, rate: float, seconds: float, *, broadcast: bool
) -> dict:
    """`agents` agents watching their inboxes while `rate` messages/s reach them for `seconds`,
    as broadcasts (one request per `agents` messages) or one request per message."""
    if settings.quick:
        seconds = 3.0
    per_agent = int(rate * seconds) // agents
    total = per_agent * agents
    requests_per_s = rate / agents if broadcast else rate
    within = seconds * 3 + 60
    async with serving(settings) as (server, _):
        port, key = server.port, server.api_key
        api = Api(port, key)

        async def agent(name: str) -> str:
            made = await api.call("POST", "/admin/agents", {"name": name}, 201)
            return str(made["id"])

        sender = await agent("bench-sender")
        recipients = [await agent(f"agent-{index:03d}") for index in range(agents)]
        # A first message each, so every stream has an event to connect on (inbox seq 1).
        for recipient in recipients:
            body = {"to_agent_id": recipient, "content": f"0 t={time.time():.6f}"}
            await api.call("POST", f"/admin/agents/{sender}/messages", body, 201)
        paths = tuple(f"/admin/agents/{recipient}/messages/stream" for recipient in recipients)
        spec = GroupSpec(port, paths[0], agents, key, paths=paths, event="message")
        group = LocalGroup(spec)
        try:
            connected = await group.connect()
            check_connected("agents_bus", connected, agents)
            group.set_latency(Latency())  # the first messages waited for the connect: not timed
            log(f"{agents} inboxes watched; sending {total} messages at {rate:.0f}/s")
            measured = Measurement(server)
            bodies: list[dict[str, Any]] = (
                [{"message_type": "broadcast"}] * per_agent
                if broadcast
                else [{"to_agent_id": recipients[n % agents]} for n in range(total)]
            )
            sending_seconds, answered = await _send_all(port, key, sender, bodies, requests_per_s)
            for recipient in recipients:  # each stream then ends with `complete`
                await api.call("DELETE", f"/admin/agents/{recipient}", None, 204)
            ended = await group.wait(within)
            await measured.stop()
        finally:
            group.close()
        seen = group.result()
    lost, faulty = seen.lost(per_agent + 1)
    delivered = seen.received - seen.connected  # without the first messages
    return {
        "agents": agents,
        "sent_as": "broadcasts" if broadcast else "one request per message",
        "rate_messages_per_s": rate,
        "duration_s": seconds,
        "messages_sent": total,
        "send_requests": len(bodies),
        "send_rate_achieved_per_s": round(total / sending_seconds),
        "send_request_ms": answered.summary(),
        "messages_delivered": delivered,
        "messages_lost": lost,
        "duplicates": seen.duplicates,
        "inboxes_with_loss": faulty,
        "streams_ended_by": seen.ended_by if ended else {**seen.ended_by, "wait": "timed out"},
        "latency_ms": seen.latency.summary(),
        "server_worker": measured.worker_figures(delivered_message=max(delivered, 0)),
        "client": client_figures(seen, measured.usage.wall_seconds, 1),
        "machine": measured.machine_figures(sum(seen.cpu_seconds)),
        "targets": {
            "messages_lost": target(lost + seen.duplicates, "==", 0),
            "latency_p99_ms": target(seen.latency.summary()["p99"], "<=", TARGET_P99_MS),
            "send_rate_per_s": target(round(total / sending_seconds), ">=", rate * 0.95),
        },
    }


AGENTS_BUS = Scenario(
    "agents_bus",
    f"{AGENTS} agents watching their inboxes, {RATE:.0f} messages/s to them as broadcasts"
    f" for {SECONDS:.0f} s",
    lambda s: agents_bus(s, AGENTS, RATE, SECONDS, broadcast=True),
)
AGENTS_BUS_DIRECT = Scenario(
    "agents_bus_direct",
    f"{AGENTS} agents watching their inboxes, {RATE:.0f} messages/s to them, one request"
    f" each, for {SECONDS:.0f} s",
    lambda s: agents_bus(s, AGENTS, RATE, SECONDS, broadcast=False),
)
