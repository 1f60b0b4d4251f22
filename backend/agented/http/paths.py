"""Paths recognised outside Quart's router: the SSE streams and MCP, served as raw ASGI."""

from __future__ import annotations

import re

# The SSE streams are served as raw ASGI in front of Quart, so they have no Quart
# rule; their paths are recognised by the route table and the stream routes alike.
STREAM_PATH = re.compile(r"^/admin/executions/([^/]{1,100})/stream/?$")  # group 1: the id
INBOX_STREAM_PATH = re.compile(r"^/admin/agents/([^/]{1,100})/messages/stream/?$")  # the agent
STREAM_PATHS = (STREAM_PATH, INBOX_STREAM_PATH)


def is_stream_path(path: str) -> bool:
    return any(pattern.match(path) for pattern in STREAM_PATHS)


# The Model Context Protocol endpoint (api/mcp.py), for the runs of agents' bots.
MCP_PATH = "/mcp"


def is_mcp_path(path: str) -> bool:
    return path in {MCP_PATH, MCP_PATH + "/"}
