"""Server-Sent Events framing. Each event is encoded once and its bytes shared by all viewers."""

from __future__ import annotations

import json
from json.encoder import encode_basestring
from typing import Any

HEARTBEAT = b": heartbeat\n\n"
# One encoder for every event: `json.dumps` with options builds a new one per call.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def _json(data: Any) -> bytes:
    return _ENCODER.encode(data).encode()


def encode_event(event: str, data: Any, event_id: int | None = None) -> bytes:
    head = b"" if event_id is None else b"id: %d\n" % event_id
    return head + b"event: " + event.encode() + b"\ndata: " + _json(data) + b"\n\n"


def encode_log(seq: int, stream: str, content: str, timestamp: str) -> bytes:
    """A `log` event, built by hand: this runs for every line the CLIs print. The content
    goes through the JSON encoder's own string escaper (what `json.dumps(content,
    ensure_ascii=False)` calls, without building an encoder: half the cost of a line)."""
    return (
        b'id: %d\nevent: log\ndata: {"seq":%d,"stream":"%s","content":%s,"timestamp":"%s"}\n\n'
        % (
            seq,
            seq,
            stream.encode(),
            encode_basestring(content).encode(),
            timestamp.encode(),
        )
    )
