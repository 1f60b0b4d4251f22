"""The records Agented keeps, as immutable values shared by storage, services and routes."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

BackendType = Literal["claude", "codex", "gemini", "opencode", "command"]
TriggerSource = Literal["manual", "webhook", "github", "scheduled"]
TriggerType = Literal["manual", "webhook", "github", "scheduled", "retry"]
ExecutionStatus = Literal[
    "queued", "running", "success", "failed", "timeout", "cancelled", "interrupted"
]
LogStream = Literal["stdout", "stderr"]


def new_id(prefix: str) -> str:
    """An opaque, URL-safe id whose prefix tells what it names (bot_, exe_, rty_)."""
    return f"{prefix}_{secrets.token_hex(8)}"


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """UTC ISO-8601 with milliseconds: the one timestamp format of the API and the database."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def iso_from_unix(seconds: float) -> str:
    return iso(datetime.fromtimestamp(seconds, UTC))


@dataclass(frozen=True, slots=True)
class Bot:
    id: str
    name: str
    prompt_template: str
    backend_type: BackendType
    trigger_source: TriggerSource
    enabled: bool
    model: str | None
    allowed_tools: str | None
    output_format: str
    paths: tuple[str, ...]
    command: tuple[str, ...] | None
    timeout_seconds: int
    sigterm_grace_seconds: int
    allow_concurrent_runs: bool
    created_at: str
    updated_at: str
    webhook_secret_sealed: str | None = None
    match_field_path: str | None = None
    match_field_value: str | None = None
    text_field_path: str | None = None
    detection_keyword: str | None = None
    repositories: tuple[str, ...] = ()
    include_drafts: bool = False
    schedule_type: str | None = None
    schedule_time: str | None = None
    schedule_day: int | None = None
    cron_expression: str | None = None
    schedule_timezone: str | None = None


@dataclass(frozen=True, slots=True)
class Execution:
    id: str
    trigger_id: str | None
    trigger_name: str
    trigger_type: TriggerType
    status: ExecutionStatus
    backend_type: BackendType
    prompt: str
    command: tuple[str, ...]
    created_at: str
    started_at: str | None
    finished_at: str | None
    duration_ms: int | None
    exit_code: int | None
    error_message: str | None
    usage: dict[str, Any] | None
    retry_of: str | None
    attempt: int
    log_lines: int


@dataclass(frozen=True, slots=True)
class LogLine:
    seq: int
    stream: LogStream
    content: str
    timestamp: float  # Unix time

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "stream": self.stream,
            "content": self.content,
            "timestamp": iso_from_unix(self.timestamp),
        }


@dataclass(frozen=True, slots=True)
class Retry:
    id: str
    trigger_id: str | None
    execution_id: str
    attempt: int
    due_at: str
    reason: str
    context: dict[str, Any]
    status: Literal["pending", "started", "cancelled"]
    retry_execution_id: str | None
    created_at: str
