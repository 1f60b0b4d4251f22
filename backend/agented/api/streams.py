"""SSE routes, served as raw ASGI in front of Quart (see events/sse.py for why).

GET /admin/executions/{id}/stream: `status`, `log` (with `id: <seq>`) and
`complete` events. `Last-Event-ID` (header) or `?last_event_id=` resumes after
that line, whether the execution is still running or long finished.

GET /admin/agents/{id}/messages/stream: the agent's unread messages as
`message` events (with `id: <inbox seq>`), then each new one as it arrives;
`Last-Event-ID` resumes after that message. A `complete` event ends it if the
agent is deleted.

Both are one writer (`StreamHub`) serving a `StreamSource`; only finding the
source differs, and a stream token (`/admin/stream-tokens`) opens either.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

from quart import Blueprint, Quart, Response, current_app, jsonify
from quart_schema import document_response, validate_request

from ..agents.inbox import InboxStream
from ..events.sse import StreamSource, stream_headers
from ..executions.stream import ExecutionStream
from ..http.asgi import ASGIApp, Receive, Send
from ..http.paths import INBOX_STREAM_PATH, STREAM_PATH, opens_with_stream_token
from ..http.responses import error_response, send_json
from ..http.state import STATE_KEY, request_state
from ..models import iso_from_unix
from ..runtime import Runtime, runtime_of
from ..security.policy import POLICY_KEY, SecurityPolicy
from .schemas import StreamTokenOut, StreamTokenRequest


def _header(scope: dict[str, Any], name: bytes) -> str:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return str(value, "latin-1")
    return ""


def _resume_cursor(scope: dict[str, Any]) -> int | None:
    """The Last-Event-ID to resume after (0 from the start), or None if it is malformed."""
    raw = _header(scope, b"last-event-id")
    if not raw:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        raw = (query.get("last_event_id") or [""])[0]
    if not raw:
        return 0
    return int(raw) if raw.isdigit() and len(raw) < 19 else None


async def _execution_source(services: Runtime, execution_id: str) -> StreamSource | str:
    """The execution's log, or why there is none."""
    live = services.logs.topic(execution_id) is not None  # no database trip for live ones
    if not live and await services.execution_store.get(execution_id) is None:
        return f"execution {execution_id} not found"
    return ExecutionStream(execution_id, services.logs, services.execution_store)


async def _inbox_source(services: Runtime, agent_id: str) -> StreamSource | str:
    """The agent's inbox, or why there is none."""
    topic = await services.message_service.open_inbox(agent_id)
    if topic is None:
        return f"agent {agent_id} not found"
    return InboxStream(agent_id, topic, services.message_store)


FindSource = Callable[[Runtime, str], Awaitable[StreamSource | str]]
_ROUTES: tuple[tuple[re.Pattern[str], FindSource], ...] = (
    (STREAM_PATH, _execution_source),
    (INBOX_STREAM_PATH, _inbox_source),
)


def _route(scope: dict[str, Any]) -> tuple[FindSource, str] | None:
    """How to find the source of the stream `scope` asks for, and the id in its path."""
    if scope["type"] != "http":
        return None
    for pattern, find in _ROUTES:
        if match := pattern.match(scope["path"]):
            return find, match.group(1)
    return None


class StreamRoutes:
    """ASGI middleware: answers the SSE routes itself and passes everything else to Quart."""

    def __init__(self, app: Quart, inner: ASGIApp) -> None:
        self._app = app
        self._inner = inner

    def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> Awaitable[None]:
        # Not a coroutine itself: an open stream holds the hub's one frame, none of this layer.
        route = _route(scope)
        if route is None:
            return self._inner(scope, receive, send)
        services = runtime_of(self._app)
        if services is None:
            return _refuse(scope, send, 503, NOT_SERVING)
        return services.streams.serve(self._open(scope, send, services, *route), send, receive)

    @staticmethod
    async def _open(
        scope: dict[str, Any],
        send: Send,
        services: Runtime,
        find_source: FindSource,
        record_id: str,
    ) -> tuple[StreamSource, int] | None:
        """Check the request and start the response; None if it was answered with an error.

        A separate coroutine, so that what it needed is freed before the (long) stream.
        """
        if scope["method"] != "GET":
            message = f"method {scope['method']} is not allowed on {scope['path']}"
            await _refuse(scope, send, 405, message, allow="GET")
            return None
        cursor = _resume_cursor(scope)
        if cursor is None:
            await _refuse(scope, send, 400, "Last-Event-ID must be a non-negative integer")
            return None
        if services.stopping.is_set():
            await _refuse(scope, send, 503, NOT_SERVING)
            return None
        source = await find_source(services, record_id)
        if isinstance(source, str):
            await _refuse(scope, send, 404, source)
            return None
        state = request_state(scope)
        headers = (*stream_headers(state.request_id), *state.response_headers)
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        # Read: not kept for as long as the stream is open. (The request headers go too;
        # the access log's format in hypercorn.toml names none of them.)
        del scope[STATE_KEY]
        scope["headers"] = ()
        return source, cursor


NOT_SERVING = "the server is not serving"


async def _refuse(
    scope: dict[str, Any], send: Send, status: int, message: str, **headers: str
) -> None:
    state = request_state(scope)
    await send_json(
        send, status, {"error": message}, state.request_id, state.response_headers, **headers
    )


blueprint = Blueprint("stream_tokens", __name__, url_prefix="/admin")


@blueprint.post("/stream-tokens")
@validate_request(StreamTokenRequest)
@document_response(StreamTokenOut)
async def issue_stream_token(data: StreamTokenRequest) -> Response:
    """A short-lived token for one SSE stream or one run's log.txt (sent without headers)."""
    if not opens_with_stream_token(data.path):
        return error_response(
            400,
            "path: must be an SSE stream path like /admin/executions/<id>/stream"
            " or /admin/agents/<id>/messages/stream, or a log like /admin/executions/<id>/log.txt",
            field="path",
        )
    policy: SecurityPolicy = current_app.extensions[POLICY_KEY]
    token, expires = policy.stream_tokens.issue(data.path)
    return jsonify({"token": token, "expires_at": iso_from_unix(expires)})


def install_streams(app: Quart) -> None:
    app.asgi_app = StreamRoutes(app, app.asgi_app)  # type: ignore[method-assign,assignment]
