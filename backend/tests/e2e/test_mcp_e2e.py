"""The MCP endpoint under a real Hypercorn server, driven by the official SDK's own client.

A `command` bot acting as an agent stands in for a CLI: it writes down the MCP
settings its run received (environment and argv) and waits, so that the test
can speak MCP with the run's token while the run runs, and after it ended.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import httpx2
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client

from .conftest import StartServer
from .server import AUTH

DEADLINE = 60.0
# Records what MCP settings the run got, then runs until the test creates the stop file.
# As a `command` bot it is told where to write; as `claude` it finds that in its environment.
FAKE_CLI = """
import json, os, sys, time
out, stop = (sys.argv[1], sys.argv[2]) if len(sys.argv) == 3 else os.environ["FAKE_OUT"].split()
seen = {k: os.environ.get(k) for k in ("AGENTED_MCP_URL", "AGENTED_MCP_TOKEN")}
config = None
if "--mcp-config" in sys.argv:
    with open(sys.argv[sys.argv.index("--mcp-config") + 1]) as f:
        config = json.load(f)
with open(out + ".tmp", "w") as f:
    json.dump({"env": seen, "argv": sys.argv, "mcp_config": config}, f)
os.rename(out + ".tmp", out)
deadline = time.monotonic() + 60
while not os.path.exists(stop) and time.monotonic() < deadline:
    time.sleep(0.05)
"""


def _wait_for(check: Any, what: str) -> Any:
    deadline = time.monotonic() + DEADLINE
    while not (found := check()):
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)
    return found


def _post(base: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(f"{base}{path}", json=body, headers=AUTH, timeout=10)
    assert response.status_code in {201, 202}, response.text
    result: dict[str, Any] = response.json()
    return result


def _get(base: str, path: str) -> dict[str, Any]:
    response = httpx.get(f"{base}{path}", headers=AUTH, timeout=10)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _bare_post(url: str, headers: dict[str, str]) -> httpx.Response:
    """A POST that is no MCP message: enough to see whether /mcp lets it in."""
    return httpx.post(url, json={}, headers=headers, timeout=10)


async def _call(url: str, token: str, tool: str | None, **arguments: Any) -> Any:
    """Open an MCP session with `token` and call `tool` (None: list the tools)."""
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=10) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        if tool is None:
            return await session.list_tools()
        return await session.call_tool(tool, arguments)


async def test_a_run_speaks_mcp_as_its_agent_while_it_runs_and_not_after(
    start_server: StartServer, tmp_path: Path
) -> None:
    server, port = start_server()
    base = f"http://127.0.0.1:{port}"
    alice = _post(base, "/admin/agents", {"name": "Alice"})
    bob = _post(base, "/admin/agents", {"name": "Bob"})
    script, out, stop = tmp_path / "cli.py", tmp_path / "seen.json", tmp_path / "stop"
    script.write_text(FAKE_CLI)
    bot = _post(
        base,
        "/admin/bots",
        {
            "name": uuid.uuid4().hex,
            "prompt_template": "work",
            "backend_type": "command",
            "command": [sys.executable, str(script), str(out), str(stop)],
            "agent_id": alice["id"],
        },
    )
    execution_id = _post(base, f"/admin/bots/{bot['id']}/run", {})["execution_id"]
    seen = _wait_for(lambda: out.exists() and json.loads(out.read_text()), "the run's settings")
    url, token = seen["env"]["AGENTED_MCP_URL"], seen["env"]["AGENTED_MCP_TOKEN"]
    assert url == f"{base}/mcp"
    assert token
    assert all(token not in arg for arg in seen["argv"]), "never on the command line"

    listed = await _call(url, token, None)
    assert {tool.name for tool in listed.tools} == {
        "send_message",
        "read_inbox",
        "mark_read",
        "list_agents",
    }
    agents = (await _call(url, token, "list_agents")).structured_content["agents"]
    assert {(a["name"], a["you"]) for a in agents} == {("Alice", True), ("Bob", False)}

    sent = await _call(url, token, "send_message", to_agent_id=bob["id"], content="hi Bob")
    assert not sent.is_error, sent
    [message] = _get(base, f"/admin/agents/{bob['id']}/messages/inbox")["messages"]
    assert (message["content"], message["from_agent_id"]) == ("hi Bob", alice["id"])
    assert message["from_execution_id"] == execution_id
    refused = await _call(url, token, "send_message", to_agent_id=alice["id"], content="me")
    assert refused.is_error, "the same rules as the API: no message to oneself"

    reply = _post(
        base, f"/admin/agents/{bob['id']}/messages", {"to_agent_id": alice["id"], "content": "yo"}
    )["message_ids"][0]
    inbox = (await _call(url, token, "read_inbox")).structured_content["messages"]
    assert [(m["id"], m["status"]) for m in inbox] == [(reply, "delivered")]
    [stored] = _get(base, f"/admin/agents/{alice['id']}/messages/inbox")["messages"]
    assert stored["status"] == "delivered", "the agent's own run read it: handed over"
    read = (await _call(url, token, "mark_read", message_id=reply)).structured_content
    assert read["message"]["status"] == "read"
    assert (await _call(url, token, "read_inbox", status="read")).structured_content["messages"][0][
        "id"
    ] == reply

    wrong = _bare_post(url, {"Authorization": f"Bearer {token}x"})
    assert (wrong.status_code, wrong.json()) == (401, {"error": "missing or invalid run token"})
    api_key = _bare_post(url, AUTH)
    assert api_key.status_code == 401, "an API key does not open /mcp"

    stop.touch()
    _wait_for(
        lambda: _get(base, f"/admin/executions/{execution_id}")["status"] == "success",
        "the run to end",
    )
    ended = _bare_post(url, {"Authorization": f"Bearer {token}"})
    assert ended.status_code == 401
    assert ended.json() == {"error": "the run this token belongs to is not running"}
    assert token not in json.dumps(_get(base, f"/admin/executions/{execution_id}")), "nor in API"
    assert token not in server.output, "not in the logs"


async def test_claude_gets_an_mcp_config_file_that_reaches_the_endpoint(
    start_server: StartServer, tmp_path: Path
) -> None:
    bin_dir, out, stop = tmp_path / "bin", tmp_path / "seen.json", tmp_path / "stop"
    bin_dir.mkdir()
    claude = bin_dir / "claude"
    claude.write_text(f"#!{sys.executable}\n{FAKE_CLI}")
    claude.chmod(0o755)
    _, port = start_server(PATH=f"{bin_dir}:{os.environ['PATH']}", FAKE_OUT=f"{out} {stop}")
    base = f"http://127.0.0.1:{port}"
    alice = _post(base, "/admin/agents", {"name": "Alice"})
    bot = _post(
        base,
        "/admin/bots",
        {
            "name": uuid.uuid4().hex,
            "prompt_template": "work",
            "backend_type": "claude",
            "agent_id": alice["id"],
        },
    )
    execution_id = _post(base, f"/admin/bots/{bot['id']}/run", {})["execution_id"]
    seen = _wait_for(lambda: out.exists() and json.loads(out.read_text()), "the run's settings")
    server = seen["mcp_config"]["mcpServers"]["agented"]
    assert (server["type"], server["url"]) == ("http", f"{base}/mcp")
    token = server["headers"]["Authorization"].removeprefix("Bearer ")
    assert all(token not in arg for arg in seen["argv"])
    agents = (await _call(server["url"], token, "list_agents")).structured_content["agents"]
    assert [(a["id"], a["you"]) for a in agents] == [(alice["id"], True)]
    stop.touch()
    _wait_for(
        lambda: _get(base, f"/admin/executions/{execution_id}")["status"] != "running",
        "the run to end",
    )
