"""The server's lifecycle under real Hypercorn, configured by the repository's hypercorn.toml."""

from __future__ import annotations

import signal
import threading
import tomllib
from pathlib import Path

import httpx
import pytest

from agented.paths import REPO_DIR
from agented.storage.postgres import describe

from . import server as server_module
from .conftest import StartServer
from .server import AUTH, QUART, ServerProcess, free_port, server_env

GRACEFUL_TIMEOUT = tomllib.loads((REPO_DIR / "hypercorn.toml").read_text())["graceful_timeout"]
EXIT_DEADLINE = GRACEFUL_TIMEOUT + 5


def test_serves_the_app_on_the_bind_given_with_b(start_server: StartServer) -> None:
    server, port = start_server(LOG_LEVEL="DEBUG")  # every request logged, reads included
    response = httpx.get(f"http://127.0.0.1:{port}/health/readiness", timeout=10)
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    request_id = response.headers["X-Request-ID"]
    server.wait_for_output(rf'"GET /health/readiness 1\.1" 200 .* rid={request_id}$', timeout=10)


def test_second_server_on_the_same_database_refuses_to_start(start_server: StartServer) -> None:
    _first, first_port = start_server()
    second, _ = start_server(wait=False)
    second.wait_for_output(r"already served by another Agented process \(pid=\d+")
    url = server_module.DATABASE_URL
    assert (describe(url) if url else "agented.db") in second.output, "names the database"
    second.wait(timeout=30)  # it ends (Hypercorn reports status 0 here, see README)
    assert "Running on" not in second.output
    response = httpx.get(f"http://127.0.0.1:{first_port}/health/readiness", timeout=10)
    assert response.status_code == 200, "the first server is untouched"


class StreamWatcher:
    """An SSE client in a thread: records every line and how the stream ended."""

    def __init__(self, url: str) -> None:
        self.lines: list[str] = []
        self.error: BaseException | None = None
        self.connected = threading.Event()
        self.finished = threading.Event()
        self._thread = threading.Thread(target=self._read, args=(url,), daemon=True)
        self._thread.start()

    def _read(self, url: str) -> None:
        try:
            timeout = httpx.Timeout(10, read=EXIT_DEADLINE + 30)
            with httpx.stream("GET", url, headers=AUTH, timeout=timeout) as response:
                for line in response.iter_lines():
                    self.lines.append(line)
                    if line == ": connected":
                        self.connected.set()
        except BaseException as error:
            self.error = error
        finally:
            self.connected.set()
            self.finished.set()


SHUTDOWN_WAYS = {
    "sigterm-to-hypercorn": lambda server: server.signal_process(signal.SIGTERM),
    "ctrl-c": lambda server: server.signal_group(signal.SIGINT),
    "sigterm-to-process-group": lambda server: server.signal_group(signal.SIGTERM),
}


@pytest.mark.parametrize("way", list(SHUTDOWN_WAYS))
def test_graceful_shutdown_ends_streams_and_runs_after_serving(
    start_server: StartServer, way: str
) -> None:
    server, port = start_server("tests.support.stream_app:app")
    watcher = StreamWatcher(f"http://127.0.0.1:{port}/test/stream")
    assert watcher.connected.wait(30)
    assert watcher.error is None, watcher.error

    SHUTDOWN_WAYS[way](server)

    server.wait(timeout=EXIT_DEADLINE)
    assert watcher.finished.wait(10)
    assert watcher.error is None, f"stream was cut instead of ended: {watcher.error!r}"
    assert "event: shutdown" in watcher.lines
    assert "shutdown complete" in server.output, server.output


def test_quart_run_serves_for_development(tmp_path: Path) -> None:
    port = free_port()
    server = ServerProcess(
        [str(QUART), "--app", "agented.asgi:app", "run", "--port", str(port)],
        server_env(tmp_path),
    )
    try:
        server.wait_for_output(rf"Running on http://127\.0\.0\.1:{port}\b")
        response = httpx.get(f"http://127.0.0.1:{port}/health/readiness", timeout=10)
        assert response.status_code == 200
        server.signal_group(signal.SIGINT)
        server.wait(timeout=EXIT_DEADLINE)
        assert "shutdown complete" in server.output
    finally:
        server.stop()
