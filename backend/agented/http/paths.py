"""Paths recognised outside Quart's router: the SSE streams and MCP, served as raw ASGI, and
the paths a stream token opens."""

from __future__ import annotations

import re

# The SSE streams are served as raw ASGI in front of Quart, so they have no Quart
# rule; their paths are recognised by the route table and the stream routes alike.
STREAM_PATH = re.compile(r"^/admin/executions/([^/]{1,100})/stream/?$")  # group 1: the id
INBOX_STREAM_PATH = re.compile(r"^/admin/agents/([^/]{1,100})/messages/stream/?$")  # the agent
STREAM_PATHS = (STREAM_PATH, INBOX_STREAM_PATH)


def is_stream_path(path: str) -> bool:
    return any(pattern.match(path) for pattern in STREAM_PATHS)


# A run's raw log download, a Quart route (api/execution_logs.py): a plain link fetches it so
# the browser saves it without holding it, and a link, like EventSource, sends no headers.
LOG_DOWNLOAD_PATH = re.compile(r"^/admin/executions/([^/]{1,100})/log\.txt$")


def opens_with_stream_token(path: str) -> bool:
    """The paths a stream token may be issued for and opens: the SSE streams, a raw log."""
    return is_stream_path(path) or LOG_DOWNLOAD_PATH.match(path) is not None


# The Model Context Protocol endpoint (api/mcp.py), for the runs of agents' bots.
MCP_PATH = "/mcp"


def is_mcp_path(path: str) -> bool:
    return path in {MCP_PATH, MCP_PATH + "/"}
