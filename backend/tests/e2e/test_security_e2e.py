"""Security under a real Hypercorn server: stream tokens across a restart, keys kept out of logs."""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path

import httpx

from ..support.keys import TEST_API_KEY
from .conftest import StartServer
from .server import AUTH
from .test_executions_e2e import FAKES


def test_a_stream_token_issued_before_a_restart_opens_the_stream_after_it(
    start_server: StartServer,
) -> None:
    env = {"PATH": f"{FAKES}{os.pathsep}{os.environ['PATH']}", "FAKE_CLI_PYTHON": sys.executable}
    first, port = start_server(**env)
    base = f"http://127.0.0.1:{port}"
    bot = httpx.post(
        f"{base}/admin/triggers",
        json={"name": "t", "prompt_template": "fake: lines 3", "backend_type": "codex"},
        headers=AUTH,
    ).json()
    execution_id = httpx.post(
        f"{base}/admin/triggers/{bot['id']}/run", json={}, headers=AUTH
    ).json()["execution_id"]
    path = f"/admin/executions/{execution_id}/stream"
    token = httpx.post(f"{base}/admin/stream-tokens", json={"path": path}, headers=AUTH).json()[
        "token"
    ]
    with httpx.stream("GET", f"{base}{path}", headers=AUTH, timeout=30) as response:
        for _ in response.iter_raw():
            pass  # let it finish
    first.signal_process(15)
    first.wait(timeout=30)

    second, port = start_server(**env)
    with httpx.stream(
        "GET", f"http://127.0.0.1:{port}{path}?token={token}", timeout=30
    ) as streamed:
        assert streamed.status_code == 200
        text = b"".join(streamed.iter_raw()).decode()
    assert "event: complete" in text
    assert text.count("event: log") == 3
    refused = httpx.get(f"http://127.0.0.1:{port}{path}?token={token}x", timeout=10)
    assert refused.status_code == 401
    assert token not in second.output
    assert TEST_API_KEY not in second.output


def test_keys_in_query_strings_never_reach_the_access_log(start_server: StartServer) -> None:
    server, port = start_server(LOG_LEVEL="DEBUG")  # every request logged, reads included
    secret = "should-never-be-logged-0123"
    for path in (
        f"/?token={secret}",
        f"/admin/triggers?token={secret}",
        f"/health/liveness?x={secret}",
    ):
        httpx.get(f"http://127.0.0.1:{port}{path}", headers=AUTH, timeout=10)
    server.wait_for_output(r'"GET /health/liveness 1\.1" 200', timeout=10)
    assert secret not in server.output
    assert TEST_API_KEY not in server.output


def raw_request(port: int, target: str, *, method: str = "GET", host: str = "127.0.0.1") -> int:
    """Send a request line exactly as written (no client normalises it) and return the status."""
    body = b'{"name": "x", "prompt_template": "id", "backend_type": "command"}'
    head = f"{method} {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
    if method == "POST":
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(head.encode() + b"\r\n" + (body if method == "POST" else b""))
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    return int(received.split(b" ", 2)[1])


def test_no_spelling_of_an_admin_path_passes_without_a_key_on_a_real_server(
    start_server: StartServer,
) -> None:
    _, port = start_server()
    for target in (
        "//admin/triggers",
        "/%2Fadmin/triggers",
        "/%2fadmin/triggers",
        "http://anything/admin/triggers",
        "/./admin/triggers",
        "/x/../admin/triggers",
        "/admin/triggers%00",
    ):
        assert raw_request(port, target) == 400, target
        assert raw_request(port, target, method="POST") == 400, target
    assert raw_request(port, "/admin/triggers") == 401
    assert raw_request(port, "/admin/triggers/") == 404, "the dashboard, which has no such file"
    assert raw_request(port, "/ADMIN/triggers") == 404
    assert raw_request(port, "/admin/triggers", host="[::1]junk") == 400
    assert raw_request(port, "/health/liveness") == 200
    bots = httpx.get(f"http://127.0.0.1:{port}/admin/triggers", headers=AUTH, timeout=10)
    assert bots.json()["triggers"] == [], "no bot was created by any of them"


def test_the_console_shows_changes_and_failures_and_ends_startup_with_the_sign_in_link(
    start_server: StartServer, tmp_path: Path
) -> None:
    key_file = tmp_path / "generated.key"
    server, port = start_server(AGENTED_API_KEY="", AGENTED_API_KEY_FILE=str(key_file))
    server.wait_for_output(r"\?token=")
    startup = server.output.splitlines()
    running = max(i for i, line in enumerate(startup) if "Running on" in line)
    assert any("?token=" in line for line in startup[running + 1 :]), "the link comes last"
    base = f"http://127.0.0.1:{port}"
    key = {"X-API-Key": key_file.read_text().strip()}
    for _ in range(3):
        assert httpx.get(f"{base}/health/liveness", timeout=10).status_code == 200
    assert httpx.get(f"{base}/admin/triggers", headers=key, timeout=10).status_code == 200
    assert httpx.get(f"{base}/admin/triggers", timeout=10).status_code == 401
    bot = {"name": "quiet", "prompt_template": "fake: exit 0", "backend_type": "codex"}
    assert httpx.post(f"{base}/admin/triggers", json=bot, headers=key, timeout=10).is_success
    server.wait_for_output(r'"POST /admin/triggers 1\.1" 201')
    assert '"GET /admin/triggers 1.1" 401' in server.output, "failures are logged"
    assert "/health/liveness" not in server.output, "successful reads are not"
    assert '"GET /admin/triggers 1.1" 200' not in server.output


def test_json_logs_are_one_object_per_line_and_never_carry_the_key(
    start_server: StartServer, tmp_path: Path
) -> None:
    key_file = tmp_path / "generated.key"
    server, port = start_server(
        AGENTED_API_KEY="", AGENTED_API_KEY_FILE=str(key_file), LOG_FORMAT="json"
    )
    server.wait_for_output("--sign-in-url")
    assert httpx.get(f"http://127.0.0.1:{port}/admin/triggers", timeout=10).status_code == 401
    server.wait_for_output(r"GET /admin/triggers 1\.1.{0,3} 401")
    lines = [line for line in server.output.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]
    assert any(record["message"].startswith("Running on") for record in records)
    assert key_file.read_text().strip() not in server.output
