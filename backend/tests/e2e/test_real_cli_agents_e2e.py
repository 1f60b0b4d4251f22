"""The real CLIs as agents: they reach Agented's MCP endpoint, and continue their session.

The pinned claude, codex, gemini and opencode (tests/realcli) run through a real Agented
server each, against the mock provider (tests/realcli/provider.py). In the `mcp`
scenario the mock model answers a run's first request with a call of the tool the CLI
offers under a name containing `send_message` (each CLI names an MCP server's tools its
own way), then answers once the tool's result comes back: so a message in the other
agent's inbox proves the CLI took the MCP settings Agented wrote, connected with the
run's token and called the tool. In `overload-once` the first run fails as overloaded and
its retry, on the same (no) account, continues the first run's session: claude with
`--resume <session id>`, codex with `exec ... resume <thread id> -- <prompt>`.

Every run starts at once; the tests then read what each became. A pinned CLI that is
missing or reports another version fails every test here: never a skip.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from agented.run_tokens import RunTokens

from ..realcli.clis import BIN, MODELS, PINNED, check_installed, cli_env, warm_up
from ..realcli.provider import (
    MCP,
    MCP_MESSAGE,
    MCP_TOOL,
    OVERLOAD_ONCE,
    MockProvider,
    Request,
    running_provider,
)
from ..support.sse import parse_events
from .server import AUTH, ServerProcess, free_port, server_env, start_hypercorn

CLIS = tuple(PINNED)
RESUMING = ("claude", "codex")
RUN_TIMEOUT_SECONDS = 60
# An overloaded run's retry waits 15 s ± 20 % (retry_policy.RetryPolicy).
DEADLINE = RUN_TIMEOUT_SECONDS + 60.0
MCP_PROMPT = "Tell the other agent hello with your send_message tool. [mock:mcp] [to:{to}]"
RESUME_PROMPT = "Remember the word PAPAYA, then say 2+2. [mock:overload-once] [key:{key}]"
pytestmark = pytest.mark.timeout(DEADLINE * 3)


@dataclass
class Run:
    """What a run became, and every response the API gave about it (to look for the token)."""

    execution: dict[str, Any] = field(default_factory=dict)
    output: list[str] = field(default_factory=list)  # the stream's events, as sent
    responses: list[str] = field(default_factory=list)


@dataclass
class McpCase:
    """A CLI's run as an agent: who sent, who should receive, and what /mcp says of its token."""

    run: Run = field(default_factory=Run)
    sender: str = ""
    receiver: str = ""
    inbox: list[dict[str, Any]] = field(default_factory=list)
    token: str = ""  # the run's, as the server signs it (the test knows its SECRET_KEY)
    token_answer: dict[str, Any] = field(default_factory=dict)  # /mcp's, once the run ended
    error: BaseException | None = None


@dataclass
class ResumeCase:
    """A run that failed overloaded, and its retry."""

    first: Run = field(default_factory=Run)
    second: Run = field(default_factory=Run)
    error: BaseException | None = None


@dataclass
class Results:
    mcp: dict[str, McpCase]
    resume: dict[str, ResumeCase]
    mock: MockProvider
    seconds: float
    server_logs: dict[str, str] = field(default_factory=dict)


class Api:
    """The server's API as one client sees it, each response kept."""

    def __init__(self, base: str, run: Run) -> None:
        self.base = base
        self.run = run

    def call(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        response = httpx.request(method, f"{self.base}{path}", json=body, headers=AUTH, timeout=30)
        self.run.responses.append(response.text)
        assert response.status_code == expect, f"{method} {path}: {response.text}"
        return response.json()

    def bot(self, name: str, cli: str, prompt: str, workdir: Path, **extra: Any) -> str:
        body = {
            "name": name,
            "prompt_template": prompt,
            "backend_type": cli,
            "model": MODELS[cli],
            "paths": [str(workdir)],
            "timeout_seconds": RUN_TIMEOUT_SECONDS,
            **extra,
        }
        return str(self.call("POST", "/admin/bots", body, 201)["id"])

    def follow(self, execution_id: str, run: Run) -> None:
        """Read the run's stream until `complete`, then the run and its log as the API has them."""
        deadline = time.monotonic() + DEADLINE
        buffer = b""
        url = f"{self.base}/admin/executions/{execution_id}/stream"
        timeout = httpx.Timeout(30, read=DEADLINE)
        with httpx.stream("GET", url, headers=AUTH, timeout=timeout) as response:
            assert response.status_code == 200
            for chunk in response.iter_raw():
                run.output.append(chunk.decode(errors="replace"))
                events, buffer = parse_events(buffer + chunk)
                if any(event.event == "complete" for event in events):
                    break
                assert time.monotonic() < deadline, "the run did not complete in time"
        run.execution = self.call("GET", f"/admin/executions/{execution_id}")
        log = httpx.get(
            f"{self.base}/admin/executions/{execution_id}/log.txt", headers=AUTH, timeout=30
        )
        run.output.append(log.text)
        self.call("GET", f"/admin/executions/{execution_id}/conversation")


def _mcp_case(base: str, cli: str, workdir: Path, secret: str) -> McpCase:
    case = McpCase()
    api = Api(base, case.run)
    try:
        case.sender = api.call("POST", "/admin/agents", {"name": f"{cli}-sender"}, 201)["id"]
        case.receiver = api.call("POST", "/admin/agents", {"name": f"{cli}-receiver"}, 201)["id"]
        prompt = MCP_PROMPT.format(to=case.receiver)
        bot = api.bot(f"{cli}-agent", cli, prompt, workdir, agent_id=case.sender)
        started = api.call("POST", f"/admin/bots/{bot}/run", {}, 202)
        case.token = RunTokens(secret).issue(started["execution_id"], case.sender)
        api.follow(started["execution_id"], case.run)
        inbox = api.call("GET", f"/admin/agents/{case.receiver}/messages/inbox")
        case.inbox = inbox["messages"]
        api.call("GET", f"/admin/agents/{case.sender}/messages/outbox")
        api.call("GET", "/admin/agents")
        api.call("GET", f"/admin/bots/{bot}")
        headers = {"Authorization": f"Bearer {case.token}"}
        case.token_answer = httpx.post(f"{base}/mcp", json={}, headers=headers, timeout=30).json()
    except BaseException as error:  # kept for this case's tests to report
        case.error = error
    return case


def _resume_case(base: str, cli: str, workdir: Path) -> ResumeCase:
    case = ResumeCase()
    api = Api(base, case.first)
    try:
        bot = api.bot(f"{cli}-resume", cli, RESUME_PROMPT.format(key=cli), workdir)
        first = api.call("POST", f"/admin/bots/{bot}/run", {}, 202)["execution_id"]
        api.follow(first, case.first)
        deadline = time.monotonic() + DEADLINE
        while True:  # the retry, due 12-18 s after the overload
            page = api.call("GET", f"/admin/bots/{bot}/executions")["executions"]
            retry = next((e for e in page if e["retry_of"] == first), None)
            if retry is not None:
                break
            assert time.monotonic() < deadline, "no retry of the overloaded run started"
            time.sleep(0.5)
        api.follow(retry["id"], case.second)
    except BaseException as error:
        case.error = error
    return case


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Results]:
    problems = [problem for cli in CLIS if (problem := check_installed(cli))]
    if problems:  # never a skip: without the real CLIs nothing here is verified
        pytest.fail("the pinned CLIs are not installed:\n" + "\n".join(problems))
    provider_port = free_port()
    provider = f"http://127.0.0.1:{provider_port}"
    secret = secrets.token_hex(32)
    with running_provider(provider_port) as mock, contextlib.ExitStack() as stack:
        servers: dict[str, tuple[ServerProcess, int]] = {}
        for cli in CLIS:
            root = tmp_path_factory.mktemp(f"agents-{cli}")
            env = server_env(
                root,
                **cli_env(cli, root / "home", provider),
                PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}",
                SECRET_KEY=secret,
                AGENTED_MAX_CONCURRENT_RUNS="2",
            )
            warm_up(cli, env)
            port = free_port()
            server = start_hypercorn(env, port)
            stack.callback(server.stop)
            servers[cli] = (server, port)
        for server, port in servers.values():
            server.wait_for_output(rf"Running on http://127\.0\.0\.1:{port}\b")
        base = {cli: f"http://127.0.0.1:{port}" for cli, (_, port) in servers.items()}
        began = time.monotonic()
        with ThreadPoolExecutor(max_workers=len(CLIS) + len(RESUMING)) as pool:
            mcp = {
                cli: pool.submit(
                    _mcp_case, base[cli], cli, tmp_path_factory.mktemp(f"mcp-{cli}"), secret
                )
                for cli in CLIS
            }
            resume = {
                cli: pool.submit(_resume_case, base[cli], cli, tmp_path_factory.mktemp(f"re-{cli}"))
                for cli in RESUMING
            }
            done = Results(
                {cli: future.result() for cli, future in mcp.items()},
                {cli: future.result() for cli, future in resume.items()},
                mock,
                0.0,
            )
        done.seconds = time.monotonic() - began
        done.server_logs = {cli: server.output for cli, (server, _) in servers.items()}
        for cli, (server, _) in servers.items():
            for case in (done.mcp[cli], done.resume.get(cli)):
                if case is not None and case.error is not None:
                    case.error.add_note(f"the {cli} server's output:\n{server.output[-4000:]}")
        yield done


def _mcp(results: Results, cli: str) -> McpCase:
    case = results.mcp[cli]
    if case.error is not None:
        raise case.error
    return case


def _requests(results: Results, scenario: str, needle: str) -> list[Request]:
    return [
        request
        for request in results.mock.requests
        if request.scenario == scenario and needle.encode() in request.body
    ]


def _text(run: Run) -> str:
    return "".join(run.output)[-4000:]


@pytest.mark.parametrize("cli", CLIS)
def test_a_real_cli_acting_as_an_agent_sends_a_message_through_agented_s_mcp_tool(
    results: Results, cli: str
) -> None:
    case = _mcp(results, cli)
    offered = {tool for r in _requests(results, MCP, case.receiver) for tool in r.tools}
    assert any(MCP_TOOL in tool for tool in offered), (
        f"{cli} offered the model no MCP tool named like {MCP_TOOL}: {sorted(offered)}\n"
        + _text(case.run)
    )
    execution = case.run.execution
    assert execution["status"] == "success", _text(case.run)
    assert execution["exit_code"] == 0
    assert "MOCK-OK" in _text(case.run), "the answer after the tool's result is not in the log"
    sent = [message for message in case.inbox if message["content"] == MCP_MESSAGE]
    assert len(sent) == 1, f"the other agent's inbox: {case.inbox}\n{_text(case.run)}"
    assert sent[0]["from_agent_id"] == case.sender
    assert sent[0]["from_execution_id"] == execution["id"]


@pytest.mark.parametrize("cli", CLIS)
def test_a_real_cli_s_run_token_appears_in_no_log_and_no_api_response(
    results: Results, cli: str
) -> None:
    case = _mcp(results, cli)
    # The token the test made is the run's: /mcp knows it, and that its run has ended.
    assert case.token_answer == {"error": "the run this token belongs to is not running"}
    signature = case.token.rsplit(".", 1)[1]
    seen = "".join(case.run.output) + "".join(case.run.responses) + results.server_logs[cli]
    assert case.run.execution, "the run was never read"
    assert signature not in seen


@pytest.mark.parametrize("cli", RESUMING)
def test_a_real_cli_s_retry_on_the_same_account_continues_its_session(
    results: Results, cli: str
) -> None:
    case = results.resume[cli]
    if case.error is not None:
        raise case.error
    first, second = case.first.execution, case.second.execution
    assert first["status"] == "failed", _text(case.first)
    assert first["error_message"].startswith("rate limited"), first["error_message"]
    session = first["session_id"]
    assert session, f"{cli} reported no session before it failed: {_text(case.first)}"
    command = second["command"]
    if cli == "claude":
        assert command[command.index("--resume") + 1] == session
    else:
        assert command[-4:-1] == ["resume", session, "--"]
    assert second["status"] == "success", _text(case.second)
    assert second["exit_code"] == 0
    assert "MOCK-OK" in _text(case.second)
    assert second["session_id"] == session, "the retry ran in another session"
    # The retry's request carries the first run's prompt (its turn) as well as its own.
    asked = [r for r in _requests(results, OVERLOAD_ONCE, f"[key:{cli}]") if r.method == "POST"]
    failed = [r.body.count(b"PAPAYA") for r in asked if r.status != 200]
    answered = [r.body.count(b"PAPAYA") for r in asked if r.status == 200]
    assert failed == [1], f"{cli}'s first run asked {len(failed)} times"
    assert answered, f"{cli}'s retry never asked the mock"
    assert max(answered) == 2, f"{cli}'s resumed request does not hold the earlier turn"


def test_the_real_cli_agents_run_within_ninety_seconds(results: Results) -> None:
    took = {
        f"mcp {cli}": case.run.execution.get("duration_ms") for cli, case in results.mcp.items()
    }
    took |= {
        f"resume {cli}": [run.execution.get("duration_ms") for run in (case.first, case.second)]
        for cli, case in results.resume.items()
    }
    print(f"\nreal CLI agents: {results.seconds:.0f} s, each run's ms: {json.dumps(took)}")
    assert results.seconds <= 90, f"the runs took {results.seconds:.0f} s"
