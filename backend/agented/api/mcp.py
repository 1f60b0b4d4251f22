"""The Model Context Protocol endpoint (`/mcp`): the message bus, for agents while they run.

Served with the official SDK's streamable-HTTP session manager as raw ASGI in
front of Quart, like the SSE routes. The security middleware has already read
the run token (checks.check_credentials); here the run it names must still be
running as its agent, or the request is refused with a 401 before the SDK sees
it. The tools call the same services as the admin API, as the token's agent;
a message sent here records the execution that sent it.

The session manager is stateless (each POST stands alone, answered as JSON):
the tools are plain calls, and nothing outlives a run but the messages. It
runs while the app serves: started in `before_serving` and stopped in
`after_serving`, on the server's loop in the lifespan task that also starts and
stops the runtime (the SDK's task group must be left by the task that entered it).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from contextlib import AsyncExitStack
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from quart import Quart

from ..http.asgi import ASGIApp, Receive, Send
from ..http.paths import is_mcp_path
from ..http.responses import send_json
from ..http.state import request_state
from ..models import MessageStatus
from ..run_tokens import RunClaims
from ..runtime import Runtime, runtime_of
from .schemas import MESSAGE_DEFAULTS, MessageSend

CALLER_KEY = "agented.mcp_caller"  # the scope key the tools read their RunClaims from
INBOX_LIMIT = 100


def _caller(ctx: Context[Any]) -> tuple[Runtime, RunClaims]:
    request = ctx.request_context.request
    scope = request.scope  # type: ignore[union-attr]
    runtime, claims = scope[CALLER_KEY]
    return runtime, claims


def build_server() -> MCPServer:
    # MCPServer sets up the root logger for a stand-alone server (logging.basicConfig with a
    # Rich handler), which would print every library's records, Hypercorn's included, a
    # second time and in another format; Agented's logging is configured by its entry point,
    # so that set-up is undone here.
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    server = MCPServer(
        "agented",
        instructions="The Agented message bus: you act as the agent this run belongs to.",
    )
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
    root.setLevel(level)

    @server.tool()
    async def send_message(
        ctx: Context[Any],
        content: str,
        to_agent_id: str | None = None,
        subject: str | None = None,
        message_type: str = "message",
        priority: str = "normal",
        ttl_seconds: int | None = None,
        in_reply_to: str | None = None,
    ) -> dict[str, Any]:
        """Send a message to another agent (`to_agent_id`), or to every other agent when
        message_type is 'broadcast'. Returns the ids of the messages stored."""
        runtime, caller = _caller(ctx)
        given = {
            "content": content,
            "to_agent_id": to_agent_id,
            "subject": subject,
            "message_type": message_type,
            "priority": priority,
            "ttl_seconds": ttl_seconds,
            "in_reply_to": in_reply_to,
        }
        # The admin API's own request model: the same limits and messages for both.
        sent = MessageSend.model_validate(
            {key: value for key, value in given.items() if value is not None}
        ).model_dump(exclude_unset=True)
        to = sent.pop("to_agent_id", None)
        fields = {**MESSAGE_DEFAULTS, **sent, "from_execution_id": caller.execution_id}
        messages = await runtime.message_service.send(caller.agent_id, to, fields)
        return {"message_ids": [message.id for message in messages]}

    @server.tool()
    async def read_inbox(
        ctx: Context[Any], status: MessageStatus | None = None, limit: int = INBOX_LIMIT
    ) -> dict[str, Any]:
        """Your agent's messages, high priority first, then oldest first (never expired ones);
        `status` one of pending, delivered, read; `limit` 1 to 1000. Pending ones returned
        become delivered."""
        runtime, caller = _caller(ctx)
        limit = max(1, min(limit, 1000))
        messages = await runtime.message_service.hand_over(caller.agent_id, status, limit)
        return {"messages": [message.model_dump(mode="json") for message in messages]}

    @server.tool()
    async def mark_read(ctx: Context[Any], message_id: str) -> dict[str, Any]:
        """Mark a message in your agent's inbox read."""
        runtime, caller = _caller(ctx)
        message = await runtime.message_service.mark_read(caller.agent_id, message_id)
        return {"message": message.model_dump(mode="json")}

    @server.tool()
    async def list_agents(ctx: Context[Any]) -> dict[str, Any]:
        """Every agent on the bus (id, name, role, description); yours is marked `you`."""
        runtime, caller = _caller(ctx)
        agents = await runtime.agent_store.list()
        return {
            "agents": [
                {**agent.model_dump(mode="json"), "you": agent.id == caller.agent_id}
                for agent in agents
            ]
        }

    return server


class McpRoutes:
    """ASGI middleware: answers `/mcp` with the SDK and passes everything else to Quart."""

    def __init__(self, app: Quart, inner: ASGIApp) -> None:
        self._app = app
        self._inner = inner
        self.manager: StreamableHTTPSessionManager | None = None  # while serving
        self._lifetime = AsyncExitStack()

    def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> Awaitable[None]:
        # Not a coroutine itself: requests passed on (an open SSE stream among them) hold
        # no frame of this layer.
        if scope["type"] != "http" or not is_mcp_path(scope["path"]):
            return self._inner(scope, receive, send)
        return self._serve(scope, receive, send)

    async def _serve(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        state = request_state(scope)
        runtime, manager = runtime_of(self._app), self.manager
        if runtime is None or manager is None or runtime.stopping.is_set():
            await send_json(
                send,
                503,
                {"error": "the server is not serving"},
                state.request_id,
                state.response_headers,
            )
            return
        # The middleware let no request without a well-signed token through.
        claims = RunClaims(*state.run) if state.run is not None else None
        if claims is None or runtime.execution_service.agent_of(claims.execution_id) != (
            claims.agent_id
        ):
            await send_json(
                send,
                401,
                {"error": "the run this token belongs to is not running"},
                state.request_id,
                state.response_headers,
                www_authenticate="Bearer",
            )
            return
        scope[CALLER_KEY] = (runtime, claims)
        await manager.handle_request(scope, receive, send)  # type: ignore[arg-type]

    async def start(self) -> None:
        """Run a fresh session manager (one can run only once) until `stop`."""
        server = build_server()
        # Builds the session manager (the Starlette app around it is not used: we mount it).
        server.streamable_http_app(
            stateless_http=True,
            json_response=True,
            # Host and origin are checked by the security middleware, for every route alike.
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        )
        manager = server.session_manager
        await self._lifetime.enter_async_context(manager.run())
        self.manager = manager

    async def stop(self) -> None:
        self.manager = None
        await self._lifetime.aclose()


def install_mcp(app: Quart) -> None:
    routes = McpRoutes(app, app.asgi_app)
    app.asgi_app = routes  # type: ignore[method-assign,assignment]
    # Started and stopped by the lifespan task that runs the Runtime, on the server's loop.
    app.before_serving(routes.start)
    app.after_serving(routes.stop)
