"""The SSE routes in the OpenAPI schema, so `/docs` lists them with the other routes.

They are answered by raw ASGI in front of Quart (`api/streams.py`), where
quart-schema cannot see them; their entries are therefore written here, once,
and added to the generated schema by the provider in `api/__init__.py`.
"""

from __future__ import annotations

from typing import Any

_RESUME = [
    {
        "name": "Last-Event-ID",
        "in": "header",
        "required": False,
        "schema": {"type": "integer", "minimum": 0},
        "description": "Resume after this event id (what `EventSource` sends on reconnecting).",
    },
    {
        "name": "last_event_id",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 0},
        "description": "The same as the `Last-Event-ID` header, for clients that cannot set it.",
    },
    {
        "name": "token",
        "in": "query",
        "required": False,
        "schema": {"type": "string"},
        "description": "A stream token for this path (`POST /admin/stream-tokens`), for clients "
        "that cannot send the API key (a browser's `EventSource`).",
    },
]


def _stream(
    summary: str, operation_id: str, tag: str, parameter: str, events: str
) -> dict[str, Any]:
    return {
        "get": {
            "summary": summary,
            "operationId": operation_id,
            "tags": [tag],
            "parameters": [
                {"name": parameter, "in": "path", "required": True, "schema": {"type": "string"}},
                *_RESUME,
            ],
            "responses": {
                "200": {
                    "description": events,
                    "content": {"text/event-stream": {"schema": {"type": "string"}}},
                },
                "404": {"description": "No such record."},
            },
        }
    }


STREAM_PATHS: dict[str, dict[str, Any]] = {
    "/admin/executions/{execution_id}/stream": _stream(
        "An execution's log, live, as Server-Sent Events",
        "get_execution_stream",
        "executions",
        "execution_id",
        "`status` events (where the run stands), `log` events (`id:` is the line's seq; "
        "`{seq, stream, content, timestamp}`), then one `complete` event "
        "(`{status, exit_code, error_message, duration_ms, finished_at}`) and the end. "
        "`: heartbeat` comments every 15 s; `shutdown` when the server stops.",
    ),
    "/admin/agents/{agent_id}/messages/stream": _stream(
        "An agent's inbox, live, as Server-Sent Events",
        "get_inbox_stream",
        "agents",
        "agent_id",
        "`message` events (`id:` is the message's `inbox_seq`): the unread messages, then "
        "each new one; `complete` (`{agent_id, reason}`) when the agent is deleted.",
    ),
}
