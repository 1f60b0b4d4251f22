"""A thousand clients that never send their bodies cannot take a real server offline.

The server is started with a soft open-file limit of 256, as a stingy system
would give it: unless it raises the limit itself it cannot even accept the
thousand connections, let alone a health check after them. The stalled bodies
are cut off by the body timeout (408, then the connection closes).
"""

from __future__ import annotations

import resource
import selectors
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from agented.paths import REPO_DIR

from ..support.procs import worker_pid
from .server import AUTH, HYPERCORN, ServerProcess, free_port, server_env

SLOW_CLIENTS = 1000
LOW_SOFT_LIMIT = 256
BODY_TIMEOUT = 10  # the default, which the test relies on not to change unnoticed
# Generous bounds: these catch a server that never cuts anyone off or never
# answers, not one that is a little slow on a busy machine.
HOLD_TIMEOUT = 60.0
PROBE_TIMEOUT = 10.0
# Counted from the first stalled request: well under Quart's own default of 60 s.
CUT_OFF_WITHIN = BODY_TIMEOUT + 20.0

# Lower the soft limit, keep the hard one, then become Hypercorn.
LOWER_LIMIT_AND_EXEC = (
    "import os, resource, sys\n"
    "hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]\n"
    f"resource.setrlimit(resource.RLIMIT_NOFILE, ({LOW_SOFT_LIMIT}, hard))\n"
    "os.execv(sys.argv[1], sys.argv[1:])\n"
)

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/fd").is_dir(), reason="counts the worker's descriptors in /proc"
)


@pytest.fixture
def room_for_clients() -> Iterator[None]:
    """This process needs a descriptor per slow client too; lend it room, then give it back."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = SLOW_CLIENTS + 256
    if hard < needed or hard < 2 * LOW_SOFT_LIMIT:
        pytest.skip(f"the hard open-file limit ({hard}) is too low for {SLOW_CLIENTS} clients")
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.fixture
def stingy_server(tmp_path: Path, room_for_clients: None) -> Iterator[tuple[ServerProcess, int]]:
    """A real server whose soft open-file limit starts at LOW_SOFT_LIMIT."""
    port = free_port()
    env = server_env(tmp_path, AGENTED_RATE_LIMIT_WEBHOOKS="100000/10")  # let all reach the body
    config = str(REPO_DIR / "hypercorn.toml")
    hypercorn = [str(HYPERCORN), "-c", config, "-b", f"127.0.0.1:{port}", "agented.asgi:app"]
    server = ServerProcess([sys.executable, "-c", LOWER_LIMIT_AND_EXEC, *hypercorn], env)
    try:
        server.wait_for_output(rf"Running on http://127\.0\.0\.1:{port}\b")
        yield server, port
    finally:
        server.stop()


def _open_files_limits(pid: int) -> tuple[int, int]:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            soft, hard = line.split()[3:5]
            return int(soft), int(hard)
    raise AssertionError(f"/proc/{pid}/limits has no open-files line")


def _open_descriptors(pid: int) -> int:
    return len(list(Path(f"/proc/{pid}/fd").iterdir()))


def _wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.05)  # polling a condition, not waiting for time to pass


def _stall(port: int) -> socket.socket:
    """A webhook request whose headers promise a body that never comes."""
    client = socket.create_connection(("127.0.0.1", port), timeout=10)
    client.sendall(
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: 64\r\n\r\n"
    )
    client.setblocking(False)
    return client


def _read_until_closed(clients: list[socket.socket], deadline: float) -> dict[int, bytes]:
    """What each client received before the server closed it (those still open are missing)."""
    received = {client.fileno(): b"" for client in clients}
    closed: dict[int, bytes] = {}
    with selectors.DefaultSelector() as selector:
        for client in clients:
            selector.register(client, selectors.EVENT_READ)
        while len(closed) < len(clients) and (remaining := deadline - time.monotonic()) > 0:
            for key, _ in selector.select(remaining):
                client = key.fileobj
                assert isinstance(client, socket.socket)
                try:
                    chunk = client.recv(65536)
                except ConnectionResetError:
                    chunk = b""
                if chunk:
                    received[client.fileno()] += chunk
                else:
                    closed[client.fileno()] = received[client.fileno()]
                    selector.unregister(client)
    return closed


def test_a_thousand_stalled_bodies_leave_liveness_and_admin_answering_until_they_are_cut_off(
    stingy_server: tuple[ServerProcess, int],
) -> None:
    server, port = stingy_server
    raised = server.wait_for_output(r"open-file limit raised from (\d+) to (\d+)")
    worker = worker_pid(server.process.pid)
    soft, hard = _open_files_limits(worker)
    assert int(raised[1]) == LOW_SOFT_LIMIT
    assert soft == hard == int(raised[2]), "the worker runs with its hard limit"

    clients: list[socket.socket] = []
    started = time.monotonic()
    try:
        for _ in range(SLOW_CLIENTS):
            clients.append(_stall(port))
        _wait_until(
            lambda: _open_descriptors(worker) > SLOW_CLIENTS,
            HOLD_TIMEOUT,
            f"the worker holds all {SLOW_CLIENTS} stalled connections",
        )

        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=PROBE_TIMEOUT) as http:
            liveness = http.get("/health/liveness")
            admin = http.get("/admin/triggers", headers=AUTH)
        assert liveness.status_code == 200, liveness.text
        assert admin.status_code == 200, admin.text
        assert _open_descriptors(worker) > SLOW_CLIENTS, "the stalled clients were still held"

        closed = _read_until_closed(clients, started + CUT_OFF_WITHIN)
        assert len(closed) == SLOW_CLIENTS, f"{SLOW_CLIENTS - len(closed)} were never cut off"
        answers = {received.split(b"\r\n", 1)[0] for received in closed.values()}
        assert answers <= {b"HTTP/1.1 408 ", b""}, answers
        assert b"HTTP/1.1 408 " in answers
    finally:
        for client in clients:
            client.close()
    assert "Traceback" not in server.output
