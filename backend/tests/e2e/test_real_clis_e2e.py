"""The real claude, codex, gemini and opencode, run by a real Agented server against a mock.

The CLIs are the npm packages pinned in tests/realcli/package.json (installed by the test
command); tests/realcli/provider.py answers them as the providers would, in each
scenario: an answer, a slow stream, a 429 with and without a reset time, a usage limit,
401, 400 and an overload (claude also in its `json` format, and signed in with a
subscription's token against that subscription's limit). Each CLI runs on a server of
its own with a throwaway home; every (CLI, scenario) run starts at once and the tests
then read what each became: its status, the detection's label, the retry scheduled and
when, the usage recorded, and that its lines reached a viewer while it was still running.

A pinned CLI that is missing or reports another version fails every test here, loudly:
these tests exist to say that Agented works with the real programs.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from agented.executions.verdicts import gemini_daily_reset

from ..realcli.clis import BIN, MODELS, PINNED, check_installed, cli_env, warm_up
from ..realcli.provider import (
    RESET_SECONDS,
    SCENARIOS,
    SUBSCRIPTION_LIMIT,
    MockProvider,
    Request,
    running_provider,
)
from ..support.sse import Event, parse_events
from .server import AUTH, ServerProcess, free_port, server_env, start_hypercorn

CLIS = tuple(PINNED)
# The servers, each with its CLI's throwaway home: the backend, and whether claude is
# signed in with a subscription's token instead of an API key.
SERVERS = {cli: (cli, False) for cli in CLIS} | {"claude-subscription": ("claude", True)}
# Each run's name: its backend, the bot settings that make it a variant, and its server.
RUNNERS: dict[str, tuple[str, dict[str, Any], str]] = {cli: (cli, {}, cli) for cli in CLIS} | {
    "claude-json": ("claude", {"output_format": "json"}, "claude"),
    "claude-subscription": ("claude", {}, "claude-subscription"),
}
# claude's `json` format prints the run as one array when it ends: no live lines to see.
SCENARIOS_OF = {cli: SCENARIOS for cli in CLIS} | {
    "claude-json": ("ok", "429", "usage-limit", "overload", "401"),
    "claude-subscription": ("ok", SUBSCRIPTION_LIMIT),
}


def cases(*scenarios: str) -> list[Any]:
    """The (run name, scenario) pairs that ran, for parametrize."""
    return [
        pytest.param(name, scenario, id=f"{scenario}-{name}")
        for scenario in scenarios
        for name in RUNNERS
        if scenario in SCENARIOS_OF[name]
    ]


# A run that takes longer has hung on something (the closed network): Agented kills it.
RUN_TIMEOUT_SECONDS = 120
DEADLINE = RUN_TIMEOUT_SECONDS + 60.0
PROMPT = "Answer in one short sentence: what is 2+2? [mock:{scenario}]"
# Prompts the CLIs' own parsers would take for options, were they not placed where no
# parser reaches (a Markdown list, YAML front matter with quotes): they must just work.
PROMPTS = {
    "ok": "- a Markdown list item\n- what is 2+2? [mock:ok]",
    "slow": '---\ntitle: "front matter"\n---\nWhat is 2+2? [mock:slow]',
}

# The request of each CLI that carries its answer (claude's HEAD /, gemini's router and
# opencode's title requests are others).
ANSWER_PATHS = {
    "claude": "/v1/messages",
    "codex": "/v1/responses",
    "gemini": ":streamGenerateContent",
    "opencode": "/chat/completions",
}
# The usage each CLI reports for the mock's answer (tests/realcli/provider.py's counts
# as each CLI passes them on).
USAGE = {
    "claude": {"input_tokens": 12, "output_tokens": 9},
    "codex": {"input_tokens": 100, "output_tokens": 9, "cache_read_input_tokens": 20},
    "gemini": {"input_tokens": 100, "output_tokens": 9},
    "opencode": {"input_tokens": 100, "output_tokens": 9},
}
CLAUDE_REFUSALS = {
    "401": "Invalid API key · Fix external API key",
    "400": "API Error: 400 messages: field required",
}
RATE, USAGE_LIMIT, OVERLOAD = "rate limit", "usage limit", "overload"
# What Agented makes of each failure: (kind, the label, whether the provider's reset
# time reaches Agented). A reset reaches it only where the CLI prints it: claude and
# codex do not pass on a 429's retry-after; gemini prints the API's RetryInfo, opencode
# the response headers; codex's and claude's usage limits name their reset.
VERDICTS: dict[tuple[str, str], tuple[str, str, bool]] = {
    ("claude", "429"): (RATE, "Claude API rate limit reached (429)", False),
    ("claude", "429-reset"): (RATE, "Claude API rate limit reached (429)", False),
    ("claude", "usage-limit"): (USAGE_LIMIT, "Claude API spend limit reached", True),
    ("claude", "overload"): (OVERLOAD, "Claude API overloaded (529)", False),
    ("claude", SUBSCRIPTION_LIMIT): (USAGE_LIMIT, "Claude usage limit reached (five_hour)", True),
    ("codex", "429"): (RATE, "Codex: rate limited by the provider", False),
    ("codex", "429-reset"): (RATE, "Codex: rate limited by the provider", False),
    ("codex", "usage-limit"): (USAGE_LIMIT, "Codex usage limit reached", True),
    ("codex", "overload"): (OVERLOAD, "Codex: provider overloaded", False),
    ("gemini", "429"): (RATE, "Gemini API rate limit reached (429)", False),
    ("gemini", "429-reset"): (RATE, "Gemini API rate limit reached (429)", True),
    ("gemini", "usage-limit"): (USAGE_LIMIT, "Gemini usage limit reached (daily quota)", True),
    ("gemini", "overload"): (OVERLOAD, "Gemini API overloaded (503)", False),
    ("opencode", "429"): (RATE, "opencode: rate limited by the provider", False),
    ("opencode", "429-reset"): (RATE, "opencode: rate limited by the provider", True),
    ("opencode", "usage-limit"): (USAGE_LIMIT, "opencode quota exhausted", False),
    ("opencode", "overload"): (OVERLOAD, "opencode: provider overloaded", False),
}
# retry_policy.RetryPolicy's defaults: first backoff 60 s (15 s for an overload), ±20 %;
# after a known reset 30 s, plus up to 60 s more. Clocks print minutes, hence the slack.
BACKOFF = {RATE: (48.0, 72.0), USAGE_LIMIT: (48.0, 72.0), OVERLOAD: (12.0, 18.0)}
AFTER_RESET = (30.0 - 60.0, 90.0)
SLACK = 10.0
# How much earlier than the mock's stamp of a streamed answer's end its run may end.
ANSWER_END_SLACK = 0.5
# The set is meant to take at most 3 minutes (the last test says how long it took);
# on a busy machine the runs may take longer, which is reported there, not a hang here.
pytestmark = pytest.mark.timeout(RUN_TIMEOUT_SECONDS * 8)


@dataclass
class Run:
    """What one (CLI, scenario) run became, as a client saw it."""

    execution: dict[str, Any] = field(default_factory=dict)
    events: list[tuple[float, Event]] = field(default_factory=list)  # (time.time(), event)
    retry: dict[str, Any] | None = None
    error: BaseException | None = None

    def log_times(self) -> list[float]:
        return [at for at, event in self.events if event.event == "log"]


@dataclass
class Results:
    runs: dict[tuple[str, str], Run]
    mock: MockProvider
    seconds: float


def _run_case(server: ServerProcess, base: str, name: str, scenario: str, workdir: Path) -> Run:
    run = Run()
    cli, settings, _ = RUNNERS[name]
    try:
        bot = httpx.post(
            f"{base}/admin/bots",
            json={
                "name": f"{name}-{scenario}",
                "prompt_template": PROMPTS.get(scenario, PROMPT.format(scenario=scenario)),
                "backend_type": cli,
                "model": MODELS[cli],
                "paths": [str(workdir)],
                "timeout_seconds": RUN_TIMEOUT_SECONDS,
                **settings,
            },
            headers=AUTH,
            timeout=30,
        )
        assert bot.status_code == 201, bot.text
        started = httpx.post(
            f"{base}/admin/bots/{bot.json()['id']}/run", json={}, headers=AUTH, timeout=30
        )
        assert started.status_code == 202, started.text
        execution_id = started.json()["execution_id"]
        _follow(f"{base}/admin/executions/{execution_id}/stream", run)
        run.execution = httpx.get(
            f"{base}/admin/executions/{execution_id}", headers=AUTH, timeout=30
        ).json()
        run.retry = _retry(server, base, execution_id, run.execution)
    except BaseException as error:  # kept for this case's test to report
        error.add_note(f"the server's output:\n{server.output[-4000:]}")
        run.error = error
    return run


def _retry(
    server: ServerProcess, base: str, execution_id: str, execution: dict[str, Any]
) -> dict[str, Any] | None:
    """The retry scheduled for a run, from the server's log line (its attempt and due time,
    whenever it is read) and, while it is still pending, the API (its reason); a pending
    one is cancelled, so that it does not run while the other cases go on."""
    scheduled = rf"execution {execution_id}: retry (\d+) due at (\S+)"
    if not str(execution.get("error_message")).startswith("rate limited"):
        found = re.search(scheduled, server.output)
        return None if found is None else {"attempt": int(found[1]), "due_at": found[2]}
    found = server.wait_for_output(scheduled, timeout=30)
    retry: dict[str, Any] = {"attempt": int(found[1]), "due_at": found[2]}
    pending = httpx.get(f"{base}/admin/retries", headers=AUTH, timeout=30).json()["retries"]
    for entry in pending:
        if entry["execution_id"] == execution_id:
            retry["reason"] = entry["reason"]
            httpx.delete(f"{base}/admin/retries/{entry['id']}", headers=AUTH, timeout=30)
    return retry


def _follow(url: str, run: Run) -> None:
    """Read the stream until `complete`, noting when each event arrived."""
    deadline = time.monotonic() + DEADLINE
    buffer = b""
    timeout = httpx.Timeout(30, read=DEADLINE)
    with httpx.stream("GET", url, headers=AUTH, timeout=timeout) as response:
        assert response.status_code == 200
        for chunk in response.iter_raw():
            new, buffer = parse_events(buffer + chunk)
            now = time.time()
            run.events.extend((now, event) for event in new)
            if any(event.event == "complete" for event in new):
                return
            assert time.monotonic() < deadline, "the run did not complete in time"
    raise AssertionError("the stream ended without a complete event")


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Results]:
    problems = [problem for cli in CLIS if (problem := check_installed(cli))]
    if problems:  # never a skip: without the real CLIs nothing here is verified
        pytest.fail("the pinned CLIs are not installed:\n" + "\n".join(problems))
    provider_port = free_port()
    provider = f"http://127.0.0.1:{provider_port}"
    with running_provider(provider_port) as mock, contextlib.ExitStack() as stack:
        bases: dict[str, str] = {}
        servers: dict[str, tuple[ServerProcess, int]] = {}
        for profile, (cli, subscription) in SERVERS.items():
            root = tmp_path_factory.mktemp(f"realcli-{profile}")
            env = server_env(
                root,
                **cli_env(cli, root / "home", provider, subscription=subscription),
                PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}",
                AGENTED_MAX_CONCURRENT_RUNS="2",
            )
            warm_up(cli, env)
            port = free_port()
            server = start_hypercorn(env, port)
            stack.callback(server.stop)
            servers[profile] = (server, port)
            bases[profile] = f"http://127.0.0.1:{port}"
        for server, port in servers.values():
            server.wait_for_output(rf"Running on http://127\.0\.0\.1:{port}\b")
        began = time.monotonic()
        runs_to_make = [
            (name, scenario)
            for scenario in (*SCENARIOS, SUBSCRIPTION_LIMIT)
            for name in RUNNERS
            if scenario in SCENARIOS_OF[name]
        ]
        with ThreadPoolExecutor(max_workers=len(runs_to_make)) as pool:
            futures = {
                (name, scenario): pool.submit(
                    _run_case,
                    servers[RUNNERS[name][2]][0],
                    bases[RUNNERS[name][2]],
                    name,
                    scenario,
                    tmp_path_factory.mktemp(f"work-{name}-{scenario}"),
                )
                for name, scenario in runs_to_make
            }
            runs = {case: future.result() for case, future in futures.items()}
        yield Results(runs, mock, time.monotonic() - began)


def _run(results: Results, cli: str, scenario: str) -> Run:
    run = results.runs[(cli, scenario)]
    if run.error is not None:
        raise run.error
    return run


def _answer(results: Results, cli: str, scenario: str) -> Request:
    answers = [
        request
        for request in results.mock.requests
        if request.scenario == scenario and request.path.endswith(ANSWER_PATHS[cli])
    ]
    assert answers, f"{cli} never asked the mock for its answer"
    return answers[-1]


def _seconds(iso_time: str) -> float:
    return datetime.fromisoformat(iso_time).timestamp()


def _reset_seconds(cli: str, scenario: str, finished_at: str) -> float:
    """How long after the run its limit resets: the mock's reset, or for Gemini's daily
    quota, whose error names no time, the next midnight Pacific (Google's reset)."""
    if (cli, scenario) != ("gemini", "usage-limit"):
        return RESET_SECONDS
    finished = datetime.fromisoformat(finished_at)
    return (gemini_daily_reset(finished) - finished).total_seconds()


def _output(run: Run) -> str:
    return "\n".join(
        str(event.data.get("content", "")) for _, event in run.events if event.event == "log"
    )[-3000:]


@pytest.mark.parametrize(("name", "scenario"), cases("ok", "slow"))
def test_a_real_cli_answering_succeeds_with_its_usage_recorded(
    results: Results, name: str, scenario: str
) -> None:
    run = _run(results, name, scenario)
    cli = RUNNERS[name][0]
    execution = run.execution
    assert execution["status"] == "success", _output(run)
    assert execution["exit_code"] == 0
    assert "MOCK-OK" in _output(run)
    usage = execution["usage"]
    assert usage is not None, "no usage recorded"
    assert {name: usage[name] for name in USAGE[cli]} == USAGE[cli]
    if cli == "claude":
        assert usage["total_cost_usd"] > 0
    if cli == "opencode":
        assert usage["total_cost_usd"] == 0  # opencode reports a cost, 0 for a free model
    assert run.retry is None


@pytest.mark.parametrize("cli", ["claude", "codex", "gemini"])
def test_a_real_cli_s_lines_reach_a_viewer_while_the_provider_is_still_streaming(
    results: Results, cli: str
) -> None:
    run = _run(results, cli, "slow")
    answer = _answer(results, cli, "slow")
    assert answer.finished - answer.started >= 2.0, "the slow stream was not slow"
    times = run.log_times()
    assert times, "no lines at all"
    assert min(times) < answer.finished, (
        f"{cli}'s first line reached the viewer {min(times) - answer.finished:.2f} s after "
        "the provider finished; lines are not live"
    )
    complete = next(at for at, event in run.events if event.event == "complete")
    # The mock stamps `finished` once its last write has returned; by then the CLI may
    # have read the end of the stream and exited, so the run ends "before" it by a hair.
    assert complete >= answer.finished - ANSWER_END_SLACK, "the run ended mid-answer"


def test_opencode_s_events_reach_a_viewer_as_printed_before_it_exits(results: Results) -> None:
    # opencode prints a step's events when the step ends, so a one-step answer shows
    # nothing while the provider streams; what it prints still arrives before it exits.
    run = _run(results, "opencode", "slow")
    printed = [
        json.loads(str(event.data["content"]))["timestamp"] / 1000
        for _, event in run.events
        if event.event == "log" and str(event.data.get("content", "")).startswith("{")
    ]
    assert printed, "opencode printed no events"
    assert min(run.log_times()) < _seconds(run.execution["finished_at"])
    assert min(run.log_times()) - min(printed) < 5.0, "its first event took over 5 s to arrive"


@pytest.mark.parametrize(
    ("name", "scenario"), cases("429", "429-reset", "usage-limit", "overload", SUBSCRIPTION_LIMIT)
)
def test_a_real_cli_that_is_limited_fails_with_its_label_and_a_retry_at_the_right_time(
    results: Results, name: str, scenario: str
) -> None:
    run = _run(results, name, scenario)
    kind, label, reset_known = VERDICTS[(RUNNERS[name][0], scenario)]
    execution = run.execution
    assert execution["status"] == "failed", _output(run)
    assert execution["error_message"] == f"rate limited: {label}", _output(run)
    assert run.retry is not None, "no retry was scheduled"
    assert run.retry.get("reason", label) == label  # when read while still pending
    assert run.retry["attempt"] == execution["attempt"] + 1
    wait = _seconds(run.retry["due_at"]) - _seconds(execution["finished_at"])
    if reset_known:
        reset = _reset_seconds(RUNNERS[name][0], scenario, execution["finished_at"])
        low, high = (reset + bound for bound in AFTER_RESET)
    else:
        low, high = BACKOFF[kind]
    assert low - SLACK <= wait <= high + SLACK, f"{kind}: retry due {wait:.0f} s after the run"


@pytest.mark.parametrize(("name", "scenario"), cases("401", "400"))
def test_a_real_cli_refused_for_a_bad_key_or_request_fails_without_a_retry(
    results: Results, name: str, scenario: str
) -> None:
    run = _run(results, name, scenario)
    execution = run.execution
    assert execution["status"] == "failed", _output(run)
    assert not execution["error_message"].startswith("rate limited"), execution["error_message"]
    assert run.retry is None
    if RUNNERS[name][0] == "claude":  # its own words, in either output format
        assert execution["error_message"] == CLAUDE_REFUSALS[scenario]


def test_the_whole_real_cli_set_runs_within_three_minutes(results: Results) -> None:
    took = {
        f"{cli} {scenario}": f"{run.execution.get('status')} {run.execution.get('duration_ms')} ms"
        for (cli, scenario), run in results.runs.items()
    }
    print(f"\nreal CLIs: {len(results.runs)} runs in {results.seconds:.0f} s: {took}")
    assert results.seconds <= 180, f"{len(results.runs)} runs took {results.seconds:.0f} s"
