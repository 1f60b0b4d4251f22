"""Runs on workers: a real PostgreSQL, real `python -m agented.worker` processes, the real app.

Whatever engine the rest of the suite runs on, these tests run on PostgreSQL
(workers exist only there): the app is built with AGENTED_EXECUTOR=workers on a
database of the test's own, and each worker is a process started by the test
with the fake CLIs on its PATH and the server's SECRET_KEY.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from quart import Quart

from agented.config import ConfigError, load_settings
from agented.executions.mcp_access import McpGrant
from agented.executions.remote import RunJob
from agented.paths import BACKEND_DIR
from agented.run_tokens import RunTokens
from agented.runtime import runtime_of
from agented.secret_box import SecretBox, SecretDecryptionError
from agented.tasks import cancel_and_wait

from ..support.bots import FAKES, make_bot
from ..support.http_server import HttpListener
from ..support.procs import alive
from ..support.severable_proxy import SeverableProxy
from ..support.sse import log_seqs, stream_events
from .test_agents import inbox, make_agent
from .test_executions import details, final, run

SECRET = "worker-test-secret-key-0123456789abcdef"
# Both sides take a worker silent for three heartbeats for dead: 6 s here instead of 30.
HEARTBEAT = 2
# Bounds on the waits below: a loaded 2-core machine starts a Python process in seconds.
START_SECONDS = 60.0
STOP_SECONDS = 20.0
# A dead worker's runs end within this (3 heartbeats of 2 s, a poll, a loaded machine).
STALLED_WITHIN = 20.0


class WorkerProcess:
    """One `python -m agented.worker`, its stderr kept in a file for the assertions."""

    def __init__(self, process: subprocess.Popen[bytes], name: str, log: Path) -> None:
        self.process = process
        self.name = name
        self.log = log

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_SECONDS)


StartWorker = Callable[..., WorkerProcess]


@pytest.fixture
def database_url(postgres_database: str) -> str:
    return postgres_database


@pytest.fixture
def start_worker(database_url: str, tmp_path: Path) -> Iterator[StartWorker]:
    """Start workers on the test's database; each is stopped (SIGTERM) at the end."""
    started: list[WorkerProcess] = []

    def start(
        name: str, concurrency: int = 2, url: str | None = None, labels: str = "", **env: str
    ) -> WorkerProcess:
        log = tmp_path / f"{name}.log"
        environ = {
            **env,
            "PATH": f"{FAKES}{os.pathsep}{os.environ['PATH']}",
            "FAKE_CLI_PYTHON": sys.executable,
            "HOME": str(tmp_path),
            "AGENTED_ENV_FILE": str(tmp_path / "no.env"),  # nothing from a developer's .env
            "AGENTED_DATABASE_URL": url or database_url,
            "SECRET_KEY": SECRET,
            "AGENTED_WORKER_NAME": name,
            "AGENTED_WORKER_LABELS": labels,
            "AGENTED_MAX_CONCURRENT_RUNS": str(concurrency),
            "AGENTED_WORKER_HEARTBEAT_SECONDS": str(HEARTBEAT),
            "LOG_LEVEL": "INFO",
        }
        with log.open("wb") as stderr:
            process = subprocess.Popen(
                [sys.executable, "-m", "agented.worker"],
                cwd=BACKEND_DIR,
                env=environ,
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
            )
        worker = WorkerProcess(process, name, log)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def workers_app(make_app, database_url: str, **overrides: object) -> Quart:
    """An app whose runs go to workers on the test's database."""
    app: Quart = make_app(
        AGENTED_DATABASE_URL=database_url,
        AGENTED_EXECUTOR="workers",
        AGENTED_WORKER_HEARTBEAT_SECONDS=HEARTBEAT,
        SECRET_KEY=SECRET,
        **overrides,
    )
    return app


@contextlib.asynccontextmanager
async def serving(app: Quart) -> AsyncIterator[Quart]:
    """The app serving, its ear on the workers' output channel."""
    async with app.test_app():
        runtime = runtime_of(app)
        assert runtime is not None
        assert runtime.dispatch is not None
        async with asyncio.timeout(START_SECONDS):
            await runtime.dispatch.wait_listening()
        yield app


@pytest.fixture
async def serving_app(make_app, database_url: str) -> AsyncIterator[Quart]:
    async with serving(workers_app(make_app, database_url)) as app:
        yield app


async def count_rows(database_url: str, table: str) -> int:
    async with await psycopg.AsyncConnection.connect(database_url) as connection:
        cursor = await connection.execute(f"SELECT count(*) FROM {table}")
        row = await cursor.fetchone()
    assert row is not None
    return int(row[0])


async def job_count(database_url: str) -> int:
    return await count_rows(database_url, "procrastinate_jobs")


async def wait_for_workers(database_url: str, count: int) -> None:
    """Until `count` workers have registered with Procrastinate (so all take jobs from now)."""
    async with asyncio.timeout(START_SECONDS):
        while True:
            if await count_rows(database_url, "procrastinate_workers") >= count:
                return
            await asyncio.sleep(0.1)  # polling a condition, with the bound above


async def job_arguments(database_url: str, execution_id: str) -> dict[str, Any]:
    """The arguments of the run's job as the job table holds them, once the server queued it."""
    query = "SELECT args FROM procrastinate_jobs WHERE args ->> 'execution_id' = %s"
    async with (
        asyncio.timeout(START_SECONDS),
        await psycopg.AsyncConnection.connect(database_url, autocommit=True) as connection,
    ):
        while True:
            row = await (await connection.execute(query, (execution_id,))).fetchone()
            if row is not None:
                arguments: dict[str, Any] = row[0]
                return arguments
            await asyncio.sleep(0.05)  # polling a condition, with the bound above


async def wait_until(condition: Callable[[], bool], seconds: float) -> None:
    """Until `condition()` holds (a process's death has no event to wait on), at most `seconds`."""
    async with asyncio.timeout(seconds):
        while True:
            if condition():
                return
            await asyncio.sleep(0.01)


def test_workers_need_postgresql() -> None:
    with pytest.raises(ConfigError, match="AGENTED_EXECUTOR=workers needs AGENTED_DATABASE_URL"):
        load_settings({"AGENTED_EXECUTOR": "workers"})


async def test_a_run_on_a_worker_streams_every_line_live_in_order_and_names_its_worker(
    client, start_worker: StartWorker, tmp_path: Path
) -> None:
    start_worker("worker-a")
    go_on = tmp_path / "go-on"
    bot = await make_bot(
        client,
        f"fake: lines 5\nfake: wait-for {go_on}\nfake: lines 295 rate=3000",
        backend_type="codex",
    )
    execution_id = await run(client, bot)
    # The CLI waits for the file until the viewer has seen its first lines: they came live.
    first = await stream_events(client, execution_id, stop_after_seq=5)
    assert log_seqs(first)[:5] == [1, 2, 3, 4, 5]
    running = await details(client, execution_id)
    assert running["status"] == "running"
    assert running["worker"] == "worker-a"
    go_on.touch()
    events = await stream_events(client, execution_id, last_event_id=5)
    assert log_seqs(events) == list(range(6, 301))
    assert final(events)["status"] == "success"
    assert final(events)["exit_code"] == 0
    stored = await details(client, execution_id, limit=1000)
    assert [line["seq"] for line in stored["logs"]] == list(range(1, 301))
    contents = [line["content"].split(" t=")[0] for line in stored["logs"]]
    assert contents == [f"line {i}" for i in range(1, 6)] + [f"line {i}" for i in range(1, 296)]
    assert stored["status"] == "success"
    assert stored["worker"] == "worker-a"


async def test_two_workers_share_ten_runs_and_each_run_runs_exactly_once(
    client, start_worker: StartWorker, database_url: str
) -> None:
    workers = [start_worker("worker-a"), start_worker("worker-b")]
    await wait_for_workers(database_url, 2)
    bot = await make_bot(
        client,
        "fake: lines 20 rate=1000\nfake: sleep 1",
        backend_type="codex",
        allow_concurrent_runs=True,
    )
    ids = [await run(client, bot) for _ in range(10)]
    for execution_id in ids:
        events = await stream_events(client, execution_id)
        assert final(events)["status"] == "success"
    ran_on: dict[str, int] = {}
    for execution_id in ids:
        stored = await details(client, execution_id, limit=100)
        assert [line["seq"] for line in stored["logs"]] == list(range(1, 21))
        ran_on[stored["worker"]] = ran_on.get(stored["worker"], 0) + 1
    assert set(ran_on) == {"worker-a", "worker-b"}
    logs = "".join(worker.output() for worker in workers)
    for execution_id in ids:
        assert logs.count(f"running execution {execution_id}") == 1


async def test_cancel_reaches_the_worker_within_a_second_and_kills_the_process_group(
    client, start_worker: StartWorker, tmp_path: Path
) -> None:
    start_worker("worker-a")
    pidfile = tmp_path / "grandchild.pid"
    bot = await make_bot(
        client,
        f"fake: grandchild {pidfile}\nfake: lines 1 rate=10\nfake: sleep 60",
        backend_type="codex",
    )
    execution_id = await run(client, bot)
    await stream_events(client, execution_id, stop_after_seq=1)
    grandchild = int(pidfile.read_text())
    assert alive(grandchild)
    asked = time.monotonic()
    response = await client.post(f"/admin/executions/{execution_id}/cancel")
    assert response.status_code == 202
    await wait_until(lambda: not alive(grandchild), 5.0)
    assert time.monotonic() - asked < 1.0
    events = await stream_events(client, execution_id)
    assert final(events)["status"] == "cancelled"
    assert (await details(client, execution_id))["worker"] == "worker-a"


async def test_a_run_cancelled_before_any_worker_took_it_never_runs(
    client, start_worker: StartWorker, database_url: str
) -> None:
    bot = await make_bot(client, "fake: lines 2", backend_type="codex")
    execution_id = await run(client, bot)
    await client.post(f"/admin/executions/{execution_id}/cancel")
    events = await stream_events(client, execution_id)
    assert final(events)["status"] == "cancelled"
    assert await job_count(database_url) == 0  # its job is gone, sealed variables and all
    worker = start_worker("worker-a")
    await wait_for_workers(database_url, 1)
    stored = await details(client, execution_id)
    assert stored["worker"] is None
    assert stored["logs"] == []
    assert f"running execution {execution_id}" not in worker.output()


async def test_lines_still_arrive_when_the_notifications_are_missed(
    serving_app: Quart, client, start_worker: StartWorker
) -> None:
    runtime = runtime_of(serving_app)
    assert runtime is not None
    assert runtime.dispatch is not None
    await cancel_and_wait(runtime.dispatch._listener)  # no NOTIFY reaches the server any more
    start_worker("worker-a")
    bot = await make_bot(client, "fake: lines 50 rate=500", backend_type="codex")
    execution_id = await run(client, bot)
    events = await stream_events(client, execution_id)
    assert log_seqs(events) == list(range(1, 51))
    assert final(events)["status"] == "success"


async def test_a_killed_worker_s_run_ends_interrupted_with_the_lines_it_stored(
    client, start_worker: StartWorker, tmp_path: Path, database_url: str
) -> None:
    worker = start_worker("worker-a")
    pidfile = tmp_path / "grandchild.pid"
    bot = await make_bot(
        client,
        f"fake: grandchild {pidfile}\nfake: lines 3 rate=100\nfake: sleep 60",
        backend_type="codex",
    )
    execution_id = await run(client, bot)
    await stream_events(client, execution_id, stop_after_seq=3)
    cli_group = os.getpgid(int(pidfile.read_text()))
    try:
        worker.process.kill()
        worker.process.wait(STOP_SECONDS)
        # Three missed heartbeats, then at most a poll: well inside the bound.
        async with asyncio.timeout(STALLED_WITHIN):
            events = await stream_events(client, execution_id, last_event_id=3)
        assert final(events)["status"] == "interrupted"
        stored = await details(client, execution_id)
        assert [line["seq"] for line in stored["logs"]] == [1, 2, 3]
        assert "worker worker-a was lost" in stored["error_message"]
        assert await job_count(database_url) == 0  # nobody can take it again
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(cli_group, signal.SIGKILL)  # what the dead worker left running


async def test_a_run_on_a_worker_times_out_as_a_local_one_does(
    client, start_worker: StartWorker
) -> None:
    start_worker("worker-a")
    bot = await make_bot(
        client, "fake: lines 1\nfake: sleep 60", backend_type="codex", timeout_seconds=2
    )
    events = await stream_events(client, await run(client, bot))
    assert log_seqs(events) == [1]
    assert final(events)["status"] == "timeout"
    assert final(events)["error_message"] == "timed out after 2 s"


async def test_a_rate_limited_run_on_a_worker_arms_a_retry_as_a_local_one_does(
    client, start_worker: StartWorker
) -> None:
    start_worker("worker-a")
    bot = await make_bot(client, "fake: rate-limit claude-text", backend_type="claude")
    execution_id = await run(client, bot)
    events = await stream_events(client, execution_id)
    assert final(events)["status"] == "failed"
    assert final(events)["error_message"].startswith("rate limited")
    retries = (await (await client.get("/admin/retries")).get_json())["retries"]
    assert [retry["execution_id"] for retry in retries] == [execution_id]


async def test_a_server_restart_leaves_the_worker_running_and_the_stream_resumes(
    make_app, database_url: str, start_worker: StartWorker, tmp_path: Path
) -> None:
    start_worker("worker-a")
    go_on = tmp_path / "go-on"
    async with serving(workers_app(make_app, database_url)) as first:
        client = first.test_client()
        bot = await make_bot(
            client,
            f"fake: lines 5\nfake: wait-for {go_on}\nfake: lines 5",
            backend_type="codex",
        )
        execution_id = await run(client, bot)
        first_lines = await stream_events(client, execution_id, stop_after_seq=5)
        assert log_seqs(first_lines) == [1, 2, 3, 4, 5]
    # The server stopped; its run goes on on the worker, which now prints the rest.
    go_on.touch()
    async with serving(workers_app(make_app, database_url)) as second:
        client = second.test_client()
        events = await stream_events(client, execution_id, last_event_id=5)
        assert log_seqs(events) == [6, 7, 8, 9, 10]
        assert final(events)["status"] == "success"
        stored = await details(client, execution_id, limit=100)
        assert [line["seq"] for line in stored["logs"]] == list(range(1, 11))
        assert stored["worker"] == "worker-a"


async def test_a_worker_that_loses_the_database_stops_its_cli_and_the_run_ends_interrupted(
    client, start_worker: StartWorker, tmp_path: Path, database_url: str
) -> None:
    port = urlsplit(database_url).port
    proxy = SeverableProxy(port or 5432)
    worker = start_worker("worker-a", url=database_url.replace(f":{port}/", f":{proxy.port}/"))
    try:
        pidfile = tmp_path / "grandchild.pid"
        bot = await make_bot(
            client,
            f"fake: grandchild {pidfile}\nfake: lines 1 rate=10\nfake: sleep 60",
            backend_type="codex",
        )
        execution_id = await run(client, bot)
        await stream_events(client, execution_id, stop_after_seq=1)
        grandchild = int(pidfile.read_text())
        proxy.sever()  # the worker's network is gone: no error, just silence
        # Three heartbeats of silence, then SIGTERM: the CLI does not run on unobserved.
        await wait_until(lambda: not alive(grandchild), STALLED_WITHIN)
        events = await stream_events(client, execution_id, last_event_id=1)
        assert final(events)["status"] == "interrupted"
        assert "worker worker-a was lost" in final(events)["error_message"]
        assert "the database has not answered" in worker.output()
    finally:
        worker.process.kill()  # it cannot say goodbye to a database it cannot reach
        proxy.close()


async def test_a_bot_that_needs_a_worker_label_runs_only_on_a_worker_with_it(
    client, start_worker: StartWorker
) -> None:
    labelled = await make_bot(client, "fake: lines 2", backend_type="codex", worker_label="gpu")
    anyone = await make_bot(client, "fake: lines 2", backend_type="codex")
    waiting = await run(client, labelled)
    start_worker("worker-a")  # no labels
    # Jobs are taken oldest first: a worker that took the run queued later skipped the first.
    later = await run(client, anyone)
    assert final(await stream_events(client, later))["status"] == "success"
    still = await details(client, waiting)
    assert still["status"] == "queued"
    assert still["worker"] is None
    start_worker("worker-b", labels="gpu,linux")
    assert final(await stream_events(client, waiting))["status"] == "success"
    assert (await details(client, waiting))["worker"] == "worker-b"


async def test_a_worker_label_is_lowercase_letters_digits_dash_and_underscore(client) -> None:
    response = await client.post(
        "/admin/triggers",
        json={"name": "labelled", "prompt_template": "x", "worker_label": "GPU big"},
    )
    assert response.status_code == 400
    assert "worker_label" in (await response.get_json())["error"]


def test_a_run_job_carries_an_agents_mcp_grant_with_its_token_sealed() -> None:
    box = SecretBox(SECRET)
    token = RunTokens(SECRET).issue("exe_1", "agt_1")
    grant = McpGrant("claude", "http://agented.internal:20000/mcp", token)
    job = RunJob("exe_1", ["claude", "-p"], "/work", 60.0, 5.0, 0, env={"KEY": "k-1"}, mcp=grant)
    arguments = job.to_job(box)
    stored = json.dumps(arguments)  # what the job table holds
    assert token not in stored
    assert "k-1" not in stored
    assert arguments["mcp"]["url"] == "http://agented.internal:20000/mcp"
    assert arguments["mcp"]["backend_type"] == "claude"
    assert RunJob.from_job(json.loads(stored), box) == job
    with pytest.raises(SecretDecryptionError):
        RunJob.from_job(arguments, SecretBox("another-secret-key-0123456789abcdef"))


def test_a_job_queued_before_workers_got_mcp_runs_without_it() -> None:
    box = SecretBox(SECRET)
    old = {
        "execution_id": "exe_1",
        "argv": ["codex", "exec"],
        "cwd": None,
        "timeout_seconds": 60,
        "grace_seconds": 5,
        "first_seq": 0,
        "sealed_env": None,
    }
    assert RunJob.from_job(old, box).mcp is None
    assert RunJob("exe_1", ["codex"], None, 60, 5, 0).to_job(box)["mcp"] is None


async def test_without_a_public_url_an_agents_run_goes_to_a_worker_without_mcp_as_the_log_says(
    make_app, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="agented")
    async with serving(workers_app(make_app, database_url)) as app:
        client = app.test_client()
        alice = await make_agent(client, "Alice")
        bot = await make_bot(client, "x", backend_type="codex", agent_id=alice["id"])
        arguments = await job_arguments(database_url, await run(client, bot))
    assert arguments["mcp"] is None
    warned = [r.getMessage() for r in caplog.records if "AGENTED_PUBLIC_URL" in r.getMessage()]
    assert len(warned) == 1
    assert "agents' runs on workers get no MCP tools" in warned[0]


async def test_an_agents_run_on_a_worker_speaks_mcp_to_the_server_while_it_runs_and_not_after(
    make_app,
    database_url: str,
    start_worker: StartWorker,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="agented")
    listener = HttpListener()  # where the worker's CLI reaches the server
    app = workers_app(make_app, database_url, AGENTED_PUBLIC_URL=listener.url)
    worker_tmp = tmp_path / "worker-tmp"
    worker_tmp.mkdir()
    worker = start_worker("worker-a", TMPDIR=str(worker_tmp))
    token_file, stop = tmp_path / "token", tmp_path / "stop"
    async with serving(app), listener.serving(app):
        client = app.test_client()
        alice, bob = await make_agent(client, "Alice"), await make_agent(client, "Bob")
        program = [sys.executable, str(FAKES / "mcp_agent.py")]
        command = [*program, bob["id"], "hello from a worker", str(token_file), str(stop)]
        bot = await make_bot(
            client, "work", backend_type="command", command=command, agent_id=alice["id"]
        )
        execution_id = await run(client, bot)
        await wait_until(token_file.exists, START_SECONDS)  # it sent its message
        token = token_file.read_text()
        [message] = await inbox(client, bob)
        assert (message["content"], message["from_agent_id"]) == (
            "hello from a worker",
            alice["id"],
        )
        assert message["from_execution_id"] == execution_id
        arguments = await job_arguments(database_url, execution_id)
        assert arguments["mcp"]["url"] == f"{listener.url}/mcp"
        assert token not in json.dumps(arguments), "sealed in the job table"
        [settings_dir] = worker_tmp.glob("agented-mcp-*")  # on the worker's machine
        assert [path.name for path in settings_dir.iterdir()] == [execution_id]

        stop.touch()
        assert final(await stream_events(client, execution_id))["status"] == "success"
        ended = await client.post("/mcp", json={}, headers={"Authorization": f"Bearer {token}"})
        assert ended.status_code == 401
        assert await ended.get_json() == {"error": "the run this token belongs to is not running"}
        assert list(settings_dir.iterdir()) == [], "the run's settings went with its CLI"
        stored = await details(client, execution_id, limit=100)
        assert token not in json.dumps(stored), "nor in its command, log or anything else"
    worker.stop()
    assert not settings_dir.exists(), "the worker's settings directory went with the worker"
    assert token not in worker.output()
    assert token not in caplog.text
