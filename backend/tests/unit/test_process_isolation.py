"""A CLI gets nothing of the server's, and nothing it starts outlives its run."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import uvloop

from agented.executions import process as process_module
from agented.executions.containment import RUN_MARKER, RunCgroup
from agented.executions.process import CliProcess

from ..support.bots import BOTS, make_bot
from ..support.procs import alive
from ..support.sse import stream_events

PROBE = Path(__file__).resolve().parent.parent / "fakes" / "isolation_probe.py"
DEADLINE = 30.0


def probe(*args: str) -> list[str]:
    return [sys.executable, str(PROBE), *args]


def cgroups_work() -> bool:
    cgroup = RunCgroup.create(f"probe-{uuid.uuid4().hex}")
    if cgroup is None:
        return False
    cgroup.remove()
    return True


@pytest.fixture(params=["cgroup", "tracking"])
def containment(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each test once with a cgroup per run, once with the fallback that tracks /proc."""
    if request.param == "tracking":
        monkeypatch.setattr(RunCgroup, "create", classmethod(lambda cls, execution_id: None))
    elif not cgroups_work():
        pytest.skip("no writable cgroup v2 here")
    return request.param


def own_cgroup() -> str:
    return Path("/proc/self/cgroup").read_text()


def wait_until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not check():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.02)


async def run(client, bot: dict[str, Any]) -> str:
    response = await client.post(f"{BOTS}/{bot['id']}/run", json={})
    assert response.status_code == 202, await response.get_json()
    return (await response.get_json())["execution_id"]


def output_json(events) -> dict[str, Any]:
    return json.loads(next(e.data["content"] for e in events if e.event == "log"))


async def _noop() -> None:
    return None


@pytest.mark.parametrize(
    "loop_factory", [asyncio.new_event_loop, uvloop.new_event_loop], ids=["asyncio", "uvloop"]
)
def test_the_cli_gets_only_stdio_and_cannot_accept_on_an_inherited_socket_under_either_loop(
    loop_factory: Callable[[], asyncio.AbstractEventLoop],
) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.set_inheritable(True)  # as Hypercorn leaves its listening sockets
    waiting = socket.create_connection(listener.getsockname())  # accept() would return at once
    lines: list[str] = []

    async def main() -> int:
        process = await CliProcess.spawn(
            probe("fds"), cwd=None, env=os.environ, execution_id="exe_fds"
        )
        await process.pump(lambda stream, new, timestamp: lines.extend(new), _noop)
        return await process.release()

    try:
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            assert runner.run(main()) == 0
        assert not listener.get_inheritable(), "the server's descriptors are close-on-exec"
    finally:
        waiting.close()
        listener.close()
    report = json.loads(lines[0])
    assert sorted(report["fds"]) == ["0", "1", "2"], report
    assert report["fds"]["0"] == "/dev/null"
    assert report["fds"]["1"].startswith("pipe:")
    assert report["fds"]["2"].startswith("pipe:")
    assert report["accepted"] == []


async def test_the_cli_environment_holds_none_of_the_servers_settings_or_secrets(
    make_app, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    private = {
        "SECRET_KEY": "s3cret",
        "AGENTED_API_KEY": "key-one",
        "AGENTED_API_KEY_FILE": str(tmp_path / ".api_key"),
        "AGENTED_SECRET_KEY_FILE": str(tmp_path / ".secret_key"),
        "AGENTED_DB_PATH": str(tmp_path / "other.db"),
        "AGENTED_SOME_FUTURE_SECRET": "x",
        "GITHUB_WEBHOOK_SECRET": "hook",
        "CORS_ALLOWED_ORIGINS": "https://example.com",
    }
    for name, value in private.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PROBE_KEEPS_THIS", "yes")
    app = make_app(environ=dict(os.environ))
    async with app.test_app():
        client = app.test_client()
        bot = await make_bot(client, "x", backend_type="command", command=probe("env"))
        execution_id = await run(client, bot)
        env = output_json(await stream_events(client, execution_id))["env"]
    assert not set(private) & set(env), sorted(set(private) & set(env))
    assert env["PROBE_KEEPS_THIS"] == "yes", "the rest of the environment is passed on"
    assert env[RUN_MARKER] == execution_id


@pytest.mark.parametrize("escape", ["setsid", "clean"])
@pytest.mark.parametrize("stop", ["timeout", "cancel"])
async def test_a_cli_child_that_left_the_group_is_stopped_with_the_run(
    client, tmp_path: Path, containment: str, escape: str, stop: str
) -> None:
    """`clean` also drops its environment, so only the cgroup or the parent link finds it."""
    pidfile = tmp_path / "escaped.pid"
    timeout = {"timeout_seconds": 2} if stop == "timeout" else {}
    bot = await make_bot(
        client,
        "x",
        backend_type="command",
        command=probe(escape, str(pidfile)),
        sigterm_grace_seconds=1,
        **timeout,
    )
    execution_id = await run(client, bot)
    await stream_events(client, execution_id, stop_after_seq=1)  # "escaped": pidfile written
    escaped = int(pidfile.read_text())
    assert alive(escaped)
    assert os.getsid(escaped) == escaped, "it left the CLI's session and group"
    if stop == "cancel":
        response = await client.post(f"/admin/executions/{execution_id}/cancel")
        assert response.status_code == 202
    events = await stream_events(client, execution_id)
    assert events[-1].data["status"] == ("timeout" if stop == "timeout" else "cancelled")
    await asyncio.to_thread(wait_until, lambda: not alive(escaped), "the escaped child to die")


async def test_a_daemon_left_behind_by_a_cli_that_exited_is_killed(
    client, tmp_path: Path, containment: str
) -> None:
    pidfile = tmp_path / "daemon.pid"
    bot = await make_bot(client, "x", backend_type="command", command=probe("daemon", str(pidfile)))
    execution_id = await run(client, bot)
    events = await stream_events(client, execution_id)
    assert events[-1].data["status"] == "success"
    daemon = int(pidfile.read_text())
    await asyncio.to_thread(wait_until, lambda: not alive(daemon), "the daemon to die")


async def test_a_child_that_dropped_every_mark_is_killed_after_its_cli_exits(
    client, tmp_path: Path, containment: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Out of the session, no marker, parent gone: only the cgroup or the recorded pid is left."""
    monkeypatch.setattr(process_module, "TRACK_SECONDS", 0.05)
    pidfile = tmp_path / "escaped.pid"
    bot = await make_bot(
        client, "x", backend_type="command", command=probe("clean-exit", str(pidfile))
    )
    execution_id = await run(client, bot)
    events = await stream_events(client, execution_id)
    assert events[-1].data["status"] == "success"
    escaped = int(pidfile.read_text())
    await asyncio.to_thread(wait_until, lambda: not alive(escaped), "the escaped child to die")


async def test_without_pidfds_the_exit_is_noticed_and_escapees_still_killed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kernels before 5.3 have no pidfd: a thread waits for the exit, pids are checked."""

    def no_pidfds(pid: int, flags: int = 0) -> int:
        raise OSError(38, "Function not implemented")

    monkeypatch.setattr(os, "pidfd_open", no_pidfds)
    monkeypatch.setattr(RunCgroup, "create", classmethod(lambda cls, execution_id: None))
    pidfile = tmp_path / "daemon.pid"
    process = await CliProcess.spawn(
        probe("daemon", str(pidfile)), cwd=None, env=os.environ, execution_id="exe_nopidfd"
    )
    lines: list[str] = []
    await process.wait()  # the CLI exits once its daemon is up; the daemon keeps the pipes
    await process.signal_all(signal.SIGKILL)
    await process.pump(lambda stream, new, timestamp: lines.extend(new), _noop)
    assert await process.release() == 0
    assert lines == ["daemon started"]
    daemon = int(pidfile.read_text())
    await asyncio.to_thread(wait_until, lambda: not alive(daemon), "the daemon to die")


async def test_a_cli_that_cannot_start_leaves_the_server_where_it_was_and_no_cgroup(
    containment: str,
) -> None:
    before = own_cgroup()
    with pytest.raises(FileNotFoundError):
        await CliProcess.spawn(
            probe("env"), cwd="/nonexistent/agented", env=os.environ, execution_id="exe_nostart"
        )
    assert own_cgroup() == before
    assert RunCgroup.of_run("exe_nostart") is None
