"""Fixtures that start real Hypercorn servers and always clean them up."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from . import server as server_module
from .server import ServerProcess, free_port, server_env, start_hypercorn

StartServer = Callable[..., tuple[ServerProcess, int]]


@pytest.fixture(autouse=True)
def _servers_use_the_tests_engine(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under `--database postgres`, every server a test starts stores in the test's own
    PostgreSQL database (server_env adds it)."""
    if request.config.getoption("--database") == "postgres":
        url = request.getfixturevalue("postgres_database")
        monkeypatch.setattr(server_module, "DATABASE_URL", url)


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[StartServer]:
    started: list[ServerProcess] = []

    def start(
        app_path: str = "agented.asgi:app", *, wait: bool = True, **env: str
    ) -> tuple[ServerProcess, int]:
        port = free_port()
        server = start_hypercorn(server_env(tmp_path, **env), port, app_path)
        started.append(server)
        if wait:
            server.wait_for_output(rf"Running on http://127\.0\.0\.1:{port}\b")
        return server, port

    yield start
    for server in started:
        server.stop()
