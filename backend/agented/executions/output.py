"""Watching a run's output: provider rate and usage limits, and the usage numbers.

`OutputObserver.feed` sees every line a CLI prints, so it is built to be cheap:
a line is JSON-parsed only when it starts with `{` and names a key that matters,
and plain text meets a regex only after a substring pre-check. Only bounded state
is kept (the best rate-limit candidate, the last usage and error), never output.

False positives cost more than misses: agents print code and diffs full of 429s
and "rate limit", and a wrong verdict re-runs a job hours later. So a run that
exited 0 is never rate-limited; JSON events carrying model or tool content
(Claude's `assistant`/`user`, Codex items) are never scanned; and plain text
must have the shape of a real provider message (`verdicts` knows the shapes).
Looser patterns (a bare 429, "rate limit") apply only inside events that are
errors by their JSON type.

Structured signals come first, as the real CLIs print them (verified against
recorded runs and the pinned CLIs themselves, see the README's "Tested with"):
Claude's `api_retry` lines (`error_status`), the assistant's `"error":"rate_limit"` and the result's
`api_error_status`, in stream-json lines or the one array `json` prints; the
`statusCode` of an opencode error event (never its response headers, where
`x-ratelimit-*` sit on every error); the `code` of Gemini's error document.
A 503 or 529, or an error that says "overloaded", is transient for every CLI.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Callable
from dataclasses import astuple, dataclass, fields
from datetime import UTC, datetime
from typing import Any

from .verdicts import (
    OVERLOAD_STATUSES,
    SUGGESTED_RETRY,
    RateLimit,
    claude_status,
    from_epoch,
    gemini_error,
    later,
    opencode_error,
    scan,
)


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
# A rate_limit_event spliced into another JSON line (seen in one Claude version).
_SESSION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
_EMBEDDED_EVENT = re.compile(r'\{"type":"rate_limit_event"[^{}]*"rate_limit_info":(\{[^{}]*\})')

# Gemini prints one pretty-printed document (its answer on stdout, its error on
# stderr): collected line by line per stream (bounded), with the `response` line,
# which holds model text, left out and never scanned.
_GEMINI_OPEN = "{"
_GEMINI_CLOSE = "}"
_GEMINI_RESPONSE = '  "response":'
_MAX_DOCUMENT_CHARS = 1 << 20


def token_count(value: object) -> int | None:
    """A count of tokens as a CLI reports it: a non-negative integer, else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _amount(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) and value >= 0 else None


def _plus(a: Any, b: Any) -> Any:
    return a if b is None else b if a is None else a + b


def _merge(total: Usage | None, more: Usage) -> Usage:
    return more if total is None else Usage(*map(_plus, astuple(total), astuple(more)))


def json_object(value: object) -> dict[str, Any]:
    """`value` if it is a JSON object, else an empty one (CLI output is never trusted)."""
    return value if isinstance(value, dict) else {}


def claude_usage(event: dict[str, Any]) -> Usage | None:
    tokens = json_object(event.get("usage"))
    usage = Usage(
        input_tokens=token_count(tokens.get("input_tokens")),
        output_tokens=token_count(tokens.get("output_tokens")),
        cache_creation_input_tokens=token_count(tokens.get("cache_creation_input_tokens")),
        cache_read_input_tokens=token_count(tokens.get("cache_read_input_tokens")),
        total_cost_usd=_amount(event.get("total_cost_usd")),
        num_turns=token_count(event.get("num_turns")),
    )
    return None if usage == Usage() else usage


def codex_usage(event: dict[str, Any]) -> Usage:
    tokens = json_object(event.get("usage"))
    return Usage(
        input_tokens=token_count(tokens.get("input_tokens")),
        output_tokens=token_count(tokens.get("output_tokens")),
        cache_read_input_tokens=token_count(tokens.get("cached_input_tokens")),
    )


def opencode_usage(event: dict[str, Any]) -> Usage:
    part = json_object(event.get("part"))
    tokens = json_object(part.get("tokens"))
    cache = json_object(tokens.get("cache"))
    return Usage(
        input_tokens=token_count(tokens.get("input")),
        output_tokens=token_count(tokens.get("output")),
        cache_creation_input_tokens=token_count(cache.get("write")),
        cache_read_input_tokens=token_count(cache.get("read")),
        total_cost_usd=_amount(part.get("cost")),
    )


def gemini_usage(stats: dict[str, Any]) -> Usage | None:
    """Token counts summed over `stats.models.*.tokens`; None when there are none."""
    total = None
    for model in json_object(stats.get("models")).values():
        tokens = json_object(json_object(model).get("tokens"))
        total = _merge(
            total,
            Usage(
                input_tokens=token_count(tokens.get("prompt")),
                output_tokens=token_count(tokens.get("candidates")),
                cache_read_input_tokens=token_count(tokens.get("cached")),
            ),
        )
    return None if total is None or total == Usage() else total


def result_error_text(event: dict[str, Any]) -> str:
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
        if (message := json_object(event.get("msg"))).get("type") == "error":
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
        "_session_id",
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
        self._session_id: str | None = None
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
                or '"subtype":"init"' in line
                or '"thread.started"' in line
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
            self._offer(scan(line, self._now(), self._name, error_event=False))
        elif gemini and (hint := SUGGESTED_RETRY.search(line)):
            # Printed on a line of its own between attempts: the wait the API asked for.
            self._retry_hint = later(self._now(), float(hint[1]))

    @property
    def usage(self) -> Usage | None:
        """Tokens and cost of the run, from the CLI's final report, when it made one."""
        return self._usage

    @property
    def session_id(self) -> str | None:
        """The CLI's session, to resume on the same account: Claude's `init` event's
        `session_id`, Codex's `thread.started` `thread_id`."""
        return self._session_id

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
        elif kind == "system" and event.get("subtype") == "init":
            self._take_session(event.get("session_id"))
        elif kind == "thread.started":
            self._take_session(event.get("thread_id"))
        elif kind == "turn.completed":
            self._usage = _merge(self._usage, codex_usage(event))
        elif kind == "step_finish":
            self._usage = _merge(self._usage, opencode_usage(event))
        elif kind == "system" and event.get("subtype") == "api_retry":
            # Claude retrying an API error by itself; the status says which kind.
            status = event.get("error_status")
            if event.get("error") == "overloaded" and status not in OVERLOAD_STATUSES:
                status = 529
            self._offer(claude_status(status), structured=True)
        elif kind == "assistant":
            # Only the event's own `error` field: its message is the model's (or a quoted) text.
            if event.get("error") == "rate_limit":
                self._offer(claude_status(429), structured=True)
        elif kind is None and self._backend == "gemini":
            self._on_gemini_document(event)
        elif kind == "error" and isinstance(
            status := (data := json_object(json_object(event.get("error")).get("data"))).get(
                "statusCode"
            ),
            int,
        ):
            # opencode's error event: judged by its HTTP status, never by the header names.
            self._offer(opencode_error(data, status, self._now()), structured=True)
        else:
            text = _error_text(event, line or json.dumps(event, ensure_ascii=False))
            if text is not None:
                self._offer(scan(text, self._now(), self._name, error_event=True))

    def _take_session(self, session_id: object) -> None:
        # An id goes on a command line: only the plain shape the CLIs use (UUIDs).
        if isinstance(session_id, str) and _SESSION_ID.fullmatch(session_id):
            self._session_id = session_id

    def _on_rate_limit_info(self, info: object) -> None:
        # `allowed`/`allowed_warning` are reports, not refusals; a rejected window
        # while overage is in use does not stop the run either.
        info = json_object(info)
        if info.get("status") != "rejected" or info.get("isUsingOverage") is True:
            return
        window = info.get("rateLimitType")
        reason = "Claude usage limit reached" + (f" ({window})" if isinstance(window, str) else "")
        self._offer(RateLimit(reason, from_epoch(info.get("resetsAt")), False), structured=True)

    def _salvage_rate_limit_event(self, line: str) -> None:
        for match in _EMBEDDED_EVENT.finditer(line):
            try:
                self._on_rate_limit_info(json.loads(match[1]))
            except ValueError:
                continue

    def _on_result(self, event: dict[str, Any]) -> None:
        if (usage := claude_usage(event)) is not None:
            self._usage = usage
        subtype = event.get("subtype")
        # An API failure ends with `"subtype":"success"` and `"is_error":true` even so.
        if event.get("is_error") is True or (
            isinstance(subtype, str) and subtype.startswith("error")
        ):
            self._result_error = result_error_text(event)
            self._offer(claude_status(event.get("api_error_status")), structured=True)
            # Only the exact limit shapes: the text may be the model's own last words.
            limit = scan(self._result_error, self._now(), self._name, error_event=False)
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
        elif (limit := scan(line, self._now(), self._name, error_event=False)) is not None:
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
            self._usage = gemini_usage(stats)
        if isinstance(error := document.get("error"), dict):
            self._offer(gemini_error(error, self._now()), structured=True)
