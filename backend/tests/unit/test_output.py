"""Rate-limit verdicts and usage from CLI output: real message shapes, and traps that are not."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from agented.executions.output import OutputObserver, Usage
from agented.executions.verdicts import RateLimit, gemini_error

from ..fakes.fake_cli import CLAUDE_429, CLAUDE_529
from ..fakes.fake_cli import CODEX_LIMIT as CODEX_IN

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)  # a Tuesday; New York is on daylight time


def observe(backend_type: str, *lines: str, stream: str = "stdout") -> OutputObserver:
    observer = OutputObserver(backend_type, now=lambda: NOW)
    for line in lines:
        observer.feed(stream, line)
    return observer


def event(**fields: object) -> str:
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=False)


def local(*wall: int) -> datetime:
    """A wall-clock time on the server (zone-less CLI messages print those) in UTC."""
    return datetime(*wall).astimezone().astimezone(UTC)  # type: ignore[arg-type]


def limit(reason: str, resets_at: datetime | None = None, transient: bool = False) -> RateLimit:
    return RateLimit(reason, resets_at, transient)


SPEND_CAP = (
    'API Error: 400 {"type":"error","error":{"type":"invalid_request_error","message":"You have '
    "reached your specified API usage limits. You will regain access on 2026-04-01 at 00:00 UTC."
    '"}}'
)
CODEX_AT = (
    "ERROR: You've hit your usage limit. Upgrade to Plus to continue using Codex "
    "(https://openai.com/chatgpt/pricing), or try again at Jul 5th, 2026 8:19 PM."
)
CODEX_BODY = (
    'unexpected status 429 Too Many Requests: {"error":{"type":"usage_limit_reached",'
    '"message":"The usage limit has been reached","resets_at":1751746740,"resets_in_seconds":3600}}'
)
GEMINI_DELAY = (
    '[API Error: {"error":{"code":429,"message":"You exceeded your current quota, please check '
    'your plan and billing details.","status":"RESOURCE_EXHAUSTED","details":[{"@type":'
    '"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"56s"}]}}]'
)

# (backend, line as printed, verdict) — plain text, as the CLIs print it on stdout or stderr.
TEXT_MESSAGES = [
    (
        "claude",
        "Claude AI usage limit reached|1755615600",
        limit("Claude usage limit reached", datetime(2025, 8, 19, 15, tzinfo=UTC)),
    ),
    ("claude", "Claude AI usage limit reached", limit("Claude usage limit reached")),
    (
        "claude",
        "You've hit your limit · resets 2pm (Asia/Shanghai)",
        limit("Claude usage limit reached", datetime(2026, 3, 11, 6, tzinfo=UTC)),
    ),
    (
        "claude",
        "You've hit your session limit · resets 8pm (America/New_York)",
        limit("Claude session limit reached", datetime(2026, 3, 11, 0, tzinfo=UTC)),
    ),
    (
        "claude",
        "You\u2019ve hit your session limit · resets 8:30pm (Asia/Tokyo)",
        limit("Claude session limit reached", datetime(2026, 3, 11, 11, 30, tzinfo=UTC)),
    ),
    (
        "claude",
        "You've hit your weekly limit · resets Jul 31, 2am (UTC)",
        limit("Claude weekly limit reached", datetime(2026, 7, 31, 2, tzinfo=UTC)),
    ),
    (
        "claude",
        "You've hit your weekly limit · resets Jan 2 at 7pm (Europe/Berlin)",
        limit("Claude weekly limit reached", datetime(2027, 1, 2, 18, tzinfo=UTC)),
    ),
    (
        "claude",
        "  \u23bf  Weekly limit reached · resets 10am (Asia/Seoul) · /upgrade to Max",
        limit("Claude weekly limit reached", datetime(2026, 3, 11, 1, tzinfo=UTC)),
    ),
    (
        "claude",
        "You've hit your limit · resets 2pm (Mars/Olympus_Mons)",
        limit("Claude usage limit reached"),
    ),
    ("claude", "You've hit your limit", limit("Claude usage limit reached")),
    ("claude", CLAUDE_429, limit("Claude API rate limit reached (429)")),
    ("claude", "API Error: 429", limit("Claude API rate limit reached (429)")),
    ("claude", CLAUDE_529, limit("Claude API overloaded (529)", transient=True)),
    (
        "claude",
        SPEND_CAP,
        limit("Claude API spend limit reached", datetime(2026, 4, 1, tzinfo=UTC)),
    ),
    (
        "codex",
        CODEX_IN,
        limit("Codex usage limit reached", NOW + timedelta(days=5, hours=22, minutes=11)),
    ),
    (
        "codex",
        "You've hit your usage limit. Try again in 1 hour and 1 minute.",
        limit("Codex usage limit reached", NOW + timedelta(minutes=61)),
    ),
    ("codex", CODEX_AT, limit("Codex usage limit reached", local(2026, 7, 5, 20, 19))),
    (
        "codex",
        "You've hit your usage limit. Upgrade to Pro or try again later.",
        limit("Codex usage limit reached"),
    ),
    (
        "codex",
        CODEX_BODY,
        limit("Codex usage limit reached", datetime(2025, 7, 5, 20, 19, tzinfo=UTC)),
    ),
    (
        "codex",
        'ERROR: status 429: {"error":{"type":"usage_limit_reached","resets_in_seconds":3600}}',
        limit("Codex usage limit reached", NOW + timedelta(hours=1)),
    ),
    (
        "gemini",
        "Resource has been exhausted (e.g. check quota).",
        limit("Gemini quota exhausted"),
    ),
    (
        "gemini",
        "You exceeded your current quota, please check your plan and billing details.",
        limit("Gemini quota exhausted"),
    ),
    ("gemini", '    "status": "RESOURCE_EXHAUSTED"', limit("Gemini quota exhausted")),
    (
        "gemini",
        "Quota exceeded for quota metric 'Gemini 2.5 Pro Requests' and limit 'per day'",
        limit("Gemini quota exhausted"),
    ),
    (
        "gemini",
        GEMINI_DELAY,
        limit("Gemini quota exhausted", NOW + timedelta(seconds=56)),
    ),
]


@pytest.mark.parametrize(("backend_type", "line", "expected"), TEXT_MESSAGES)
@pytest.mark.parametrize("stream", ["stdout", "stderr"])
def test_real_limit_messages_are_recognised(
    backend_type: str, line: str, expected: RateLimit, stream: str
) -> None:
    observer = observe(backend_type, "starting", line, "bye", stream=stream)
    assert observer.rate_limit(1) == expected


@pytest.mark.parametrize(("backend_type", "line", "expected"), TEXT_MESSAGES)
def test_a_run_that_exits_0_is_never_rate_limited(
    backend_type: str, line: str, expected: RateLimit
) -> None:
    assert observe(backend_type, line).rate_limit(0) is None


@pytest.mark.parametrize("exit_code", [1, 2, -9, None])
def test_any_other_ending_gives_the_verdict(exit_code: int | None) -> None:
    assert observe("claude", CLAUDE_429).rate_limit(exit_code) is not None


@pytest.mark.parametrize(
    ("line", "hour", "minute"),
    [
        ("5-hour limit reached ∙ resets 3pm", 15, 0),
        ("You've hit your limit · resets 12:15am", 0, 15),
        ("You've hit your usage limit. Try again at 3:51 PM.", 15, 51),
    ],
)
def test_zone_less_reset_times_are_the_next_such_time_on_the_server_clock(
    line: str, hour: int, minute: int
) -> None:
    verdict = observe("claude", line).rate_limit(1)
    assert verdict is not None
    assert verdict.resets_at is not None
    assert NOW < verdict.resets_at <= NOW + timedelta(days=1, hours=1)  # a DST change fits
    on_server = verdict.resets_at.astimezone()
    assert (on_server.hour, on_server.minute) == (hour, minute)


def test_claude_rate_limit_event() -> None:
    info = {
        "status": "rejected",
        "resetsAt": 1778565600,
        "rateLimitType": "five_hour",
        "isUsingOverage": False,
    }
    observer = observe("claude", event(type="rate_limit_event", rate_limit_info=info))
    assert observer.rate_limit(1) == limit(
        "Claude usage limit reached (five_hour)", datetime(2026, 5, 12, 6, tzinfo=UTC)
    )


@pytest.mark.parametrize(
    "info",
    [
        {"status": "allowed"},
        {"status": "allowed_warning", "resetsAt": 1778565600, "rateLimitType": "seven_day"},
        {"status": "rejected", "resetsAt": 1778565600, "isUsingOverage": True},
        "rejected",
    ],
)
def test_rate_limit_events_that_are_not_refusals(info: object) -> None:
    assert (
        observe("claude", event(type="rate_limit_event", rate_limit_info=info)).rate_limit(1)
        is None
    )


def test_rate_limit_event_spliced_into_another_line_is_still_read() -> None:
    spliced = (
        '{"type":"assistant","message":{"content":[{"type":"text","text":"hel'
        '{"type":"rate_limit_event","rate_limit_info":{"status":"rejected","resetsAt":1778565600}}'
    )
    observer = observe("claude", spliced, 'lo"}]}}')
    assert observer.rate_limit(1) == limit(
        "Claude usage limit reached", datetime(2026, 5, 12, 6, tzinfo=UTC)
    )


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (
            {
                "subtype": "success",
                "is_error": True,
                "result": "Claude AI usage limit reached|1755615600",
            },
            limit("Claude usage limit reached", datetime(2025, 8, 19, 15, tzinfo=UTC)),
        ),
        (
            {"subtype": "success", "is_error": True, "result": CLAUDE_529},
            limit("Claude API overloaded (529)", transient=True),
        ),
        # The model's own last words: only exact limit shapes count, not a loose "429".
        (
            {"subtype": "error_max_turns", "is_error": True, "result": "Added retry on HTTP 429"},
            None,
        ),
        ({"subtype": "success", "is_error": False, "result": CLAUDE_429}, None),
    ],
)
def test_claude_error_result(result: dict[str, object], expected: RateLimit | None) -> None:
    observer = observe("claude", event(type="result", **result))
    assert observer.rate_limit(1) == expected


@pytest.mark.parametrize(
    ("result", "message"),
    [
        ({"subtype": "success", "is_error": True, "result": CLAUDE_429}, CLAUDE_429),
        ({"subtype": "error_max_turns", "is_error": True}, "Claude stopped: error_max_turns"),
        (
            {"subtype": "error_during_execution", "result": " "},
            "Claude stopped: error_during_execution",
        ),
        ({"subtype": "error_during_execution", "errors": ["boom", 3, "bang"]}, "boom; bang"),
        ({"is_error": True}, "Claude reported an error"),
        ({"subtype": "success", "is_error": False, "result": "All done"}, None),
    ],
)
def test_result_error_is_claude_own_account_of_the_failure(
    result: dict[str, object], message: str | None
) -> None:
    assert observe("claude", event(type="result", **result)).result_error == message


CODEX_STREAM_ERROR = "stream error: exceeded retry limit, last status: 429 Too Many Requests"

# (backend, JSON line, verdict) — events that are errors by their JSON type.
ERROR_EVENTS = [
    ("codex", event(type="error", message=CODEX_IN), None),
    ("codex", event(type="turn.failed", error={"message": CODEX_AT}), None),
    ("codex", event(id="0", msg={"type": "error", "message": CODEX_IN}), None),
    (
        "codex",
        event(type="error", message=CODEX_STREAM_ERROR),
        "Codex: rate limited by the provider",
    ),
    (
        "opencode",
        event(
            type="error",
            error={
                "name": "APIError",
                "data": {"message": "Rate limit exceeded", "statusCode": 429},
            },
        ),
        "opencode: rate limited by the provider",
    ),
    ("claude", event(type="error", error={"type": "rate_limit_error", "message": "x"}), None),
    ("codex", event(error={"type": "usage_limit_reached", "resets_at": 1751746740}), None),
    ("gemini", event(error={"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "x"}), None),
]


@pytest.mark.parametrize(("backend_type", "line", "reason"), ERROR_EVENTS)
def test_error_events_are_read(backend_type: str, line: str, reason: str | None) -> None:
    verdict = observe(backend_type, line).rate_limit(1)
    assert verdict is not None
    if reason is not None:
        assert verdict.reason == reason
    assert observe(backend_type, line).rate_limit(0) is None


def test_overloaded_error_event_is_transient() -> None:
    line = event(type="error", error={"type": "overloaded_error", "message": "Overloaded"})
    assert observe("claude", line).rate_limit(1) == limit(
        "Claude API overloaded (529)", transient=True
    )
    opencode = observe("opencode", event(type="error", error={"message": "server overloaded"}))
    assert opencode.rate_limit(1) == limit("opencode: provider overloaded", transient=True)


def test_gemini_error_document_on_stderr_is_read_line_by_line() -> None:
    document = json.dumps(
        {
            "error": {
                "type": "Error",
                "message": "Resource has been exhausted (e.g. check quota).",
                "code": 429,
            }
        },
        indent=2,
    )
    observer = observe("gemini", *document.splitlines(), stream="stderr")
    assert observer.rate_limit(1) == limit("Gemini API rate limit reached (429)")


ALL_THE_MESSAGES = " / ".join(
    [
        *(CLAUDE_429, CLAUDE_529, SPEND_CAP, CODEX_IN, CODEX_BODY, GEMINI_DELAY),
        *("Claude AI usage limit reached|1755615600", "You've hit your limit · resets 2pm (UTC)"),
    ]
)

# Output that quotes, greps or implements rate limiting; a failing run with it is not limited.
TRAPS = [
    (
        "claude",
        event(type="assistant", message={"content": [{"type": "text", "text": ALL_THE_MESSAGES}]}),
    ),
    (
        "claude",
        event(
            type="user",
            message={
                "content": [{"type": "tool_result", "content": ALL_THE_MESSAGES, "is_error": True}]
            },
        ),
    ),
    (
        "claude",
        event(
            type="assistant",
            message={
                "content": [{"type": "tool_use", "input": {"error": "429 rate limit exceeded"}}]
            },
        ),
    ),
    ("claude", event(type="result", subtype="success", is_error=False, result=ALL_THE_MESSAGES)),
    ("claude", event(type="system", subtype="init", error="rate_limit_error 429")),
    (
        "codex",
        event(
            type="item.completed",
            item={
                "type": "command_execution",
                "aggregated_output": ALL_THE_MESSAGES,
                "error": "429",
            },
        ),
    ),
    (
        "codex",
        event(type="item.completed", item={"type": "agent_message", "text": ALL_THE_MESSAGES}),
    ),
    ("gemini", f'  "response": {json.dumps(ALL_THE_MESSAGES)},'),
    ("codex", "    if status == 429:"),
    ("codex", "+        if response.status_code == 429:  # rate limit"),
    ("codex", "    # handle rate_limit_error and overloaded_error from the API"),
    ("codex", 'raise RateLimitError("rate limit exceeded, retry later")'),
    ("codex", "retry on 429 Too Many Requests with exponential backoff"),
    ("codex", "src/limits.py:12: MAX_LIMIT = 100  # the usage limit reached per day"),
    ("codex", "grep -rn 'usage limit' docs/ | wc -l"),
    ("codex", "quota = compute_quota(user)  # RESOURCE_EXHAUSTED_ERRORS are mapped elsewhere"),
    ("codex", "the iterator is exhausted; the operator is overloaded for Vec"),
    ("codex", "input_tokens: 4291, output_tokens: 1429"),
    ("codex", "API Errors: 4290 total"),
    ("codex", "You have reached your limit of 3 free projects"),
    ("claude", "The rate limit reached 90% · please slow down"),
    ("claude", '{not json but mentions rate_limit_error and "error"'),
]


@pytest.mark.parametrize(("backend_type", "line"), TRAPS)
@pytest.mark.parametrize("stream", ["stdout", "stderr"])
def test_mentions_of_limits_in_content_are_not_limits(
    backend_type: str, line: str, stream: str
) -> None:
    assert observe(backend_type, line, stream=stream).rate_limit(1) is None


def test_the_most_useful_candidate_wins() -> None:
    with_reset = "Claude AI usage limit reached|1755615600"
    assert observe("claude", CLAUDE_529, with_reset).rate_limit(1) == observe(
        "claude", with_reset
    ).rate_limit(1)
    assert observe("claude", with_reset, CLAUDE_529, CLAUDE_429).rate_limit(1) == observe(
        "claude", with_reset
    ).rate_limit(1)
    assert observe("claude", CLAUDE_529, CLAUDE_429).rate_limit(1) == limit(
        "Claude API rate limit reached (429)"
    )
    structured = event(
        type="rate_limit_event", rate_limit_info={"status": "rejected", "resetsAt": 1778565600}
    )
    later_text = "You've hit your limit · resets 2pm (UTC)"
    verdict = observe("claude", structured, later_text).rate_limit(1)
    assert verdict is not None
    assert verdict.resets_at == datetime(2026, 5, 12, 6, tzinfo=UTC)
    latest = observe("claude", with_reset, "Claude AI usage limit reached|1755619200")
    assert latest.rate_limit(1) == limit(
        "Claude usage limit reached", datetime(2025, 8, 19, 16, tzinfo=UTC)
    )


NEVER_RAISE = [
    "",
    "{",
    "{}",
    "[1, 2]",
    "null",
    '{"type":"result"',
    '{"type":"result","is_error":true,"result":5,"usage":[1],"errors":{"a":1}}',
    '{"type":"result","usage":{"input_tokens":"12","output_tokens":true},"total_cost_usd":"1"}',
    '{"type":"rate_limit_event","rate_limit_info":{"status":"rejected","resetsAt":1e400}}',
    '{"type":"rate_limit_event","rate_limit_info":{"status":"rejected","resetsAt":"soon"}}',
    '{"type":"rate_limit_event","rate_limit_info":{"status":"rejected","resetsAt":-5}}',
    '{"type":"rate_limit_event","rate_limit_info":{"status":"rejected","resetsAt":true}}',
    '{"type":"rate_limit_event","rate_limit_info":{"status":"rejected"}} trailing',
    '{"type":"turn.completed","usage":null}',
    '{"type":"error"',
    "[" * 100_000 + '"error"',
    "{" + '"a":{' * 100_000 + '"error"',
    "You've hit your weekly limit · resets Feb 30, 2am (UTC)",
    "You've hit your limit · resets 99:99pm (UTC)",
    "You have reached your specified API usage limits. "
    "You will regain access on 2026-02-30 at 00:00 UTC.",
    "You've hit your usage limit. Try again at Foo 5th, 2026 8:19 PM.",
    "You've hit your usage limit. Try again in 99999999999 days.",
    '{"error":{"type":"usage_limit_reached","resets_at":99999999999999999999}}',
    "binary \ufffd\ufffd\x00 Claude AI usage limit reached|\x00",
    "x" * 300_000 + " limit",
]


@pytest.mark.parametrize("line", NEVER_RAISE)
@pytest.mark.parametrize("backend_type", ["claude", "codex", "gemini", "opencode", "command"])
def test_odd_lines_never_raise(backend_type: str, line: str) -> None:
    observer = observe(backend_type, line)
    observer.rate_limit(1)
    assert observer.usage is None or isinstance(observer.usage, Usage)


CLAUDE_RESULT = event(
    type="result",
    subtype="success",
    is_error=False,
    duration_ms=48213,
    num_turns=7,
    session_id="8f0c",
    total_cost_usd=0.1834,
    usage={
        "input_tokens": 1532,
        "output_tokens": 2210,
        "cache_creation_input_tokens": 10240,
        "cache_read_input_tokens": 88412,
        "server_tool_use": {"web_search_requests": 0},
    },
    result="done",
)


@pytest.mark.parametrize("output_format", ["stream-json", "json"])
def test_claude_usage_comes_from_the_result_event(output_format: str) -> None:
    prelude = (
        [event(type="system", subtype="init"), event(type="assistant", message={"content": []})]
        if output_format == "stream-json"
        else []
    )
    observer = observe("claude", *prelude, CLAUDE_RESULT)
    assert observer.usage == Usage(1532, 2210, 10240, 88412, 0.1834, 7)
    assert observer.usage.as_dict() == {
        "input_tokens": 1532,
        "output_tokens": 2210,
        "cache_creation_input_tokens": 10240,
        "cache_read_input_tokens": 88412,
        "total_cost_usd": 0.1834,
        "num_turns": 7,
    }
    assert observer.result_error is None


def test_usage_is_none_without_a_report_and_ignores_malformed_numbers() -> None:
    assert (
        observe("claude", event(type="assistant", message={"usage": {"input_tokens": 5}})).usage
        is None
    )
    assert observe("claude", event(type="result", subtype="success")).usage is None
    odd = event(
        type="result",
        usage={"input_tokens": -1, "output_tokens": True, "cache_read_input_tokens": 3},
        total_cost_usd=float("nan"),
        num_turns="7",
    )
    assert observe("claude", odd).usage == Usage(cache_read_input_tokens=3)
    assert observe("claude", event(type="result", total_cost_usd=2)).usage == Usage(
        total_cost_usd=2.0
    )


def test_codex_usage_sums_its_turns() -> None:
    turn = event(
        type="turn.completed",
        usage={"input_tokens": 100, "cached_input_tokens": 60, "output_tokens": 7},
    )
    assert observe("codex", turn, turn).usage == Usage(
        input_tokens=200, output_tokens=14, cache_read_input_tokens=120
    )


def gemini_document(**fields: object) -> list[str]:
    return json.dumps(fields, indent=2).splitlines()


def test_gemini_usage_from_its_pretty_printed_stats() -> None:
    tokens = {"prompt": 24939, "candidates": 20, "total": 25113, "cached": 21263, "thoughts": 154}
    stats = {
        "models": {
            "gemini-2.5-pro": {"api": {"totalRequests": 2}, "tokens": tokens},
            "gemini-2.5-flash": {"tokens": {"prompt": 61, "candidates": 5, "cached": 0}},
        },
        "tools": {"totalCalls": 1, "byName": {"read_file": {"count": 1}}},
    }
    lines = gemini_document(response="The answer, with RESOURCE_EXHAUSTED in it", stats=stats)
    observer = observe("gemini", *lines)
    assert observer.usage == Usage(
        input_tokens=25000, output_tokens=25, cache_read_input_tokens=21263
    )
    assert observer.rate_limit(1) is None
    compact = observe("gemini", json.dumps({"response": "r", "stats": stats}))
    assert compact.usage == observer.usage


@pytest.mark.parametrize(
    "stats",
    [{}, {"models": {}}, {"models": {"m": {"api": {}}}}, {"models": []}, {"models": {"m": 3}}],
)
def test_gemini_without_token_counts_has_no_usage(stats: object) -> None:
    assert observe("gemini", *gemini_document(response="r", stats=stats)).usage is None


def test_gemini_stats_collection_is_bounded() -> None:
    huge = {"models": {"m": {"tokens": {"prompt": 1}}}, "padding": ["x" * 1000] * 2000}
    assert observe("gemini", *gemini_document(response="r", stats=huge)).usage is None


@pytest.mark.parametrize(
    "line",
    [
        "API Error: Server is temporarily limiting requests (not your usage limit) · Rate limited",
        "Server is temporarily limiting requests (not your usage limit) · usage limit reached · x",
    ],
)
def test_claude_server_throttling_is_a_transient_rate_limit_not_a_usage_limit(line: str) -> None:
    assert observe("claude", line).rate_limit(1) == limit(
        "Claude API: server temporarily limiting requests", transient=True
    )


@pytest.mark.parametrize(
    ("line", "status"),
    [("API Error: 503 Overloaded", 503), ("API Error: 529 Overloaded. Try again.", 529)],
)
def test_claude_overloads_are_transient_whatever_the_status(line: str, status: int) -> None:
    assert observe("claude", line).rate_limit(1) == limit(
        f"Claude API overloaded ({status})", transient=True
    )
    retry = event(type="system", subtype="api_retry", error_status=status, error="overloaded")
    assert observe("claude", retry).rate_limit(1) == limit(
        f"Claude API overloaded ({status})", transient=True
    )


def test_gemini_retry_hint_on_a_line_of_its_own_sets_the_reset_time() -> None:
    observer = observe(
        "gemini",
        "Attempt 1 failed: Resource has been exhausted (e.g. check quota).",
        "Suggested retry after 30s.. Retrying after 32080ms...",
        stream="stderr",
    )
    assert observer.rate_limit(1) == limit("Gemini quota exhausted", NOW + timedelta(seconds=30))
    assert observe("gemini", "Suggested retry after 30s.").rate_limit(1) is None


def test_gemini_overload_in_its_error_document_is_transient() -> None:
    lines = gemini_document(
        error={"type": "Error", "message": "The model is overloaded.", "code": 503}
    )
    assert observe("gemini", *lines, stream="stderr").rate_limit(1) == limit(
        "Gemini API overloaded (503)", transient=True
    )


def test_opencode_rate_limit_reads_retry_after_not_retry_after_ms() -> None:
    headers = {"retry-after-ms": "1", "retry-after": "30"}  # opencode waited the 1 ms itself
    data = {"message": "Rate limit reached.", "statusCode": 429, "responseHeaders": headers}
    line = event(type="error", error={"name": "APIError", "data": data})
    assert observe("opencode", line).rate_limit(1) == limit(
        "opencode: rate limited by the provider", NOW + timedelta(seconds=30)
    )


def test_opencode_rate_limit_takes_the_wait_from_its_message_without_retry_after() -> None:
    data = {"message": "Rate limit reached. Please try again in 20s.", "statusCode": 429}
    line = event(type="error", error={"name": "APIError", "data": data})
    assert observe("opencode", line).rate_limit(1) == limit(
        "opencode: rate limited by the provider", NOW + timedelta(seconds=20)
    )


OPENAI_QUOTA = "You exceeded your current quota, please check your plan and billing details."


def test_gemini_daily_quota_is_a_usage_limit_not_a_rate_limit() -> None:
    # As gemini 0.61 prints it (TerminalQuotaError) for a QuotaFailure "PerDay" 429.
    lines = gemini_document(
        error={
            "type": "Error",
            "message": "You have exhausted your daily quota on this model.",
            "code": 429,
        }
    )
    observer = observe(
        "gemini",
        f"    message: '{OPENAI_QUOTA}',",
        *lines,
        stream="stderr",
    )
    # Per-day quotas reset at midnight Pacific: NOW is 05:00 PDT (UTC-7) on 10 March.
    assert observer.rate_limit(173) == limit(
        "Gemini usage limit reached (daily quota)", datetime(2026, 3, 11, 7, 0, tzinfo=UTC)
    )


def test_gemini_daily_quota_resets_at_midnight_pacific_in_winter_too() -> None:
    winter = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)  # 01:00 PST (UTC-8)
    error = {"message": "You have exhausted your daily quota on this model.", "code": 429}
    verdict = gemini_error(error, winter)
    assert verdict is not None
    assert verdict.resets_at == datetime(2026, 1, 16, 8, 0, tzinfo=UTC)


def test_opencode_insufficient_quota_is_labelled_as_opencode_s_not_gemini_s() -> None:
    # OpenAI's usage limit, through opencode's OpenAI-compatible provider.
    body = {
        "error": {
            "message": OPENAI_QUOTA,
            "type": "insufficient_quota",
        }
    }
    data = {
        "message": body["error"]["message"],
        "statusCode": 429,
        "responseBody": json.dumps(body),
    }
    line = event(type="error", error={"name": "APIError", "data": data})
    assert observe("opencode", line).rate_limit(1) == limit("opencode quota exhausted")


def test_claude_json_array_is_read_as_events_never_as_text() -> None:
    quoted = event(
        type="assistant", message={"content": [{"type": "text", "text": ALL_THE_MESSAGES}]}
    )
    result = event(type="result", subtype="success", is_error=False, result=ALL_THE_MESSAGES)
    observer = observe("claude", f"[{quoted},{result}]")
    assert observer.rate_limit(1) is None
    assert observe("claude", "[{not json, mentions API Error: 429").rate_limit(1) is None
