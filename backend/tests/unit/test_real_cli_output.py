"""Verdicts, usage and error text from the verbatim output of the real CLIs.

The files in tests/fixtures/cli-output/real/ are what claude 2.1.197, codex
0.171.0, gemini 0.61.0 and opencode 1.18.33 printed against a mock provider
(README there); each is fed to the observer line by line, both streams, as a run
would be, with the exit code the CLI returned.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agented.executions.output import OutputObserver, Usage
from agented.executions.verdicts import RateLimit

REAL = Path(__file__).parent.parent / "fixtures" / "cli-output" / "real"
NOW = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)  # when they were recorded


def observed(case: str) -> tuple[OutputObserver, int]:
    backend_type = case.split("-")[0]
    observer = OutputObserver(backend_type, now=lambda: NOW)
    for stream in ("stdout", "stderr"):
        for line in (REAL / f"{case}.{stream}").read_text().splitlines():
            observer.feed(stream, line)
    exit_code: int = json.loads((REAL / f"{case}.meta.json").read_text())["exit_code"]
    return observer, exit_code


def local(*wall: int) -> datetime:
    """A wall-clock time on the server (codex prints its reset time without a zone) in UTC."""
    return datetime(*wall).astimezone().astimezone(UTC)  # type: ignore[arg-type]


RATE_LIMIT_429 = RateLimit("Claude API rate limit reached (429)", None, transient=False)
FIVE_HOUR = "Claude usage limit reached (five_hour)"
VERDICTS = {
    "claude-429": RATE_LIMIT_429,
    "claude-429-json": RATE_LIMIT_429,
    "claude-529": RateLimit("Claude API overloaded (529)", None, transient=True),
    "claude-oauth-429": RateLimit(FIVE_HOUR, datetime(2026, 12, 1, 0, 47, 38, tzinfo=UTC), False),
    "claude-oauth-429-json": RateLimit(
        FIVE_HOUR, datetime(2026, 12, 1, 0, 47, 45, tzinfo=UTC), False
    ),
    "codex-429": RateLimit("Codex: rate limited by the provider", None, transient=False),
    "codex-429usage": RateLimit("Codex usage limit reached", local(2026, 12, 1, 1, 48), False),
    "codex-503": RateLimit("Codex: provider overloaded", None, transient=True),
    # "Suggested retry after 30s." in the error document.
    "gemini-429": RateLimit(
        "Gemini API rate limit reached (429)", NOW + timedelta(seconds=30), False
    ),
    # The `retry-after: 30` header is a hint once the status said 429; never a trigger.
    "opencode-429": RateLimit(
        "opencode: rate limited by the provider", NOW + timedelta(seconds=30), False
    ),
    "opencode-503": RateLimit("opencode: provider overloaded", None, transient=True),
}
CASES = sorted(path.name.removesuffix(".meta.json") for path in REAL.glob("*.meta.json"))


def test_every_recorded_case_is_checked() -> None:
    assert len(CASES) == 30
    assert set(VERDICTS) <= set(CASES)


@pytest.mark.parametrize("case", CASES)
def test_each_real_run_gets_its_verdict(case: str) -> None:
    observer, exit_code = observed(case)
    assert observer.rate_limit(exit_code) == VERDICTS.get(case)


def test_errors_that_are_not_limits_are_not_limits() -> None:
    # 401s (opencode's carries response headers; gemini's has `status: 401` in stack
    # traces), refused arguments, an untrusted directory, an unknown model.
    for case in set(CASES) - set(VERDICTS):
        observer, exit_code = observed(case)
        assert observer.rate_limit(exit_code if exit_code else 1) is None, case


def test_opencode_headers_alone_never_make_a_rate_limit() -> None:
    line = (REAL / "opencode-429.stdout").read_text()
    event = json.loads(line)
    event["error"]["data"].update(statusCode=400, message="bad request", responseBody="{}")
    observer = OutputObserver("opencode", now=lambda: NOW)
    observer.feed("stdout", json.dumps(event))
    assert "x-ratelimit-remaining-requests" in json.dumps(event)
    assert observer.rate_limit(1) is None


CLAUDE_OK = Usage(12, 9, 0, 0, 0.000285, 1)
USAGE = {
    "claude-ok": CLAUDE_OK,
    "claude-ok-json": CLAUDE_OK,
    "claude-slow": Usage(12, 108, 0, 0, 0.00276, 1),
    "claude-oauth-ok": Usage(12, 9, 0, 0, 0.000171, 1),
    "codex-ok": Usage(input_tokens=120, output_tokens=9, cache_read_input_tokens=20),
    "gemini-ok": Usage(input_tokens=200, output_tokens=18, cache_read_input_tokens=0),
    "opencode-ok": Usage(
        input_tokens=100,
        output_tokens=9,
        cache_creation_input_tokens=0,
        cache_read_input_tokens=0,
        total_cost_usd=0.0,
    ),
}


@pytest.mark.parametrize(("case", "usage"), USAGE.items())
def test_usage_of_each_real_run(case: str, usage: Usage) -> None:
    assert observed(case)[0].usage == usage


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("claude-401", "Invalid API key · Fix external API key"),
        ("claude-429-json", "API Error: Request rejected (429) · This request would exceed"),
        ("claude-oauth-429-json", "You've hit your session limit · resets 12:47am (UTC)"),
        ("claude-ok-json", None),
    ],
)
def test_claude_own_error_message_in_both_formats(case: str, message: str | None) -> None:
    error = observed(case)[0].result_error
    assert error == message if message is None else (error or "").startswith(message)
