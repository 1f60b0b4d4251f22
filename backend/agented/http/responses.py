"""The one shape of an error body, `{"error": ...}`, from Quart and from raw ASGI alike."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from quart import Response, jsonify

from .asgi import Send


def error_response(http_status: int, message: str, **extra: object) -> Response:
    """The one shape of an error body; extra fields add machine-readable detail."""
    response = jsonify({"error": message, **extra})
    response.status_code = http_status
    return response


async def send_json(
    send: Send,
    status: int,
    body: dict[str, Any],
    request_id: str,
    extra: Iterable[tuple[bytes, bytes]] = (),
    **headers: str,
) -> None:
    """A complete JSON response from raw ASGI, shaped like the rest of the API's."""
    payload = json.dumps(body, separators=(",", ":")).encode()
    named = ((name.replace("_", "-").encode(), value.encode()) for name, value in headers.items())
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"x-request-id", request_id.encode()),
                *named,
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
