"""The `agented` console script against a real server: output, exit codes, resuming, errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ..fakes import fake_cli_environ
from ..support.keys import TEST_API_KEY
from ..support.proxy import DroppingProxy
from .conftest import StartServer
from .server import AUTH, ServerProcess, free_port, server_env, start_hypercorn

AGENTED = Path(sys.executable).with_name("agented")
DEADLINE = 60.0


def agented(
    base: str, *args: str, key: str | None = TEST_API_KEY, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run the console script as a user would, with nothing of ours in its environment."""
    environ = {"PATH": os.environ["PATH"], "HOME": "/nonexistent", "AGENTED_URL": base, **env}
    if key is not None:
        environ["AGENTED_API_KEY"] = key
    return subprocess.run(
        [str(AGENTED), *args],
        env=environ,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        check=False,
    )


def make_bot(base: str, prompt: str, **fields: Any) -> dict[str, Any]:
    body = {
        "name": f"bot-{uuid.uuid4().hex[:8]}",
        "prompt_template": prompt,
        "backend_type": "codex",
    }
    created = httpx.post(
        f"{base}/admin/triggers", json={**body, **fields}, headers=AUTH, timeout=10
    )
    assert created.status_code == 201, created.text
    bot: dict[str, Any] = created.json()
    return bot


def wait_for_status(base: str, execution_id: str, wanted: set[str]) -> None:
    deadline = time.monotonic() + DEADLINE
    while True:
        status = httpx.get(f"{base}/admin/executions/{execution_id}", headers=AUTH).json()["status"]
        if status in wanted:
            return
        assert time.monotonic() < deadline, f"{execution_id} stayed {status}"
        time.sleep(0.05)


def lines(text: str, prefix: str = "line ") -> list[str]:
    """The fake's `line <i> t=<time>` lines without their times."""
    return [line.split(" t=")[0] for line in text.splitlines() if line.startswith(prefix)]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One server for the tests that do not stop it: each starts a few runs of its own."""
    port = free_port()
    env = server_env(
        tmp_path_factory.mktemp("cli"), **fake_cli_environ({"PATH": os.environ["PATH"]})
    )
    process = start_hypercorn(env, port)
    try:
        process.wait_for_output(rf"Running on http://127\.0\.0\.1:{port}\b")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.stop()


def test_run_follow_prints_stdout_and_stderr_lines_on_their_streams_and_exits_0_on_success(
    server: str,
) -> None:
    bot = make_bot(server, "fake: lines 3\nfake: stderr careful\nfake: print said {message}")

    done = agented(server, "run", bot["name"], "--message", "hello", "--follow")

    assert done.returncode == 0, done.stderr
    assert lines(done.stdout) == ["line 1", "line 2", "line 3"]
    assert done.stdout.splitlines()[-1] == "said hello"
    assert "careful" in done.stderr.splitlines()
    assert "careful" not in done.stdout
    assert f"{bot['name']} queued" in done.stderr
    assert "ended success" in done.stderr


def test_a_failing_run_exits_1_with_its_output_and_error(server: str) -> None:
    bot = make_bot(server, "fake: print trying\nfake: exit 3")

    done = agented(server, "run", bot["id"], "--follow")

    assert done.returncode == 1
    assert done.stdout == "trying\n"
    assert "ended failed" in done.stderr


def test_a_cancelled_run_exits_4_and_cancel_reports_cancelling(server: str) -> None:
    bot = make_bot(server, "fake: print waiting\nfake: sleep 60")
    started = agented(server, "run", bot["name"])
    execution_id = started.stdout.strip()
    wait_for_status(server, execution_id, {"running"})

    follower = subprocess.Popen(
        [str(AGENTED), "logs", execution_id, "--follow"],
        env={"PATH": os.environ["PATH"], "AGENTED_URL": server, "AGENTED_API_KEY": TEST_API_KEY},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        cancelled = agented(server, "cancel", execution_id)
        out, err = follower.communicate(timeout=DEADLINE)
    finally:
        follower.kill()

    assert cancelled.returncode == 0
    assert cancelled.stdout == f"{execution_id}: cancelling\n"
    assert follower.returncode == 4, err
    assert out == "waiting\n"


def test_run_without_follow_prints_the_id_and_logs_prints_the_whole_log(server: str) -> None:
    bot = make_bot(server, "fake: lines 2500")

    started = agented(server, "run", bot["name"])
    execution_id = started.stdout.strip()
    wait_for_status(server, execution_id, {"success"})
    logs = agented(server, "logs", execution_id)

    assert started.returncode == 0
    assert execution_id.startswith("exe_")
    assert logs.returncode == 0
    assert lines(logs.stdout) == [f"line {i}" for i in range(1, 2501)]  # three pages


def test_run_takes_its_request_body_from_a_payload_file_or_stdin(
    server: str, tmp_path: Path
) -> None:
    bot = make_bot(server, "fake: print {message}")
    payload = tmp_path / "body.json"
    payload.write_text(json.dumps({"message": "from a file"}))

    from_file = agented(server, "run", bot["name"], "--payload", str(payload), "--follow")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    refused = agented(server, "run", bot["name"], "--payload", str(broken))

    assert from_file.returncode == 0
    assert from_file.stdout == "from a file\n"
    assert refused.returncode == 2
    assert "--payload" in refused.stderr
    assert "is not JSON" in refused.stderr


def test_json_output_is_one_document_or_json_lines_when_following(server: str) -> None:
    bot = make_bot(server, "fake: lines 2\nfake: stderr warn")

    followed = agented(server, "run", bot["name"], "--follow", "--json")
    events = [json.loads(line) for line in followed.stdout.splitlines()]
    execution_id = events[0]["data"]["execution_id"]
    bots = json.loads(agented(server, "bots", "list", "--json").stdout)
    page = json.loads(agented(server, "executions", "--bot", bot["name"], "--json").stdout)
    log = json.loads(agented(server, "logs", execution_id, "--json").stdout)
    cancel = agented(server, "cancel", execution_id, "--json")

    assert followed.returncode == 0
    assert followed.stderr == ""
    names = [event["event"] for event in events]
    # One status event per change the stream saw: `queued` may or may not come before `running`.
    first_log = names.index("log")
    assert names[0] == "accepted"
    assert set(names[1:first_log]) == {"status"}  # at least one, and nothing else
    assert names[first_log:] == ["log", "log", "log", "complete"]
    assert events[first_log + 1]["data"]["content"].startswith("line 2")
    assert events[first_log + 2]["data"]["stream"] == "stderr"
    assert events[-1]["data"]["status"] == "success"
    assert bot["id"] in [listed["id"] for listed in bots]
    assert [execution["id"] for execution in page["executions"]] == [execution_id]
    assert log["status"] == "success"
    assert [line["seq"] for line in log["logs"]] == [1, 2, 3]
    assert cancel.returncode == 10
    assert json.loads(cancel.stderr) == {
        "error": f"conflict: execution {execution_id} is not running (it is success)",
        "exit_code": 10,
    }


def test_tables_list_bots_and_executions_filtered_by_status_and_bot(server: str) -> None:
    bot = make_bot(server, "fake: exit 1")
    agented(server, "run", bot["name"], "--follow")

    bots = agented(server, "bots", "list")
    failed = agented(server, "executions", "--status", "failed", "--bot", bot["id"])
    succeeded = agented(server, "executions", "--status", "success", "--bot", bot["id"])

    assert bots.stdout.splitlines()[0].split() == [
        "ID",
        "NAME",
        "BACKEND",
        "FIRED",
        "BY",
        "ENABLED",
        "LAST",
        "RUN",
    ]
    row = next(line for line in bots.stdout.splitlines() if bot["id"] in line)
    assert row.split() == [bot["id"], bot["name"], "codex", "manual", "yes", "failed"]
    assert len(failed.stdout.splitlines()) == 2
    assert "failed" in failed.stdout.splitlines()[1]
    assert len(succeeded.stdout.splitlines()) == 1  # the header alone


def test_follow_resumes_after_a_dropped_connection_without_losing_or_repeating_lines(
    server: str,
) -> None:
    bot = make_bot(server, "fake: lines 20")
    proxy = DroppingProxy(int(server.rsplit(":", 1)[1]))
    try:
        done = agented(f"http://127.0.0.1:{proxy.port}", "run", bot["name"], "--follow")
    finally:
        proxy.close()

    assert proxy.dropped.is_set()
    assert done.returncode == 0, done.stderr
    assert lines(done.stdout) == [f"line {i}" for i in range(1, 21)]
    assert "resuming after line 1\n" in done.stderr
    first, second = proxy.stream_requests
    assert b"last-event-id: 0\r\n" in first.lower()
    assert b"last-event-id: 1\r\n" in second.lower()


def test_follow_survives_a_server_restart_and_reports_the_interrupted_run(
    tmp_path: Path,
) -> None:
    port = free_port()
    env = server_env(tmp_path, **fake_cli_environ({"PATH": os.environ["PATH"]}))
    base = f"http://127.0.0.1:{port}"
    servers: list[ServerProcess] = []

    def start() -> None:
        servers.append(start_hypercorn(env, port))
        servers[-1].wait_for_output(rf"Running on http://127\.0\.0\.1:{port}\b")

    start()
    try:
        bot = make_bot(base, "fake: print before\nfake: sleep 120")
        follower = subprocess.Popen(
            [str(AGENTED), "run", bot["name"], "--follow"],
            env={"PATH": os.environ["PATH"], "AGENTED_URL": base, "AGENTED_API_KEY": TEST_API_KEY},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert follower.stdout is not None
        assert follower.stdout.readline() == "before\n"
        servers[-1].signal_process(signal.SIGTERM)
        servers[-1].wait(timeout=30)
        start()
        out, err = follower.communicate(timeout=DEADLINE)
    finally:
        follower.kill()
        for process in servers:
            process.stop()

    assert follower.returncode == 5, err
    assert out == ""  # "before" was printed once, before the restart
    assert "resuming after line 1" in err
    assert "ended interrupted" in err


def test_an_unreachable_server_exits_7_saying_where_it_looked() -> None:
    base = f"http://127.0.0.1:{free_port()}"

    done = agented(base, "bots", "list")

    assert done.returncode == 7
    assert f"cannot reach the server at {base}" in done.stderr
    assert "AGENTED_URL" in done.stderr


def test_a_missing_or_wrong_key_exits_8_saying_how_to_set_it(server: str) -> None:
    missing = agented(server, "bots", "list", key=None)
    wrong = agented(server, "executions", key="not-the-key")

    assert missing.returncode == 8
    assert "the server wants an API key" in missing.stderr
    assert "AGENTED_API_KEY" in missing.stderr
    assert wrong.returncode == 8
    assert "the server refused the API key" in wrong.stderr
    assert "config.toml" in wrong.stderr


def test_unknown_bots_and_executions_exit_9(server: str) -> None:
    no_bot = agented(server, "run", "no-such-bot")
    no_execution = agented(server, "logs", "exe_0000000000000000")
    no_stream = agented(server, "logs", "exe_0000000000000000", "--follow")

    assert no_bot.returncode == 9
    assert "no bot has the id or name 'no-such-bot'" in no_bot.stderr
    assert no_execution.returncode == 9
    assert "execution exe_0000000000000000 not found" in no_execution.stderr
    assert no_stream.returncode == 9


def test_a_second_run_of_a_busy_bot_exits_10_naming_the_active_run(server: str) -> None:
    bot = make_bot(server, "fake: sleep 60")
    first = agented(server, "run", bot["name"]).stdout.strip()
    try:
        second = agented(server, "run", bot["name"])
    finally:
        agented(server, "cancel", first)

    assert second.returncode == 10
    assert f"(execution {first})" in second.stderr


def test_the_servers_rate_limit_exits_11_with_retry_after(start_server: StartServer) -> None:
    _, port = start_server(AGENTED_RATE_LIMIT_ADMIN="1/600")
    base = f"http://127.0.0.1:{port}"

    allowed = agented(base, "executions")
    limited = agented(base, "executions")

    assert allowed.returncode == 0
    assert limited.returncode == 11
    assert "rate limited by the server: too many requests; retry after" in limited.stderr
