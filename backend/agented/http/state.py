"""What the edge learned about one request, carried to the routes in one typed object.

The security middleware builds it once per HTTP request and stores it in the
ASGI scope under `STATE_KEY`; the routes behind it (Quart's and the raw SSE
streams) read it with `request_state`. One slotted object instead of several
loose string keys on the scope, so a reader sees every field and its type.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .asgi import Headers

STATE_KEY = "agented.request"


@dataclass(slots=True)
class RequestState:
    request_id: str
    # True when the id was made here rather than sent: it is then no header of the sender's.
    generated_request_id: bool
    authenticated: bool = False  # a valid API key or stream token (or auth is disabled)
    # The security headers for this response; streams add them themselves.
    response_headers: Headers = ()
    # On /mcp: the (execution id, agent id) a valid run token speaks for (run_tokens.RunClaims);
    # whether that run still runs is checked by the MCP route.
    run: tuple[str, str] | None = None


def request_state(scope: Mapping[str, Any]) -> RequestState:
    """The state the security middleware stored for this request (it screens every one)."""
    state: RequestState = scope[STATE_KEY]
    return state
