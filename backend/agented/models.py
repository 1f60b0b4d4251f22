"""The records Agented keeps, each declared once as a typed model.

A record's model is the one source of its fields: request validation (the
request models in `api/schemas.py` are derived from it), responses (produced by
dumping it), the OpenAPI schema, and the database row mapping
(`storage/rows.py` reads the columns off its fields). The enums are declared
here too, once, and used everywhere.

Records are frozen. Storage builds them with `model_construct` from rows it
wrote itself: what was validated on the way in is not validated again on the
way out (a bot whose working directory has since been deleted must still load).
"""

from __future__ import annotations

import os
import secrets
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, computed_field

BackendType = Literal["claude", "codex", "gemini", "opencode", "command"]
TriggerSource = Literal["manual", "webhook", "github", "scheduled"]
TriggerType = Literal["manual", "webhook", "github", "scheduled", "retry", "fallback", "rerun"]
ExecutionStatus = Literal[
    "waiting",
    "queued",
    "running",
    "success",
    "failed",
    "timeout",
    "cancelled",
    "interrupted",
    "budget_exceeded",
]
RetryStatus = Literal["pending", "started", "cancelled"]
ScheduleType = Literal["daily", "weekly", "monthly", "cron"]
OutputFormat = Literal["stream-json", "json"]
LogStream = Literal["stdout", "stderr"]
MessageType = Literal["message", "broadcast", "request", "response", "artifact", "shutdown"]
MessagePriority = Literal["low", "normal", "high"]
MessageStatus = Literal["pending", "delivered", "read", "expired"]
AccountState = Literal["available", "limited"]
DeliverySource = Literal["webhook", "bot", "github"]
DeliveryOutcome = Literal["accepted", "refused", "duplicate", "ignored"]


def new_id(prefix: str) -> str:
    """An opaque, URL-safe id whose prefix tells what it names (bot_, exe_, agt_, msg_)."""
    return f"{prefix}_{secrets.token_hex(8)}"


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """UTC ISO-8601 with milliseconds: the one timestamp format of the API and the database."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def iso_from_unix(seconds: float) -> str:
    return iso(datetime.fromtimestamp(seconds, UTC))


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


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Template = Annotated[str, StringConstraints(min_length=1, max_length=100_000)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
FieldPath = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[\w-]+(\.[\w-]+)*$", max_length=500)
]
Repository = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[\w.-]+/[\w.-]+$", max_length=200)
]
Paths = Annotated[
    list[Annotated[str, StringConstraints(min_length=1, max_length=4096)]],
    Field(max_length=50),
    AfterValidator(_check_paths),
]
Command = Annotated[
    list[Annotated[str, StringConstraints(max_length=100_000)]],
    Field(max_length=200),
    AfterValidator(_check_command),
]
WebhookSecret = Annotated[str, StringConstraints(min_length=8, max_length=1000)]
ScheduleTime = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
ScheduleDay = Annotated[int, Field(ge=0, le=28)]
CronExpression = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
TimeZoneName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)]
RecordId = Annotated[str, StringConstraints(min_length=1, max_length=100)]
# A worker label (AGENTED_WORKER_LABELS) as a bot asks for it: lowercase, short, no commas.
WORKER_LABEL_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,39}$"
WorkerLabel = Annotated[str, StringConstraints(pattern=WORKER_LABEL_PATTERN)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=10_000)]
# A message's body: enough for a review or a patch, small enough that an inbox of
# them stays cheap to hold in a stream's tail and to render into a prompt.
MAX_MESSAGE_CHARS = 64 * 1024
MessageContent = Annotated[str, StringConstraints(min_length=1, max_length=MAX_MESSAGE_CHARS)]


class Record(BaseModel):
    # A record's published schema is what a response holds: every field present
    # (defaults included), computed fields in, excluded ones out.
    model_config = ConfigDict(
        frozen=True,
        json_schema_mode_override="serialization",
        json_schema_serialization_defaults_required=True,
    )


UsdLimit = Annotated[float, Field(gt=0, le=1_000_000)]
TokenLimit = Annotated[int, Field(ge=1, le=10**12)]
MAX_CHAIN = 20


class SpendLimits(Record):
    """Optional spend limits of a bot or an account, per UTC day and UTC month.

    Spend is what the runs' CLIs reported: `total_cost_usd`, and tokens as
    input plus output tokens (cache reads and writes not counted).
    """

    daily_usd_limit: UsdLimit | None = None
    monthly_usd_limit: UsdLimit | None = None
    daily_token_limit: TokenLimit | None = None
    monthly_token_limit: TokenLimit | None = None


class BotSettings(SpendLimits):
    """Every field a client writes, with its constraints and its default.

    A field without a default is required on creation; a field whose type does
    not admit None can be omitted but never sent as null.
    """

    name: Name
    prompt_template: Template
    backend_type: BackendType = "claude"
    trigger_source: TriggerSource = "manual"
    enabled: bool = True
    model: ShortText | None = None
    allowed_tools: ShortText | None = None
    output_format: OutputFormat = "stream-json"
    paths: Paths = Field(default_factory=list)
    command: Command | None = None
    timeout_seconds: Annotated[int, Field(ge=1, le=86_400)] = 600
    sigterm_grace_seconds: Annotated[int, Field(ge=0, le=3600)] = 10
    allow_concurrent_runs: bool = False
    worker_label: WorkerLabel | None = Field(
        default=None,
        description="With AGENTED_EXECUTOR=workers: only workers with this label "
        "(AGENTED_WORKER_LABELS) run it; None: any worker.",
    )
    # webhook trigger
    match_field_path: FieldPath | None = None
    match_field_value: Annotated[str, StringConstraints(max_length=1000)] | None = None
    text_field_path: FieldPath | None = None
    detection_keyword: ShortText | None = None
    # GitHub trigger
    repositories: Annotated[list[Repository], Field(max_length=200)] = Field(default_factory=list)
    include_drafts: bool = False
    # schedule trigger
    schedule_type: ScheduleType | None = None
    schedule_time: ScheduleTime | None = None
    schedule_day: ScheduleDay | None = None
    cron_expression: CronExpression | None = None
    schedule_timezone: TimeZoneName | None = None
    # the agent this bot acts as on the message bus (at most one)
    agent_id: RecordId | None = None
    account_chain: Annotated[list[RecordId], Field(max_length=MAX_CHAIN)] = Field(
        default_factory=list,
        description="Accounts to run on, in order: a rate-limited run goes on on the next "
        "one. A run uses its account's backend.",
    )


class Bot(BotSettings):
    """A stored bot. Its webhook secret is kept sealed and shown only as `has_webhook_secret`."""

    id: str
    created_at: str
    updated_at: str
    webhook_secret_sealed: str | None = Field(default=None, exclude=True)

    @computed_field  # type: ignore[prop-decorator]  # pydantic's documented form
    @property
    def has_webhook_secret(self) -> bool:
        return self.webhook_secret_sealed is not None


class InstalledBackend(Record):
    """A backend type and whether this server can run it: its CLI found on the runs' PATH."""

    backend_type: BackendType
    installed: bool = Field(description="Always true for `command`, which runs the bot's argv.")
    path: str | None = Field(description="Where the CLI was found; None for `command`.")
    version: str | None = Field(
        description="The first line of `<cli> --version`, or None when it gave none in time."
    )


class BotReference(Record):
    """A record that belongs to a bot, by `bot_id` (None once the bot is deleted).

    Responses also carry the bot's id as `trigger_id`, the name it had before
    "trigger" came to mean only what fires a bot; clients written against it
    keep working.
    """

    bot_id: str | None

    @computed_field  # type: ignore[prop-decorator]  # pydantic's documented form
    @property
    def trigger_id(self) -> str | None:
        """The same as `bot_id` (its former name)."""
        return self.bot_id


# How the `error_message` of a run that ended rate limited begins (then the verdict's
# reason): the run's outcome writes it, monitoring counts the runs by it.
RATE_LIMITED_PREFIX = "rate limited: "


class Execution(BotReference):
    """One run of a bot; `trigger_type` says what fired it."""

    id: str
    bot_name: str
    trigger_type: TriggerType
    status: ExecutionStatus
    backend_type: BackendType
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
    account_id: str | None = Field(description="The account it ran on; None for none.")
    not_before: str | None = Field(
        default=None, description="While `waiting`: when it starts at the earliest."
    )
    waiting_reason: str | None = Field(
        default=None, description="Why it waits (or waited): limited accounts, spend limits."
    )
    session_id: str | None = Field(
        default=None, description="The CLI's session id, which a run on the same account resumes."
    )
    run_number: int = Field(description="The bot's own count of its runs: #1, #2, …")
    rerun_of: str | None = Field(description="The execution this one re-runs, if any.")
    input_summary: str = Field(
        description="What it was given, in a line: the message, or the gist of the payload."
    )
    trigger_details: dict[str, Any] | None = Field(
        description="What fired it beyond its type: delivery id, pull request, schedule."
    )
    worker: str | None = Field(
        default=None,
        description="The worker that ran it (AGENTED_EXECUTOR=workers); None: this server.",
    )

    @computed_field  # type: ignore[prop-decorator]  # pydantic's documented form
    @property
    def trigger_name(self) -> str:
        """The same as `bot_name` (its former name)."""
        return self.bot_name


class LogLine(NamedTuple):
    """A line of an execution's output; a tuple because pages hold thousands of them (and a
    server following a worker makes one per line: a frozen dataclass cost ~1 µs each)."""

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


class DeliveryRecord(BotReference):
    """A webhook delivery as it was received and what became of it.

    Only what tells deliveries apart is kept (the sender's delivery id and event),
    never the body or a signature header; `bot_id` is None when no bot was concerned.
    """

    id: int
    received_at: str
    source: DeliverySource
    delivery_id: str | None
    event: str | None
    outcome: DeliveryOutcome
    reason: str | None
    execution_id: str | None


class Retry(BotReference):
    """A pending (or settled) retry of a rate-limited execution."""

    id: str
    execution_id: str
    attempt: int
    due_at: str
    reason: str
    context: dict[str, Any] = Field(exclude=True)  # what the retried run needs; internal
    status: RetryStatus
    parked: bool = Field(
        default=False,
        description="A parked run (its execution `waiting`), not a retry of a failed one.",
    )
    retry_execution_id: str | None = Field(exclude=True)
    created_at: str = Field(exclude=True)


class PullRequestReview(BotReference):
    """A pull-request event that fired a bot."""

    id: str
    execution_id: str | None
    repo_full_name: str
    pr_number: int
    pr_title: str
    pr_url: str
    pr_author: str
    action: str
    head_sha: str | None
    created_at: str


class ListedPullRequestReview(PullRequestReview):
    """A review as listed: with its bot's name and its execution's status.

    Both come from joins: the name is None once the bot is deleted, the status
    'unknown' once the execution is.
    """

    bot_name: str | None
    status: ExecutionStatus | Literal["unknown"]

    @computed_field  # type: ignore[prop-decorator]  # pydantic's documented form
    @property
    def trigger_name(self) -> str | None:
        """The same as `bot_name` (its former name)."""
        return self.bot_name


class AgentSettings(Record):
    """What a client writes of an agent: a name unique ignoring case, its role, a description."""

    name: Name
    role: ShortText | None = None
    description: Description | None = None


class Agent(AgentSettings):
    """A participant on the message bus; bots act as it through their `agent_id`."""

    id: str
    created_at: str
    updated_at: str


class MessageFields(Record):
    """What a sender writes of a message; the recipient is chosen by the send request."""

    message_type: MessageType = "message"
    priority: MessagePriority = "normal"
    subject: ShortText | None = None
    content: MessageContent
    ttl_seconds: Annotated[int, Field(ge=1, le=30 * 86_400)] | None = None
    in_reply_to: RecordId | None = None


class AgentMessage(MessageFields):
    """A message in one agent's inbox (a broadcast is one of these per recipient).

    `inbox_seq` numbers the recipient's inbox (its stream's event ids). The
    agents' names are kept beside their ids, which become None when an agent
    is deleted, so the history still reads.
    """

    id: str
    inbox_seq: int
    from_agent_id: str | None
    from_agent_name: str
    to_agent_id: str | None
    to_agent_name: str
    status: MessageStatus
    created_at: str
    expires_at: str | None
    delivered_at: str | None
    read_at: str | None
    # The run that sent it through MCP (api/mcp.py); None when sent through the admin API.
    from_execution_id: str | None = None


# An account's environment overlay: names a shell and `env` accept, values without
# NUL (which no process environment can hold), sizes far above any key or path.
EnvName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=200)]
EnvValue = Annotated[str, StringConstraints(pattern=r"^[^\x00]*$", max_length=16_384)]
EnvOverlay = Annotated[dict[EnvName, EnvValue], Field(max_length=100)]


class AccountSettings(SpendLimits):
    """What a client writes of an account, but its secret variables (`secret_env`, write-only)."""

    name: Name
    backend: BackendType
    env: EnvOverlay = Field(
        default_factory=dict, description="Plain variables set in the CLI's environment."
    )
    is_default: bool = Field(
        default=False, description="Runs of this backend's bots use it; at most one per backend."
    )


class Account(AccountSettings):
    """A login or API key a backend's CLI runs under, and whether its provider limits it now.

    The secret variables are kept sealed and shown only by name. The account is
    `limited` from a rate-limited run until `limited_until`, `available` after.
    """

    id: str
    created_at: str
    updated_at: str
    secret_env_names: list[str] = Field(default_factory=list)
    limited_until: str | None = None
    limited_reason: str | None = None
    secret_env_sealed: str | None = Field(default=None, exclude=True)

    @computed_field  # type: ignore[prop-decorator]  # pydantic's documented form
    @property
    def state(self) -> AccountState:
        """`limited` while `limited_until` is ahead; a reset that passed frees it by itself."""
        if self.limited_until is not None and self.limited_until > iso(utc_now()):
            return "limited"
        return "available"
