"""Process isolation under real Hypercorn, with each worker class it can run.

The CLI of a `command` bot looks at what it inherited; a bot leaves a daemon
behind; the Hypercorn supervisor is killed outright. In each case nothing of
the server's may reach the CLI, and nothing may be left holding the port.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ..support.procs import alive
from .server import AUTH, ServerProcess, free_port, server_env, start_hypercorn

PROBE = Path(__file__).resolve().parent.parent / "fakes" / "isolation_probe.py"
DEADLINE = 60.0
WORKER_CLASSES = ["uvloop", "asyncio"]
SERVER_SECRETS = {
    "SECRET_KEY": "e2e-secret-key-that-no-cli-may-see",
    "GITHUB_WEBHOOK_SECRET": "e2e-github-secret",
}

StartServer = Callable[..., ServerProcess]


@pytest.fixture(params=WORKER_CLASSES)
def worker_class(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def start(tmp_path: Path, worker_class: str) -> Iterator[StartServer]:
    """Start servers on one database with the worker class under test; kill them all after."""
    started: list[ServerProcess] = []

    def start_one(port: int) -> ServerProcess:
        env = server_env(
            tmp_path, AGENTED_API_KEY_FILE=str(tmp_path / ".api_key"), **SERVER_SECRETS
        )
        server = start_hypercorn(env, port, worker_class=worker_class)
        started.append(server)
        server.wait_for_output(rf"Running on http://127\.0\.0\.1:{port}\b")
        return server

    yield start_one
    for server in started:
        with contextlib.suppress(ProcessLookupError):  # a worker may outlive its supervisor
            os.killpg(server.process.pid, signal.SIGKILL)
        server.stop()


def wait_until(check: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + DEADLINE
    while not (result := check()):
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)
    return result


def run_command_bot(base: str, *args: str) -> dict[str, Any]:
    """Run the probe as a command bot; return the finished execution with its log lines."""
    bot = httpx.post(
        f"{base}/admin/triggers",
        json={
            "name": uuid.uuid4().hex,
            "prompt_template": "x",
            "backend_type": "command",
            "command": [sys.executable, str(PROBE), *args],
        },
        headers=AUTH,
        timeout=10,
    )
    assert bot.status_code == 201, bot.text
    started = httpx.post(
        f"{base}/admin/triggers/{bot.json()['id']}/run", json={}, headers=AUTH, timeout=10
    )
    assert started.status_code == 202, started.text
    url = f"{base}/admin/executions/{started.json()['execution_id']}"

    def finished() -> dict[str, Any] | None:
        execution = httpx.get(url, headers=AUTH, timeout=10).json()
        return execution if execution["status"] not in ("queued", "running") else None

    return wait_until(finished, "the run to finish")


def test_a_command_bots_cli_gets_only_stdio_and_none_of_the_servers_secrets(
    start: StartServer,
) -> None:
    port = free_port()
    start(port)
    base = f"http://127.0.0.1:{port}"

    execution = run_command_bot(base, "fds")
    assert execution["status"] == "success", execution
    report = json.loads(execution["logs"][0]["content"])
    assert sorted(report["fds"]) == ["0", "1", "2"], report["fds"]
    assert report["fds"]["0"] == "/dev/null"
    assert report["accepted"] == []

    execution = run_command_bot(base, "env")
    env = json.loads(execution["logs"][0]["content"])["env"]
    leaked = {name for name in env if name.startswith("AGENTED_")} - {"AGENTED_EXECUTION_ID"}
    assert not leaked | (set(SERVER_SECRETS) & set(env)), leaked
    assert all(value not in env.values() for value in SERVER_SECRETS.values())
    assert httpx.get(f"{base}/health/readiness", timeout=10).status_code == 200


def test_a_daemon_a_bot_leaves_behind_neither_outlives_the_run_nor_holds_the_port(
    start: StartServer, tmp_path: Path
) -> None:
    port = free_port()
    server = start(port)
    pidfile = tmp_path / "daemon.pid"
    execution = run_command_bot(f"http://127.0.0.1:{port}", "daemon", str(pidfile))
    assert execution["status"] == "success", execution
    daemon = int(pidfile.read_text())
    wait_until(lambda: not alive(daemon), "the daemon to be killed with its run")

    server.signal_process(signal.SIGTERM)
    server.wait(timeout=30)
    assert "shutdown complete" in server.output
    start(port)  # the same port again: nothing holds it


def _worker_of(supervisor: int) -> int:
    children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    for child in children:
        if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
            return int(child)
    raise AssertionError(f"no Hypercorn worker among {children}")


def test_the_worker_stops_gracefully_when_the_supervisor_is_killed(start: StartServer) -> None:
    port = free_port()
    server = start(port)
    worker = _worker_of(server.process.pid)

    server.signal_process(signal.SIGKILL)
    server.process.wait(timeout=30)

    wait_until(lambda: not alive(worker), "the orphaned worker to exit")
    server.wait_for_output(r"supervisor \(pid \d+\) is gone; stopping", timeout=10)
    server.wait_for_output(r"shutdown complete", timeout=10)
    start(port)  # the orphan no longer serves on (or holds) the port
