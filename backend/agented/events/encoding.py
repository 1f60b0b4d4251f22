"""Server-Sent Events framing. Each event is encoded once and its bytes shared by all viewers."""

from __future__ import annotations

import json
from typing import Any

HEARTBEAT = b": heartbeat\n\n"


def _json(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def encode_event(event: str, data: Any, event_id: int | None = None) -> bytes:
    head = b"" if event_id is None else b"id: %d\n" % event_id
    return head + b"event: " + event.encode() + b"\ndata: " + _json(data) + b"\n\n"


def encode_log(seq: int, stream: str, content: str, timestamp: str) -> bytes:
    """A `log` event, built by hand: this runs for every line the CLIs print."""
    return (
        b'id: %d\nevent: log\ndata: {"seq":%d,"stream":"%s","content":%s,"timestamp":"%s"}\n\n'
        % (
            seq,
            seq,
            stream.encode(),
            json.dumps(content, ensure_ascii=False).encode(),
            timestamp.encode(),
        )
    )
