"""A `command` bot's program that speaks MCP as its agent, as an AI CLI does.

With the AGENTED_MCP_URL and AGENTED_MCP_TOKEN its run got, it sends one message
through the official SDK's client and prints the id it got back. Then it leaves the
token in a file of the test's (mode 0600; never on its output, which is stored) for
the test to try once the run has ended, and runs until the stop file exists.

    python mcp_agent.py TO_AGENT_ID CONTENT TOKEN_FILE STOP_FILE
"""

from __future__ import annotations

import asyncio
import os
import sys
import time

import httpx2
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client

STOP_WAIT_SECONDS = 60.0


async def send_message(url: str, token: str, to_agent_id: str, content: str) -> str:
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        result = await session.call_tool(
            "send_message", {"to_agent_id": to_agent_id, "content": content}
        )
    if result.is_error or result.structured_content is None:
        raise SystemExit(f"send_message failed: {result.content}")
    return str(result.structured_content["message_ids"][0])


def leave_token(path: str, token: str) -> None:
    """Write the token where the test reads it, whole or not at all."""
    descriptor = os.open(f"{path}.tmp", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(token)
    os.rename(f"{path}.tmp", path)


def main() -> None:
    to_agent_id, content, token_file, stop_file = sys.argv[1:]
    url, token = os.environ["AGENTED_MCP_URL"], os.environ["AGENTED_MCP_TOKEN"]
    print(f"sent {asyncio.run(send_message(url, token, to_agent_id, content))}", flush=True)
    leave_token(token_file, token)
    deadline = time.monotonic() + STOP_WAIT_SECONDS
    while not os.path.exists(stop_file) and time.monotonic() < deadline:
        time.sleep(0.05)


if __name__ == "__main__":
    main()
