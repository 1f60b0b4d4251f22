"""What the CLIs' error reports and limit messages mean, and when to come back.

A verdict is a rate limit, a usage limit (with its window when known) or an
overload (transient: a 503, a 529 or "overloaded", for every CLI), with the reset
time or retry hint the provider gave. Two kinds of input: HTTP statuses from the
CLIs' structured reports (Claude's `error_status`/`api_error_status`, opencode's
`statusCode`, Gemini's error `code`), and text, which must have the exact shape
of a real provider message (collected in tests/fixtures/cli-output/real/ and the
shared cli-output reference). Looser text patterns (a bare 429, "rate limit")
apply only where the caller knows the text is an error (`scan(error_event=True)`).
`output.OutputObserver` decides which text is read at all.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass
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
_DAILY_QUOTA = re.compile(r"exhausted your daily quota", re.IGNORECASE)
_PACIFIC = ZoneInfo("America/Los_Angeles")
SUGGESTED_RETRY = re.compile(r"Suggested retry after (\d+(?:\.\d+)?)s\b")
# Claude's word for the API's own throttling, which it takes care to say is not a usage limit.
_SERVER_LIMITING = re.compile(r"Server is temporarily limiting requests")
_TRY_AGAIN_IN_SECONDS = re.compile(r"try again in (\d+(?:\.\d+)?)s\b", re.IGNORECASE)
# Only inside events that are errors by type: there a bare status means what it says.
_ANY_OVERLOAD = re.compile(r"\b(?:503|529)\b|overloaded|service unavailable", re.IGNORECASE)
_ANY_RATE_LIMIT = re.compile(r"\b429\b|too many requests|rate[ _-]?limit", re.IGNORECASE)
OVERLOAD_STATUSES = (503, 529)


def from_epoch(value: object) -> datetime | None:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return datetime.fromtimestamp(value, UTC) if 0 < value < _MAX_EPOCH else None


def later(now: datetime, seconds: float) -> datetime | None:
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
        resets_at = from_epoch(match[1])
    elif match := _CODEX_RESETS_IN.search(text):
        resets_at = later(now, int(match[1]))
    elif match := _TRY_AGAIN_IN.search(text):
        seconds = sum(
            int(count) * _UNIT_SECONDS[unit.lower()]
            for count, unit in _DURATION_PART.findall(match[1])
        )
        resets_at = later(now, seconds) if seconds else None
    elif match := _TRY_AGAIN_AT.search(text):
        resets_at = _from_clock(match, now)
    return RateLimit("Codex usage limit reached", resets_at, transient=False)


def _claude_usage_epoch(text: str, now: datetime) -> RateLimit | None:
    if match := _CLAUDE_EPOCH.search(text):
        return RateLimit("Claude usage limit reached", from_epoch(match[1]), transient=False)
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
        return claude_status(529 if match["type"] == "overloaded_error" else 429)
    return claude_status(int(match["status"]))


def claude_status(status: object) -> RateLimit | None:
    """The verdict of an HTTP status Claude reports (`error_status`, `api_error_status`)."""
    if status == 429:
        return RateLimit("Claude API rate limit reached (429)", None, transient=False)
    if status in OVERLOAD_STATUSES:
        return RateLimit(f"Claude API overloaded ({status})", None, transient=True)
    return None


def _retry_hint(text: str, now: datetime) -> datetime | None:
    """When a Gemini message says to come back: `Suggested retry after 30s` or a RetryInfo."""
    delay = SUGGESTED_RETRY.search(text) or _RETRY_DELAY.search(text)
    return later(now, float(delay[1])) if delay else None


def _quota(text: str, now: datetime, name: str) -> RateLimit | None:
    """Google's quota messages, and OpenAI's `insufficient_quota` ("You exceeded your current
    quota"), which reaches opencode from OpenAI-compatible providers: labelled with the CLI."""
    if not _GEMINI_QUOTA.search(text):
        return None
    return RateLimit(f"{name} quota exhausted", _retry_hint(text, now), transient=False)


def gemini_error(error: dict[str, Any], now: datetime) -> RateLimit | None:
    """The verdict of the `error` of Gemini's JSON document: its `code` is the HTTP status.

    Gemini tells a quota that lasts the day (its TerminalQuotaError, "You have exhausted
    your daily quota") from a per-minute one; the daily one is a usage limit, any other
    429 a rate limit (the API says "Resource has been exhausted" for both).
    """
    code, message = error.get("code"), str(error.get("message", ""))
    if _DAILY_QUOTA.search(message):
        resets = gemini_daily_reset(now)
        return RateLimit("Gemini usage limit reached (daily quota)", resets, transient=False)
    if code == 429:
        hint = _retry_hint(message, now)
        return RateLimit("Gemini API rate limit reached (429)", hint, transient=False)
    if _GEMINI_QUOTA.search(message):
        return RateLimit("Gemini quota exhausted", _retry_hint(message, now), transient=False)
    if code in OVERLOAD_STATUSES or "overloaded" in message.lower():
        return RateLimit(f"Gemini API overloaded ({code})", None, transient=True)
    return None


def gemini_daily_reset(now: datetime) -> datetime:
    """When the Gemini API's per-day quotas reset after `now`: midnight Pacific time, as
    Google documents them (the error names no time). Daylight saving time is the zone's
    business, hence a zone, not a fixed offset."""
    local = now.astimezone(_PACIFIC)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), _PACIFIC)
    return midnight.astimezone(UTC)


def _retry_after(headers: object, now: datetime) -> datetime | None:
    """A `retry-after` response header (seconds or an HTTP date): a hint, never a trigger.

    Not `retry-after-ms`: opencode has already waited what it says in its own retries,
    and what Agented schedules is the next run after those, on the coarser hint."""
    value = headers.get("retry-after") if isinstance(headers, dict) else None
    if not isinstance(value, str):
        return None
    if value.strip().isdigit():
        return later(now, int(value))
    with contextlib.suppress(TypeError, ValueError):
        return parsedate_to_datetime(value).astimezone(UTC)
    return None


def opencode_error(data: dict[str, Any], status: int, now: datetime) -> RateLimit | None:
    """The verdict of an opencode `error` event's `data` by its HTTP status and error body.

    The response headers it carries are read only for `retry-after`.
    """
    text = f"{data.get('message', '')} {data.get('responseBody', '')}"
    if (known := scan(text, now, "opencode", error_event=False)) is not None:
        return known  # a provider's own limit message, with its reset time
    if status == 429:
        resets_at = _retry_after(data.get("responseHeaders"), now)
        if resets_at is None and (hint := _TRY_AGAIN_IN_SECONDS.search(text)):
            resets_at = later(now, float(hint[1]))
        return RateLimit("opencode: rate limited by the provider", resets_at, transient=False)
    if status in OVERLOAD_STATUSES or "overloaded" in text.lower():
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
)


def scan(text: str, now: datetime, name: str, *, error_event: bool) -> RateLimit | None:
    for matcher in _MATCHERS:
        if (limit := matcher(text, now)) is not None:
            return limit
    if (limit := _quota(text, now, name)) is not None:
        return limit
    if error_event:
        if _ANY_OVERLOAD.search(text):
            return RateLimit(f"{name}: provider overloaded", None, transient=True)
        if _ANY_RATE_LIMIT.search(text):
            return RateLimit(f"{name}: rate limited by the provider", None, transient=False)
    return None
