"""The server says which backends it can run: CLIs found on the runs' PATH, with their versions."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from agented.executions.detection import BACKEND_TYPES, BackendDetector, probe, program_of

from ..conftest import AppFactory
from ..fakes import FAKES_DIR
from ..support.procs import alive

FAKE_VERSION = "0.0.0-fake"
FAKE_CLI = FAKES_DIR / "fake_cli.py"


def write_program(directory: Path, name: str, body: str) -> None:
    program = directory / name
    program.write_text(f"#!/bin/sh\n{body}\n")
    program.chmod(0o755)


@pytest.fixture
def cli_environ(tmp_path: Path) -> dict[str, str]:
    """A PATH holding only a fake `claude` and `codex` (gemini and opencode are missing)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("claude", "codex"):
        # The fake itself, called without the wrapper's need for tools on PATH.
        write_program(bin_dir, name, f'exec "{sys.executable}" "{FAKE_CLI}" {name} "$@"')
    return {"PATH": str(bin_dir)}


def by_type(found: list) -> dict:  # type: ignore[type-arg]
    return {backend.backend_type: backend for backend in found}


def test_the_programs_are_the_ones_a_run_starts() -> None:
    assert [program_of(backend) for backend in BACKEND_TYPES] == [
        "claude",
        "codex",
        "gemini",
        "opencode",
        None,
    ]


async def test_installed_clis_are_found_with_their_path_and_version(
    cli_environ: dict[str, str],
) -> None:
    found = by_type(await BackendDetector(cli_environ).backends())

    assert list(found) == list(BACKEND_TYPES)
    claude = found["claude"]
    assert claude.installed
    assert claude.path == os.path.join(cli_environ["PATH"], "claude")
    assert claude.version == f"{FAKE_VERSION} (claude, fake)"
    assert found["codex"].version == f"{FAKE_VERSION} (codex, fake)"


async def test_a_missing_cli_is_reported_as_not_installed(cli_environ: dict[str, str]) -> None:
    gemini = by_type(await BackendDetector(cli_environ).backends())["gemini"]

    assert (gemini.installed, gemini.path, gemini.version) == (False, None, None)


async def test_the_command_backend_is_always_available() -> None:
    command = by_type(await BackendDetector({"PATH": ""}).backends())["command"]

    assert command.installed
    assert command.path is None


def test_a_version_probe_that_hangs_is_killed_at_the_timeout_with_its_children(
    cli_environ: dict[str, str], tmp_path: Path
) -> None:
    pidfile = tmp_path / "sleeper.pid"
    # A child that holds the output pipe open, as a CLI's helper process might.
    write_program(
        Path(cli_environ["PATH"]), "gemini", f'/bin/sleep 600 & echo $! > "{pidfile}"; wait'
    )

    started = time.monotonic()
    gemini = probe("gemini", cli_environ, timeout=0.5)

    assert time.monotonic() - started < 10  # nowhere near the 600 s it would hang
    assert gemini.installed
    assert gemini.version is None
    sleeper = int(pidfile.read_text())
    deadline = time.monotonic() + 10  # SIGKILL is sent; its delivery is not synchronous
    while alive(sleeper):
        assert time.monotonic() < deadline, "the probe's child outlived the timeout"
        time.sleep(0.01)


def test_a_cli_that_fails_its_version_probe_is_installed_without_a_version(
    cli_environ: dict[str, str],
) -> None:
    write_program(Path(cli_environ["PATH"]), "opencode", "echo broken >&2; exit 3")

    opencode = probe("opencode", cli_environ)

    assert opencode.installed
    assert opencode.version is None


def test_a_long_version_line_is_cut(cli_environ: dict[str, str]) -> None:
    write_program(Path(cli_environ["PATH"]), "opencode", f"echo {'v' * 5000}; echo second")

    version = probe("opencode", cli_environ).version

    assert version == "v" * 200


async def test_answers_are_cached_for_a_minute(cli_environ: dict[str, str]) -> None:
    now = [1000.0]
    detector = BackendDetector(cli_environ, clock=lambda: now[0])
    assert by_type(await detector.backends())["claude"].installed

    (Path(cli_environ["PATH"]) / "claude").unlink()
    now[0] += 59
    assert by_type(await detector.backends())["claude"].installed, "still the cached answer"

    now[0] += 2
    assert not by_type(await detector.backends())["claude"].installed


async def test_the_api_lists_every_backend_from_the_cli_environment(
    make_app: AppFactory, cli_environ: dict[str, str]
) -> None:
    app = make_app(environ=cli_environ)
    async with app.test_app():
        response = await app.test_client().get("/admin/backends")
        assert response.status_code == 200
        body = await response.get_json()

    backends = {backend["backend_type"]: backend for backend in body["backends"]}
    assert list(backends) == list(BACKEND_TYPES)
    assert backends["claude"]["version"] == f"{FAKE_VERSION} (claude, fake)"
    assert backends["opencode"] == {
        "backend_type": "opencode",
        "installed": False,
        "path": None,
        "version": None,
    }
    assert backends["command"]["installed"] is True
