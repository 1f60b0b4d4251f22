"""The ASGI shapes Agented's raw-ASGI layers (security, streams, SSE) pass around."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

Scope = dict[str, Any]
Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]
# Any, not Scope: Quart's own asgi_app takes a union of TypedDict scopes.
ASGIApp = Callable[[Any, Any, Any], Awaitable[None]]
Headers = tuple[tuple[bytes, bytes], ...]
