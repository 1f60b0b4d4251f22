"""Watching a run's output: provider rate and usage limits, and the usage numbers.

`OutputObserver.feed` sees every line a CLI prints, so it is built to be cheap:
a line is JSON-parsed only when it starts with `{` and names a key that matters,
and plain text meets a regex only after a substring pre-check. Only bounded state
is kept (the best rate-limit candidate, the last usage and error), never output.

False positives cost more than misses: agents print code and diffs full of 429s
and "rate limit", and a wrong verdict re-runs a job hours later. So a run that
exited 0 is never rate-limited; JSON events carrying model or tool content
(Claude's `assistant`/`user`, Codex items) are never scanned; and plain text
must have the shape of a real provider message (the formats are collected in
the shared cli-output reference). Looser patterns (a bare 429, "rate limit")
apply only inside events that are errors by their JSON type.

Structured signals come first, as the real CLIs print them (verified against
recorded runs, see the README's "Tested with"): Claude's `api_retry` lines
(`error_status`), the assistant's `"error":"rate_limit"` and the result's
`api_error_status`, in stream-json lines or the one array `json` prints; the
`statusCode` of an opencode error event (never its response headers, where
`x-ratelimit-*` sit on every error); the `code` of Gemini's error document.
A 503 or 529, or an error that says "overloaded", is transient for every CLI.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import re
from collections.abc import Callable
from dataclasses import astuple, dataclass, fields
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class RateLimit:
    """A provider refused the run; when it said so, also when it will accept again."""

    reason: str  # short human text for the execution's error message
    resets_at: datetime | None  # UTC, when the provider says it
    transient: bool  # overloaded/529-style: worth a short backoff, not a long wait


@dataclass(frozen=True, slots=True)
class Usage:
    """Token and cost numbers as the CLI reports them; None where it reports nothing.

    Claude's input_tokens excludes cache reads; Codex's and Gemini's (mapped from
    `input_tokens`/`prompt`, with their cached counts as cache reads) include them.
    """

    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    total_cost_usd: float | None = None
    num_turns: int | None = None

    def as_dict(self) -> dict[str, int | float | None]:
        return {field.name: getattr(self, field.name) for field in fields(self)}


def _utc_now() -> datetime:
    return datetime.now(UTC)


_NAMES = {"claude": "Claude", "codex": "Codex", "gemini": "Gemini", "opencode": "opencode"}
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_MAX_EPOCH = 253_402_300_800  # year 10000: anything later is garbage, not a reset time
_UNIT_SECONDS = {"day": 86_400, "hour": 3_600, "minute": 60, "min": 60, "second": 1, "sec": 1}

# Message shapes. `\\?"` lets a JSON body match whether or not it sits escaped
# inside another JSON string, as error bodies often do.
_APOSTROPHE = "['\u2019]"
_CLOCK = r"(?P<hour>\d{1,2})(?::(?P<minute>\d{2}))?\s*(?P<ampm>[ap]m)\b"
_DATE = r"(?P<mon>[a-z]{3})[a-z]*\.?\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_CLAUDE_EPOCH = re.compile(r"Claude AI usage limit reached(?:\|(\d+))?")
_CLAUDE_LIMIT = re.compile(
    rf"You{_APOSTROPHE}ve hit your (?:([\w-]+) )?limit\b|\b([\w-]+) limit reached\s*[·∙•]"
)
_CLAUDE_RESETS = re.compile(
    rf"\bresets\s+(?:at\s+)?(?:{_DATE},?\s+(?:at\s+)?)?{_CLOCK}(?:\s*\((?P<tz>[\w+\-/]+)\))?",
    re.IGNORECASE,
)
_SPEND_CAP = re.compile(
    r"You have reached your specified API usage limits\."
    r"(?:\s*You will regain access on (\d{4}-\d{2}-\d{2}) at (\d{1,2}:\d{2}) UTC)?"
)
_ANTHROPIC_ERROR = re.compile(
    r"API Error: (?:Request rejected \()?(?P<status>429|503|529)\b"
    r'|\\?"type\\?"\s*:\s*\\?"(?P<type>rate_limit_error|overloaded_error)\\?"'
)
_CODEX_LIMIT = re.compile(
    rf'You{_APOSTROPHE}ve hit your usage limit\.|\\?"type\\?"\s*:\s*\\?"usage_limit_reached\\?"'
)
_CODEX_RESETS_AT = re.compile(r'\\?"resets_at\\?"\s*:\s*(\d+)')
_CODEX_RESETS_IN = re.compile(r'\\?"resets_in_seconds\\?"\s*:\s*(\d+)')
_TRY_AGAIN_IN = re.compile(r"try again in\s+((?:\d+\s*[a-z]+[\s,]*(?:and\s+)?)+)", re.IGNORECASE)
_DURATION_PART = re.compile(r"(\d+)\s*(day|hour|minute|min|second|sec)s?\b", re.IGNORECASE)
_TRY_AGAIN_AT = re.compile(
    rf"try again at\s+(?:{_DATE},?\s+(?P<year>\d{{4}})\s+)?{_CLOCK}", re.IGNORECASE
)
_GEMINI_QUOTA = re.compile(
    r"Resource has been exhausted|You exceeded your current quota"
    r"|\bRESOURCE_EXHAUSTED\b|Quota exceeded for quota metric"
)
_RETRY_DELAY = re.compile(r'\\?"retryDelay\\?"\s*:\s*\\?"(\d+(?:\.\d+)?)s\\?"')
_SUGGESTED_RETRY = re.compile(r"Suggested retry after (\d+(?:\.\d+)?)s\b")
# Claude's word for the API's own throttling, which it takes care to say is not a usage limit.
_SERVER_LIMITING = re.compile(r"Server is temporarily limiting requests")
_TRY_AGAIN_IN_SECONDS = re.compile(r"try again in (\d+(?:\.\d+)?)s\b", re.IGNORECASE)
# Only inside events that are errors by type: there a bare status means what it says.
_ANY_OVERLOAD = re.compile(r"\b(?:503|529)\b|overloaded|service unavailable", re.IGNORECASE)
_ANY_RATE_LIMIT = re.compile(r"\b429\b|too many requests|rate[ _-]?limit", re.IGNORECASE)
# A rate_limit_event spliced into another JSON line (seen in one Claude version).
_EMBEDDED_EVENT = re.compile(r'\{"type":"rate_limit_event"[^{}]*"rate_limit_info":(\{[^{}]*\})')

# Gemini prints one pretty-printed document (its answer on stdout, its error on
# stderr): collected line by line per stream (bounded), with the `response` line,
# which holds model text, left out and never scanned.
_GEMINI_OPEN = "{"
_GEMINI_CLOSE = "}"
_GEMINI_RESPONSE = '  "response":'
_MAX_DOCUMENT_CHARS = 1 << 20
_OVERLOAD_STATUSES = (503, 529)


def _from_epoch(value: object) -> datetime | None:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return datetime.fromtimestamp(value, UTC) if 0 < value < _MAX_EPOCH else None


def _later(now: datetime, seconds: float) -> datetime | None:
    try:
        return now + timedelta(seconds=seconds)
    except OverflowError:  # "try again in 99999999999 days"
        return None


def _from_clock(match: re.Match[str], now: datetime) -> datetime | None:
    """The UTC instant of a printed wall-clock time like `2pm (Asia/Shanghai)` or
    `Sep 29th, 2026 12:55 AM`.

    Without a zone it is the server's local time (the CLI ran here); without a
    date, the next such time after `now`; without a year, this year's unless
    that is long past.
    """
    found = match.groupdict()
    try:
        zone = ZoneInfo(found["tz"]) if found.get("tz") else None
        local_now = now.astimezone(zone).replace(tzinfo=None)
        hour = int(found["hour"]) % 12 + (12 if found["ampm"].lower() == "pm" else 0)
        wall = local_now.replace(
            hour=hour, minute=int(found["minute"] or 0), second=0, microsecond=0
        )
        if found["mon"]:
            year = int(found.get("year") or local_now.year)
            month = _MONTHS[found["mon"].lower()]
            wall = wall.replace(year=year, month=month, day=int(found["day"]))
            if not found.get("year") and wall < local_now - timedelta(days=30):
                wall = wall.replace(year=year + 1)
        elif wall <= local_now:
            wall += timedelta(days=1)
    except (ValueError, KeyError):  # unknown zone or month, impossible date
        return None
    return (wall.replace(tzinfo=zone) if zone else wall.astimezone()).astimezone(UTC)


def _codex_usage_limit(text: str, now: datetime) -> RateLimit | None:
    if not _CODEX_LIMIT.search(text):
        return None
    resets_at = None
    if match := _CODEX_RESETS_AT.search(text):
        resets_at = _from_epoch(match[1])
    elif match := _CODEX_RESETS_IN.search(text):
        resets_at = _later(now, int(match[1]))
    elif match := _TRY_AGAIN_IN.search(text):
        seconds = sum(
            int(count) * _UNIT_SECONDS[unit.lower()]
            for count, unit in _DURATION_PART.findall(match[1])
        )
        resets_at = _later(now, seconds) if seconds else None
    elif match := _TRY_AGAIN_AT.search(text):
        resets_at = _from_clock(match, now)
    return RateLimit("Codex usage limit reached", resets_at, transient=False)


def _claude_usage_epoch(text: str, now: datetime) -> RateLimit | None:
    if match := _CLAUDE_EPOCH.search(text):
        return RateLimit("Claude usage limit reached", _from_epoch(match[1]), transient=False)
    return None


def _claude_limit(text: str, now: datetime) -> RateLimit | None:
    if not (match := _CLAUDE_LIMIT.search(text)):
        return None
    kind = (match[1] or match[2] or "usage").lower()
    resets = _CLAUDE_RESETS.search(text, match.end())
    resets_at = _from_clock(resets, now) if resets else None
    return RateLimit(f"Claude {kind} limit reached", resets_at, transient=False)


def _claude_spend_cap(text: str, now: datetime) -> RateLimit | None:
    if not (match := _SPEND_CAP.search(text)):
        return None
    resets_at = None
    if match[1]:
        with contextlib.suppress(ValueError):  # an impossible date
            resets_at = datetime.fromisoformat(f"{match[1]}T{match[2]:0>5}").replace(tzinfo=UTC)
    return RateLimit("Claude API spend limit reached", resets_at, transient=False)


def _server_limiting(text: str, now: datetime) -> RateLimit | None:
    if _SERVER_LIMITING.search(text):
        return RateLimit("Claude API: server temporarily limiting requests", None, transient=True)
    return None


def _anthropic_api_error(text: str, now: datetime) -> RateLimit | None:
    if not (match := _ANTHROPIC_ERROR.search(text)):
        return None
    if match["type"]:  # an error body: its type says which
        return _claude_status(529 if match["type"] == "overloaded_error" else 429)
    return _claude_status(int(match["status"]))


def _claude_status(status: object) -> RateLimit | None:
    """The verdict of an HTTP status Claude reports (`error_status`, `api_error_status`)."""
    if status == 429:
        return RateLimit("Claude API rate limit reached (429)", None, transient=False)
    if status in _OVERLOAD_STATUSES:
        return RateLimit(f"Claude API overloaded ({status})", None, transient=True)
    return None


def _retry_hint(text: str, now: datetime) -> datetime | None:
    """When a Gemini message says to come back: `Suggested retry after 30s` or a RetryInfo."""
    delay = _SUGGESTED_RETRY.search(text) or _RETRY_DELAY.search(text)
    return _later(now, float(delay[1])) if delay else None


def _gemini_quota(text: str, now: datetime) -> RateLimit | None:
    if not _GEMINI_QUOTA.search(text):
        return None
    return RateLimit("Gemini quota exhausted", _retry_hint(text, now), transient=False)


def _gemini_error(error: dict[str, Any], now: datetime) -> RateLimit | None:
    """The verdict of the `error` of Gemini's JSON document: its `code` is the HTTP status."""
    code, message = error.get("code"), str(error.get("message", ""))
    if code == 429 or _GEMINI_QUOTA.search(message):
        return RateLimit("Gemini quota exhausted", _retry_hint(message, now), transient=False)
    if code in _OVERLOAD_STATUSES or "overloaded" in message.lower():
        return RateLimit(f"Gemini API overloaded ({code})", None, transient=True)
    return None


def _retry_after(headers: dict[str, Any], now: datetime) -> datetime | None:
    """A `retry-after` response header (seconds or an HTTP date): a hint, never a trigger."""
    value = headers.get("retry-after")
    if not isinstance(value, str):
        return None
    if value.strip().isdigit():
        return _later(now, int(value))
    with contextlib.suppress(TypeError, ValueError):
        return parsedate_to_datetime(value).astimezone(UTC)
    return None


def _opencode_error(data: dict[str, Any], status: int, now: datetime) -> RateLimit | None:
    """The verdict of an opencode `error` event's `data` by its HTTP status and error body.

    The response headers it carries are read only for `retry-after`.
    """
    text = f"{data.get('message', '')} {data.get('responseBody', '')}"
    if (known := _scan(text, now, "opencode", error_event=False)) is not None:
        return known  # a provider's own limit message, with its reset time
    if status == 429:
        resets_at = _retry_after(_dict(data.get("responseHeaders")), now)
        if resets_at is None and (hint := _TRY_AGAIN_IN_SECONDS.search(text)):
            resets_at = _later(now, float(hint[1]))
        return RateLimit("opencode: rate limited by the provider", resets_at, transient=False)
    if status in _OVERLOAD_STATUSES or "overloaded" in text.lower():
        return RateLimit("opencode: provider overloaded", None, transient=True)
    return None


# First match wins; Codex's "usage limit." comes before Claude's "hit your ... limit".
_MATCHERS: tuple[Callable[[str, datetime], RateLimit | None], ...] = (
    _codex_usage_limit,
    _server_limiting,
    _claude_usage_epoch,
    _claude_limit,
    _claude_spend_cap,
    _anthropic_api_error,
    _gemini_quota,
)


def _scan(text: str, now: datetime, name: str, *, error_event: bool) -> RateLimit | None:
    for matcher in _MATCHERS:
        if (limit := matcher(text, now)) is not None:
            return limit
    if error_event:
        if _ANY_OVERLOAD.search(text):
            return RateLimit(f"{name}: provider overloaded", None, transient=True)
        if _ANY_RATE_LIMIT.search(text):
            return RateLimit(f"{name}: rate limited by the provider", None, transient=False)
    return None


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _amount(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) and value >= 0 else None


def _plus(a: Any, b: Any) -> Any:
    return a if b is None else b if a is None else a + b


def _merge(total: Usage | None, more: Usage) -> Usage:
    return more if total is None else Usage(*map(_plus, astuple(total), astuple(more)))


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _claude_usage(event: dict[str, Any]) -> Usage | None:
    tokens = _dict(event.get("usage"))
    usage = Usage(
        input_tokens=_count(tokens.get("input_tokens")),
        output_tokens=_count(tokens.get("output_tokens")),
        cache_creation_input_tokens=_count(tokens.get("cache_creation_input_tokens")),
        cache_read_input_tokens=_count(tokens.get("cache_read_input_tokens")),
        total_cost_usd=_amount(event.get("total_cost_usd")),
        num_turns=_count(event.get("num_turns")),
    )
    return None if usage == Usage() else usage


def _codex_usage(event: dict[str, Any]) -> Usage:
    tokens = _dict(event.get("usage"))
    return Usage(
        input_tokens=_count(tokens.get("input_tokens")),
        output_tokens=_count(tokens.get("output_tokens")),
        cache_read_input_tokens=_count(tokens.get("cached_input_tokens")),
    )


def _opencode_usage(event: dict[str, Any]) -> Usage:
    part = _dict(event.get("part"))
    tokens = _dict(part.get("tokens"))
    cache = _dict(tokens.get("cache"))
    return Usage(
        input_tokens=_count(tokens.get("input")),
        output_tokens=_count(tokens.get("output")),
        cache_creation_input_tokens=_count(cache.get("write")),
        cache_read_input_tokens=_count(cache.get("read")),
        total_cost_usd=_amount(part.get("cost")),
    )


def _gemini_usage(stats: dict[str, Any]) -> Usage | None:
    """Token counts summed over `stats.models.*.tokens`; None when there are none."""
    total = None
    for model in _dict(stats.get("models")).values():
        tokens = _dict(_dict(model).get("tokens"))
        total = _merge(
            total,
            Usage(
                input_tokens=_count(tokens.get("prompt")),
                output_tokens=_count(tokens.get("candidates")),
                cache_read_input_tokens=_count(tokens.get("cached")),
            ),
        )
    return None if total is None or total == Usage() else total


def _result_error_text(event: dict[str, Any]) -> str:
    text = event.get("result")
    if isinstance(text, str) and text.strip():
        return text
    errors = event.get("errors")
    if isinstance(errors, list) and (joined := "; ".join(e for e in errors if isinstance(e, str))):
        return joined
    subtype = event.get("subtype")
    return f"Claude stopped: {subtype}" if isinstance(subtype, str) else "Claude reported an error"


def _error_text(event: dict[str, Any], line: str) -> str | None:
    """The error part of an event that is an error by its JSON type, else None.

    Codex `error` and `turn.failed`, opencode `error` and Anthropic error bodies are
    errors through and through; an untyped document (a bare `{"error": ...}` body,
    Gemini's output, Codex's older `msg` envelope) contributes only its error part.
    """
    kind = event.get("type")
    if kind in ("error", "turn.failed"):
        return line
    if kind is None:
        if "error" in event:
            return json.dumps(event["error"], ensure_ascii=False)
        if (message := _dict(event.get("msg"))).get("type") == "error":
            return json.dumps(message, ensure_ascii=False)
    return None


class OutputObserver:
    """Reads one run's output lines as they arrive and keeps what its outcome needs."""

    __slots__ = (
        "_backend",
        "_documents",
        "_limit",
        "_limit_rank",
        "_name",
        "_now",
        "_result_error",
        "_retry_hint",
        "_usage",
    )

    def __init__(self, backend_type: str, *, now: Callable[[], datetime] = _utc_now) -> None:
        self._backend = backend_type
        self._name = _NAMES.get(backend_type, backend_type)
        self._now = now
        self._limit: RateLimit | None = None
        self._limit_rank = (False, False, False)
        self._usage: Usage | None = None
        self._result_error: str | None = None
        self._retry_hint: datetime | None = None
        # Gemini's document being collected, per stream: its lines and their size.
        self._documents: dict[str, tuple[list[str], int]] = {}

    def feed(self, stream: str, line: str) -> None:
        """Look at one line (`stream` is "stdout" or "stderr"); never raises on bad input."""
        gemini = self._backend == "gemini"
        if gemini and self._follow_gemini_document(stream, line):
            return
        if line[:1] == "{":
            if (
                '"result"' in line
                or "rate_limit" in line
                or '"error"' in line
                or '"turn.completed"' in line
                or '"step_finish"' in line
                or (gemini and '"stats"' in line)
            ):
                self._feed_json(line)
        elif line[:2] == "[{" and self._backend == "claude":
            # `--output-format json --verbose`: the whole run as one array on one line.
            # It holds the model's text, so it is read as events, never as text.
            self._feed_json_array(line)
        elif (
            "limit" in line
            or "API Error" in line
            or "uota" in line
            or "xhausted" in line
            or "XHAUSTED" in line
            or "verloaded" in line
        ):
            self._offer(_scan(line, self._now(), self._name, error_event=False))
        elif gemini and (hint := _SUGGESTED_RETRY.search(line)):
            # Printed on a line of its own between attempts: the wait the API asked for.
            self._retry_hint = _later(self._now(), float(hint[1]))

    @property
    def usage(self) -> Usage | None:
        """Tokens and cost of the run, from the CLI's final report, when it made one."""
        return self._usage

    @property
    def result_error(self) -> str | None:
        """Claude's own account of why the run failed (an error `result`), if it gave one."""
        return self._result_error

    def rate_limit(self, exit_code: int | None) -> RateLimit | None:
        """The verdict once the process has exited: None for a run that exited 0."""
        limit = None if exit_code == 0 else self._limit
        if limit is not None and limit.resets_at is None and self._retry_hint is not None:
            return dataclasses.replace(limit, resets_at=self._retry_hint)
        return limit

    def _offer(self, limit: RateLimit | None, *, structured: bool = False) -> None:
        """Keep the most useful candidate: a known reset time, then a real limit rather than
        an overload, then a structured signal over any text; among equals the latest."""
        if limit is None:
            return
        rank = (limit.resets_at is not None, not limit.transient, structured)
        if self._limit is None or rank >= self._limit_rank:
            self._limit, self._limit_rank = limit, rank

    def _feed_json(self, line: str) -> None:
        try:
            event = json.loads(line)
        except (ValueError, RecursionError):
            if "rate_limit_event" in line:
                self._salvage_rate_limit_event(line)
            return
        if isinstance(event, dict):
            self._on_event(event, line)

    def _feed_json_array(self, line: str) -> None:
        try:
            events = json.loads(line)
        except (ValueError, RecursionError):
            return
        if isinstance(events, list):
            for event in events:
                if isinstance(event, dict):
                    self._on_event(event, None)

    def _on_event(self, event: dict[str, Any], line: str | None) -> None:
        """One JSON event; `line` is its text as printed, None when it came inside an array."""
        kind = event.get("type")
        if kind == "rate_limit_event":
            self._on_rate_limit_info(event.get("rate_limit_info"))
        elif kind == "result":
            self._on_result(event)
        elif kind == "turn.completed":
            self._usage = _merge(self._usage, _codex_usage(event))
        elif kind == "step_finish":
            self._usage = _merge(self._usage, _opencode_usage(event))
        elif kind == "system" and event.get("subtype") == "api_retry":
            # Claude retrying an API error by itself; the status says which kind.
            status = event.get("error_status")
            if event.get("error") == "overloaded" and status not in _OVERLOAD_STATUSES:
                status = 529
            self._offer(_claude_status(status), structured=True)
        elif kind == "assistant":
            # Only the event's own `error` field: its message is the model's (or a quoted) text.
            if event.get("error") == "rate_limit":
                self._offer(_claude_status(429), structured=True)
        elif kind is None and self._backend == "gemini":
            self._on_gemini_document(event)
        elif kind == "error" and isinstance(
            status := (data := _dict(_dict(event.get("error")).get("data"))).get("statusCode"), int
        ):
            # opencode's error event: judged by its HTTP status, never by the header names.
            self._offer(_opencode_error(data, status, self._now()), structured=True)
        else:
            text = _error_text(event, line or json.dumps(event, ensure_ascii=False))
            if text is not None:
                self._offer(_scan(text, self._now(), self._name, error_event=True))

    def _on_rate_limit_info(self, info: object) -> None:
        # `allowed`/`allowed_warning` are reports, not refusals; a rejected window
        # while overage is in use does not stop the run either.
        info = _dict(info)
        if info.get("status") != "rejected" or info.get("isUsingOverage") is True:
            return
        window = info.get("rateLimitType")
        reason = "Claude usage limit reached" + (f" ({window})" if isinstance(window, str) else "")
        self._offer(RateLimit(reason, _from_epoch(info.get("resetsAt")), False), structured=True)

    def _salvage_rate_limit_event(self, line: str) -> None:
        for match in _EMBEDDED_EVENT.finditer(line):
            try:
                self._on_rate_limit_info(json.loads(match[1]))
            except ValueError:
                continue

    def _on_result(self, event: dict[str, Any]) -> None:
        if (usage := _claude_usage(event)) is not None:
            self._usage = usage
        subtype = event.get("subtype")
        # An API failure ends with `"subtype":"success"` and `"is_error":true` even so.
        if event.get("is_error") is True or (
            isinstance(subtype, str) and subtype.startswith("error")
        ):
            self._result_error = _result_error_text(event)
            self._offer(_claude_status(event.get("api_error_status")), structured=True)
            # Only the exact limit shapes: the text may be the model's own last words.
            limit = _scan(self._result_error, self._now(), self._name, error_event=False)
            self._offer(limit)

    def _follow_gemini_document(self, stream: str, line: str) -> bool:
        """True when the line belongs to a pretty-printed document (read once it is whole)."""
        collected = self._documents.pop(stream, None)
        if collected is None:
            if line == _GEMINI_OPEN:
                self._documents[stream] = ([line], len(line))
                return True
            return line.startswith(_GEMINI_RESPONSE)
        lines, size = collected
        if line == _GEMINI_CLOSE:
            self._on_gemini_text("\n".join([*lines, line]))
            return True
        if line.startswith(_GEMINI_RESPONSE):
            # Model text: kept out (as null, with its comma) so it is never scanned.
            line = _GEMINI_RESPONSE + " null" + ("," if line.endswith(",") else "")
        elif (limit := _scan(line, self._now(), self._name, error_event=False)) is not None:
            self._offer(limit)  # in case the document never closes
        size += len(line)
        if size <= _MAX_DOCUMENT_CHARS:  # past it: too big to be gemini's, stop collecting
            lines.append(line)
            self._documents[stream] = (lines, size)
        return True

    def _on_gemini_text(self, document: str) -> None:
        try:
            event = json.loads(document)
        except (ValueError, RecursionError):
            return
        if isinstance(event, dict):
            self._on_gemini_document(event)

    def _on_gemini_document(self, document: dict[str, Any]) -> None:
        if isinstance(stats := document.get("stats"), dict):
            self._usage = _gemini_usage(stats)
        if isinstance(error := document.get("error"), dict):
            self._offer(_gemini_error(error, self._now()), structured=True)
