"""Request and response models: validation of what comes in and the published OpenAPI schema.

Requests are strict (no type coercion, unknown fields rejected) so a typo in a
field name is an error rather than a silently ignored setting.
"""

from __future__ import annotations

import os
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

MAX_OFFSET = 2**53  # beyond any real count; keeps numbers inside SQLite's integers

BackendType = Literal["claude", "codex", "gemini", "opencode", "command"]
TriggerSource = Literal["manual", "webhook", "github", "scheduled"]
OutputFormat = Literal["stream-json", "json"]

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Template = Annotated[str, StringConstraints(min_length=1, max_length=100_000)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
Message = Annotated[str, StringConstraints(max_length=100_000)]
FieldPath = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[\w-]+(\.[\w-]+)*$", max_length=500)
]
Repository = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[\w.-]+/[\w.-]+$", max_length=200)
]
ScheduleType = Literal["daily", "weekly", "monthly", "cron"]


class Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


def _check_paths(paths: list[str] | None) -> list[str] | None:
    if paths is None:
        return None
    for path in paths:
        if not os.path.isabs(path):
            raise ValueError(f"{path!r} is not an absolute path")
        if not os.path.isdir(path):
            raise ValueError(f"{path!r} is not an existing directory")
    return paths


def _check_command(command: list[str] | None) -> list[str] | None:
    if command is not None and (not command or not command[0].strip()):
        raise ValueError("must be a non-empty argv list whose first item is the program")
    return command


class BotFields(Strict):
    """Every bot field, all optional: the base of creation (with defaults) and of updates."""

    name: Name | None = None
    prompt_template: Template | None = None
    backend_type: BackendType | None = None
    trigger_source: TriggerSource | None = None
    enabled: bool | None = None
    model: ShortText | None = None
    allowed_tools: ShortText | None = None
    output_format: OutputFormat | None = None
    paths: list[Annotated[str, StringConstraints(min_length=1, max_length=4096)]] | None = Field(
        default=None, max_length=50
    )
    command: list[Annotated[str, StringConstraints(max_length=100_000)]] | None = Field(
        default=None, max_length=200
    )
    timeout_seconds: int | None = Field(default=None, ge=1, le=86_400)
    sigterm_grace_seconds: int | None = Field(default=None, ge=0, le=3600)
    allow_concurrent_runs: bool | None = None
    webhook_secret: Annotated[str, StringConstraints(min_length=8, max_length=1000)] | None = None
    match_field_path: FieldPath | None = None
    match_field_value: Annotated[str, StringConstraints(max_length=1000)] | None = None
    text_field_path: FieldPath | None = None
    detection_keyword: ShortText | None = None
    repositories: list[Repository] | None = Field(default=None, max_length=200)
    include_drafts: bool | None = None
    schedule_type: ScheduleType | None = None
    schedule_time: (
        Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")] | None
    ) = None
    schedule_day: int | None = Field(default=None, ge=0, le=28)
    cron_expression: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None
    ) = None
    schedule_timezone: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None
    ) = None

    _paths = field_validator("paths")(_check_paths)
    _command = field_validator("command")(_check_command)


BOT_DEFAULTS: dict[str, Any] = {
    "backend_type": "claude",
    "trigger_source": "manual",
    "enabled": True,
    "model": None,
    "allowed_tools": None,
    "output_format": "stream-json",
    "paths": [],
    "command": None,
    "timeout_seconds": 600,
    "sigterm_grace_seconds": 10,
    "allow_concurrent_runs": False,
    "repositories": [],
    "include_drafts": False,
}

NON_NULLABLE = ("name", "prompt_template", *(k for k, v in BOT_DEFAULTS.items() if v is not None))


class BotCreate(BotFields):
    name: Name
    prompt_template: Template


class BotUpdate(BotFields):
    pass


class BotOut(BaseModel):
    id: str
    name: str
    prompt_template: str
    backend_type: BackendType
    trigger_source: TriggerSource
    enabled: bool
    model: str | None
    allowed_tools: str | None
    output_format: OutputFormat
    paths: list[str]
    command: list[str] | None
    timeout_seconds: int
    sigterm_grace_seconds: int
    allow_concurrent_runs: bool
    has_webhook_secret: bool
    match_field_path: str | None
    match_field_value: str | None
    text_field_path: str | None
    detection_keyword: str | None
    repositories: list[str]
    include_drafts: bool
    schedule_type: ScheduleType | None
    schedule_time: str | None
    schedule_day: int | None
    cron_expression: str | None
    schedule_timezone: str | None
    next_run_at: str | None
    created_at: str
    updated_at: str
    last_execution: dict[str, Any] | None = None


class BotList(BaseModel):
    triggers: list[BotOut]


class RunRequest(Strict):
    message: Message = ""


class RunAccepted(BaseModel):
    execution_id: str
    status: str


class PreviewOut(BaseModel):
    prompt: str
    unresolved: list[str]


class ExecutionOut(BaseModel):
    id: str
    trigger_id: str | None
    trigger_name: str
    trigger_type: str
    status: str
    backend_type: str
    prompt: str
    command: list[str]
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


class LogLineOut(BaseModel):
    seq: int
    stream: Literal["stdout", "stderr"]
    content: str
    timestamp: str


class ExecutionDetail(ExecutionOut):
    logs: list[LogLineOut]
    logs_truncated: bool = Field(
        description="More lines follow: ask again with after_seq set to the last seq. A page "
        "ends at `limit` lines or at about 512 KiB of log text, whichever comes first."
    )


class ExecutionPage(BaseModel):
    executions: list[ExecutionOut]
    total: int
    limit: int
    offset: int


class ExecutionQuery(BaseModel):
    status: (
        Literal["queued", "running", "success", "failed", "timeout", "cancelled", "interrupted"]
        | None
    ) = None
    trigger_id: str | None = None
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)


class LogQuery(BaseModel):
    q: str | None = Field(default=None, max_length=1000)
    after_seq: int = Field(default=0, ge=0, le=MAX_OFFSET)
    limit: int = Field(default=1000, ge=1, le=10_000)


class RetryOut(BaseModel):
    id: str
    trigger_id: str | None
    trigger_name: str | None
    execution_id: str
    attempt: int
    due_at: str
    reason: str
    status: str


class RetryList(BaseModel):
    retries: list[RetryOut]


class DailyCount(BaseModel):
    date: str
    total: int
    failed: int


class DailyStats(BaseModel):
    days: list[DailyCount]


class StatsQuery(BaseModel):
    days: int = Field(default=14, ge=1, le=366)


class WebhookAccepted(BaseModel):
    execution_ids: list[str]
    duplicate: bool = False


class PullRequestReview(BaseModel):
    id: str
    trigger_id: str | None
    trigger_name: str | None
    execution_id: str | None
    status: str
    repo_full_name: str
    pr_number: int
    pr_title: str
    pr_url: str
    pr_author: str
    action: str
    head_sha: str | None
    created_at: str


class PullRequestReviewList(BaseModel):
    reviews: list[PullRequestReview]


class PullRequestReviewQuery(BaseModel):
    repo: str | None = Field(default=None, max_length=200)
    status: str | None = Field(default=None, max_length=20)
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)


class StreamTokenRequest(Strict):
    path: Annotated[str, StringConstraints(max_length=300)]


class StreamTokenOut(BaseModel):
    token: str
    expires_at: str


class ErrorOut(BaseModel):
    error: str
    field: str | None = None
