"""Hostile output under real Hypercorn: lines of NUL bytes, printed, then replayed three at once.

A 256 KiB line of NUL bytes is a 1.5 MB event once JSON-escaped. Before the byte
budgets, 32 MB of such output took the worker past 1.3 GB while three viewers
replayed it. Now the worker must stay within a fixed memory budget, every viewer
must still get every line, and liveness must keep answering meanwhile. (How fast
it answers is measured by bench/'s `hostile_output`, not asserted here.)
"""

from __future__ import annotations

import socket
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx

from ..support.procs import worker_pid
from .conftest import StartServer
from .server import AUTH

LINE_BYTES = 256 * 1024
LINES = 128  # 32 MB of output, 200 MB of events per viewer
VIEWERS = 3
RSS_GROWTH_LIMIT = 128 * 1024 * 1024
DEADLINE = 120.0
PRINT_NUL_LINES = f"import sys; sys.stdout.buffer.write((b'\\0' * {LINE_BYTES} + b'\\n') * {LINES})"


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for process {pid}")


class _PeakRss(threading.Thread):
    """Samples a process's RSS every 20 ms until stopped; keeps the highest."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = _rss(pid)
        self._stop_sampling = threading.Event()

    def run(self) -> None:
        while not self._stop_sampling.wait(0.02):
            self.peak = max(self.peak, _rss(self.pid))

    def stop(self) -> int:
        self._stop_sampling.set()
        self.join(timeout=10)
        return self.peak


def _count_events(port: int, path: str, found: dict[str, int]) -> None:
    """Read a whole stream over HTTP/1.0 (no chunking; it ends when the server closes)."""
    request = (
        f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nX-API-Key: {AUTH['X-API-Key']}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=DEADLINE) as connection:
        connection.sendall(request)
        carry = b""
        while data := connection.recv(1 << 20):
            for name, pattern in (("log", b"\nevent: log\n"), ("complete", b"event: complete")):
                edge = len(pattern) - 1  # an event split between two reads is counted once
                found[name] += data.count(pattern) + (carry[-edge:] + data[:edge]).count(pattern)
            carry = data[-64:]


def test_nul_byte_output_keeps_the_worker_within_its_memory_budget(
    start_server: StartServer,
) -> None:
    server, port = start_server()
    base = f"http://127.0.0.1:{port}"
    worker = worker_pid(server.process.pid)
    bot = httpx.post(
        f"{base}/admin/triggers",
        headers=AUTH,
        json={
            "name": uuid.uuid4().hex,
            "prompt_template": "{message}",
            "backend_type": "command",
            "command": [sys.executable, "-c", PRINT_NUL_LINES, "{prompt}"],
        },
    )
    assert bot.status_code == 201, bot.text
    before = _rss(worker)
    sampler = _PeakRss(worker)
    sampler.start()
    run = httpx.post(
        f"{base}/admin/triggers/{bot.json()['id']}/run", headers=AUTH, json={"message": "go"}
    )
    assert run.status_code == 202, run.text
    execution = run.json()["execution_id"]
    deadline = time.monotonic() + DEADLINE
    while True:
        state = httpx.get(f"{base}/admin/executions/{execution}?limit=1", headers=AUTH).json()
        if state["status"] not in ("queued", "running"):
            break
        assert time.monotonic() < deadline, f"the run did not end: {state['status']}"
        time.sleep(0.1)
    assert (state["status"], state["log_lines"]) == ("success", LINES)

    counts = [{"log": 0, "complete": 0} for _ in range(VIEWERS)]
    viewers = [
        threading.Thread(
            target=_count_events,
            args=(port, f"/admin/executions/{execution}/stream", found),
            daemon=True,
        )
        for found in counts
    ]
    for viewer in viewers:
        viewer.start()
    while True:  # liveness answers while they replay (at least once, whatever the timing)
        liveness = httpx.get(f"{base}/health/liveness", timeout=DEADLINE)
        assert liveness.status_code == 200
        if not any(viewer.is_alive() for viewer in viewers):
            break
        assert time.monotonic() < deadline, "the replays did not end"
    growth = sampler.stop() - before

    assert counts == [{"log": LINES, "complete": 1}] * VIEWERS
    assert growth < RSS_GROWTH_LIMIT, f"the worker grew by {growth / 2**20:.0f} MB"
