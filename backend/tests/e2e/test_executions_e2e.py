"""Executions under a real Hypercorn server: crashes, graceful stops, a client that never reads."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ..support.keys import TEST_API_KEY
from ..support.sse import parse_events
from .conftest import StartServer
from .server import AUTH

FAKES = Path(__file__).resolve().parent.parent / "fakes"
DEADLINE = 60.0


@pytest.fixture
def fake_env() -> dict[str, str]:
    return {
        "PATH": f"{FAKES}{os.pathsep}{os.environ['PATH']}",
        "FAKE_CLI_PYTHON": sys.executable,
    }


@pytest.fixture
def marker() -> Iterator[str]:
    """A word in the prompt that finds the fake CLI's processes, to clean up orphans."""
    word = f"marker-{uuid.uuid4().hex}"
    yield word
    for pid in _processes_mentioning(word):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _processes_mentioning(word: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if word.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _create_and_run(base: str, prompt: str) -> str:
    bot = httpx.post(
        f"{base}/admin/triggers",
        json={"name": uuid.uuid4().hex, "prompt_template": prompt, "backend_type": "codex"},
        headers=AUTH,
        timeout=10,
    ).json()
    started = httpx.post(
        f"{base}/admin/triggers/{bot['id']}/run", json={}, headers=AUTH, timeout=10
    )
    assert started.status_code == 202
    return started.json()["execution_id"]


def _read_stream(url: str, until_seq: int | None = None) -> list:
    events, buffer = [], b""
    timeout = httpx.Timeout(10, read=DEADLINE)
    with httpx.stream("GET", url, headers=AUTH, timeout=timeout) as response:
        for chunk in response.iter_raw():
            new, buffer = parse_events(buffer + chunk)
            events.extend(new)
            if until_seq is not None and any(e.event == "log" and e.id >= until_seq for e in new):
                break
    return events


def _wait_until(check, what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not check():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def test_kill_9_mid_run_leaves_an_interrupted_execution_with_its_lines(
    start_server: StartServer, fake_env: dict[str, str], marker: str
) -> None:
    server, port = start_server(**fake_env)
    base = f"http://127.0.0.1:{port}"
    execution_id = _create_and_run(base, f"{marker}\nfake: lines 5 rate=100\nfake: sleep 120")
    _read_stream(f"{base}/admin/executions/{execution_id}/stream", until_seq=5)
    _wait_until(  # lines reach SQLite within the flush interval while the CLI still runs
        lambda: (
            httpx.get(f"{base}/admin/executions/{execution_id}", headers=AUTH).json()["log_lines"]
            >= 5
        ),
        "the lines to be persisted",
    )
    server.signal_group(signal.SIGKILL)
    server.wait(timeout=30)
    assert _processes_mentioning(marker), "the CLI outlived the crashed server (own session)"

    _, port = start_server(**fake_env)
    _wait_until(  # SIGKILL was sent during startup; the kernel finishes it off
        lambda: _processes_mentioning(marker) == [], "the next start to stop the orphaned CLI"
    )
    stored = httpx.get(
        f"http://127.0.0.1:{port}/admin/executions/{execution_id}", headers=AUTH
    ).json()
    assert stored["status"] == "interrupted"
    assert [line["seq"] for line in stored["logs"]] == [1, 2, 3, 4, 5]
    assert "server stopped" in stored["error_message"]


def test_a_graceful_stop_interrupts_running_clis_and_kills_their_groups(
    start_server: StartServer, fake_env: dict[str, str], marker: str, tmp_path
) -> None:
    server, port = start_server(**fake_env)
    base = f"http://127.0.0.1:{port}"
    pidfile = tmp_path / "grandchild.pid"
    execution_id = _create_and_run(
        base, f"{marker}\nfake: grandchild {pidfile}\nfake: lines 2 rate=100\nfake: sleep 120"
    )
    _read_stream(f"{base}/admin/executions/{execution_id}/stream", until_seq=2)
    grandchild = int(pidfile.read_text())
    server.signal_process(signal.SIGTERM)
    server.wait(timeout=30)
    assert "shutdown complete" in server.output
    assert _processes_mentioning(marker) == [], "the CLI and its group are gone"
    assert not Path(f"/proc/{grandchild}").exists() or _zombie(grandchild)

    _, port = start_server(**fake_env)
    stored = httpx.get(
        f"http://127.0.0.1:{port}/admin/executions/{execution_id}", headers=AUTH
    ).json()
    assert stored["status"] == "interrupted"
    assert stored["error_message"] == "the server shut down while it was running"
    assert [line["seq"] for line in stored["logs"]] == [1, 2]


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_a_client_that_never_reads_does_not_hold_up_the_run_or_other_viewers(
    start_server: StartServer, fake_env: dict[str, str], marker: str
) -> None:
    _, port = start_server(**fake_env)
    base = f"http://127.0.0.1:{port}"
    lines = 200_000
    execution_id = _create_and_run(base, f"{marker}\nfake: sleep 1\nfake: flood {lines}")
    stalled = socket.create_connection(("127.0.0.1", port))
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.sendall(
        f"GET /admin/executions/{execution_id}/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"X-API-Key: {TEST_API_KEY}\r\n\r\n".encode()
    )
    try:
        events = _read_stream(f"{base}/admin/executions/{execution_id}/stream")
        seqs = [event.id for event in events if event.event == "log"]
        assert seqs == list(range(1, lines + 2))
        assert events[-1].event == "complete"
        assert events[-1].data["status"] == "success"
        assert httpx.get(f"{base}/health/readiness", timeout=10).status_code == 200
    finally:
        stalled.close()
