"""Request and response models: validation of what comes in and the published OpenAPI schema.

Nothing here declares a record's fields again: the request models of bots,
agents, messages and accounts are built from `models.BotSettings`,
`AgentSettings`, `MessageFields` and `AccountSettings`, and responses are the records of `models.py`
or thin views adding what a route joins in (a bot's next run, a retry's bot name).
Requests are strict (no type coercion, unknown fields rejected) so a typo in a
field name is an error rather than a silently ignored setting.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Optional, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    computed_field,
    create_model,
    field_validator,
    model_validator,
)

from ..executions.conversation import ConversationEntry
from ..models import (
    Account,
    AccountSettings,
    Agent,
    AgentMessage,
    AgentSettings,
    Bot,
    BotSettings,
    DeliveryRecord,
    EnvOverlay,
    Execution,
    ExecutionStatus,
    InstalledBackend,
    ListedPullRequestReview,
    LogStream,
    MessageFields,
    MessageStatus,
    RecordId,
    Retry,
    TriggerType,
    WebhookSecret,
    iso,
)
from ..monitoring.figures import BUCKET_SECONDS, HistoryBucket
from ..storage.executions import Filters

MAX_OFFSET = 2**53  # beyond any real count; keeps numbers inside SQLite's integers

Message = Annotated[str, StringConstraints(max_length=100_000)]


class Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


def _request_model(
    settings: type[BaseModel], name: str, doc: str, *, partial: bool, extra: dict[str, Any]
) -> type[Strict]:
    """A strict request model with `settings`' fields and constraints, plus `extra` fields.

    Every field is optional and may be sent as null (which `non_nullable` then
    lets the route refuse by name), except, unless `partial`, the settings
    without a default.
    """
    fields: dict[str, Any] = {}
    for field_name, info in settings.model_fields.items():
        annotation: Any = info.annotation
        if info.metadata:  # constraints and validators travel with the type
            annotation = Annotated[(annotation, *info.metadata)]
        if partial or not info.is_required():
            fields[field_name] = (Optional[annotation], None)  # noqa: UP045  # a runtime value
        else:
            fields[field_name] = (annotation, ...)
    return create_model(name, __base__=Strict, __doc__=doc, **fields, **extra)


def defaults(settings: type[BaseModel]) -> dict[str, Any]:
    """The default of every optional field of `settings`."""
    return {
        name: info.get_default(call_default_factory=True)
        for name, info in settings.model_fields.items()
        if not info.is_required()
    }


def non_nullable(settings: type[BaseModel]) -> tuple[str, ...]:
    """The fields of `settings` that cannot be null (omit them to keep their value)."""
    return tuple(
        name
        for name, info in settings.model_fields.items()
        if type(None) not in get_args(info.annotation)
    )


_SECRET = {"webhook_secret": (Optional[WebhookSecret], None)}  # noqa: UP045
BotCreate = _request_model(
    BotSettings,
    "BotCreate",
    "A new bot: `name` and `prompt_template`, the rest defaulted.",
    partial=False,
    extra=_SECRET,
)
BotUpdate = _request_model(
    BotSettings, "BotUpdate", "Changes to a bot: only the fields sent.", partial=True, extra=_SECRET
)
BOT_DEFAULTS = defaults(BotSettings)
NON_NULLABLE = non_nullable(BotSettings)

AgentCreate = _request_model(
    AgentSettings, "AgentCreate", "A new agent: a `name`, optionally more.", partial=False, extra={}
)
AgentUpdate = _request_model(
    AgentSettings,
    "AgentUpdate",
    "Changes to an agent: only the fields sent.",
    partial=True,
    extra={},
)
AGENT_DEFAULTS = defaults(AgentSettings)
AGENT_NON_NULLABLE = non_nullable(AgentSettings)

MessageSend = _request_model(
    MessageFields,
    "MessageSend",
    "A message to send: to `to_agent_id`, or to every other agent as a `broadcast`.",
    partial=False,
    extra={"to_agent_id": (Optional[RecordId], None)},  # noqa: UP045
)
MESSAGE_DEFAULTS = defaults(MessageFields)
MESSAGE_NON_NULLABLE = non_nullable(MessageFields)

_SECRET_ENV = {
    "secret_env": (
        Optional[EnvOverlay],  # noqa: UP045  # a runtime value
        Field(
            default=None,
            description="Secret variables, stored encrypted and never shown; sending them "
            "replaces the former set, null clears it.",
        ),
    )
}
AccountCreate = _request_model(
    AccountSettings,
    "AccountCreate",
    "A new account: a `name` and a `backend`, optionally its variables.",
    partial=False,
    extra=_SECRET_ENV,
)
AccountUpdate = _request_model(
    AccountSettings,
    "AccountUpdate",
    "Changes to an account: only the fields sent.",
    partial=True,
    extra=_SECRET_ENV,
)
ACCOUNT_DEFAULTS = defaults(AccountSettings)
ACCOUNT_NON_NULLABLE = non_nullable(AccountSettings)


class AccountList(BaseModel):
    accounts: list[Account]


class LastExecution(BaseModel):
    id: str
    status: ExecutionStatus
    started_at: str | None
    finished_at: str | None


class BotOut(Bot):
    """A bot as the API shows it, with when it fires next and how its last run went."""

    next_run_at: str | None
    last_execution: LastExecution | None = None
    schedule_cron: str | None = Field(
        default=None, description="A scheduled bot's schedule as a 5-field cron expression."
    )


class BotList(BaseModel):
    bots: list[BotOut]
    triggers: list[BotOut] = Field(
        description="The same list under its former key, kept for clients written against it."
    )


class RunRequest(Strict):
    message: Message = ""


class RunAccepted(BaseModel):
    execution_id: str
    status: ExecutionStatus


class PreviewOut(BaseModel):
    prompt: str
    unresolved: list[str]


class LogLineOut(BaseModel):
    seq: int
    stream: LogStream
    content: str
    timestamp: str


class ExecutionDetail(Execution):
    logs: list[LogLineOut]
    logs_truncated: bool = Field(
        description="More lines follow: ask again with after_seq set to the last seq (with "
        "before_seq: more lines precede; ask again with before_seq set to the first seq). A page "
        "ends at `limit` lines or at about 512 KiB of log text, whichever comes first."
    )
    input: dict[str, Any] | None = Field(
        default=None,
        description="What the prompt template was given (message, webhook payload, pull "
        "request), with the values of secret-looking keys redacted; None for runs recorded "
        "before inputs were kept.",
    )
    lineage: list[Execution] = Field(
        default_factory=list,
        description="The runs this one retried or re-ran, nearest first (the retry chain).",
    )


class RerunRequest(Strict):
    """Changes to the input before running it again ("Run with…"); nothing sent: the same."""

    message: Message | None = None
    payload: dict[str, Any] | None = None


class ExecutionPage(BaseModel):
    executions: list[Execution]
    total: int
    limit: int
    offset: int


class ExecutionQuery(BaseModel):
    """Filters and a page of the executions list; an unknown parameter is refused by name."""

    model_config = ConfigDict(extra="forbid")

    status: ExecutionStatus | None = None
    bot_id: str | None = Field(default=None, max_length=100)
    trigger_id: str | None = Field(
        default=None, max_length=100, description="The former name of `bot_id`; either works."
    )
    trigger_type: TriggerType | None = None
    since: datetime | None = Field(
        default=None, description="Created at or after (ISO-8601 date or time; UTC if no zone)."
    )
    until: datetime | None = Field(default=None, description="Created before (as `since`).")
    q: str | None = Field(
        default=None, min_length=1, max_length=1000, description="Text in the prompt (any case)."
    )
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)

    @field_validator("since", "until")
    @classmethod
    def _in_utc(cls, value: datetime | None) -> datetime | None:
        """A time sent without a zone is UTC (the zone of every stored timestamp)."""
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=UTC)

    @model_validator(mode="after")
    def _one_bot(self) -> ExecutionQuery:
        if None not in (self.bot_id, self.trigger_id) and self.bot_id != self.trigger_id:
            raise ValueError("trigger_id: names another bot than bot_id; send only bot_id")
        if self.since is not None and self.until is not None and self.until <= self.since:
            raise ValueError("until: must be later than since")
        return self

    def filters(self, bot_id: str | None = None) -> Filters:
        """The store's filters for this query (`bot_id` for a bot's own list)."""
        return Filters(
            status=self.status,
            bot_id=bot_id if bot_id is not None else self.bot_of(),
            trigger_type=self.trigger_type,
            since=None if self.since is None else iso(self.since),
            until=None if self.until is None else iso(self.until),
            text=self.q,
        )

    def bot_of(self) -> str | None:
        """The bot whose executions are asked for, by either name of the parameter."""
        return self.bot_id if self.bot_id is not None else self.trigger_id


class LogQuery(BaseModel):
    q: str | None = Field(default=None, max_length=1000)
    after_seq: int = Field(default=0, ge=0, le=MAX_OFFSET)
    before_seq: int | None = Field(
        default=None,
        ge=1,
        le=MAX_OFFSET,
        description="The newest lines below this seq instead (in seq order); with a seq past "
        "the end, the log's last page.",
    )
    limit: int = Field(default=1000, ge=1, le=10_000)


class ConversationQuery(BaseModel):
    after_seq: int = Field(default=0, ge=0, le=MAX_OFFSET)
    limit: int = Field(
        default=5000, ge=1, le=10_000, description="Log lines to read (most hold no entry)."
    )


class ConversationPage(BaseModel):
    """A page of a run's conversation, derived from its stored log lines."""

    execution_id: str
    status: ExecutionStatus
    entries: list[ConversationEntry]
    last_seq: int = Field(
        description="The last log line read; while `more`, ask again with after_seq set to it. "
        "A page ends at `limit` lines or at about 512 KiB of entries."
    )
    more: bool
    usage: dict[str, Any] | None = Field(description="The run's totals, once it has ended.")


class LogSearchTerms(BaseModel):
    q: str = Field(min_length=1, max_length=1000)
    regex: bool = Field(default=False, description="`q` is a regular expression.")
    case_sensitive: bool = False


class LogSearchQuery(LogSearchTerms):
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET, description="The first match to return.")
    at_seq: int | None = Field(
        default=None,
        ge=0,
        le=MAX_OFFSET,
        description="Start the window at the first match at or after this seq (not `offset`).",
    )
    limit: int = Field(default=1000, ge=0, le=10_000)
    lines: bool = Field(default=False, description="Return the window's lines, not only seqs.")


class LogSearchResult(BaseModel):
    total: int = Field(description="Matching lines in the whole stored log.")
    offset: int = Field(description="The index of the first match in `matches`.")
    matches: list[int] = Field(description="The seqs of the matching lines in this window.")
    lines: list[LogLineOut] = Field(description="Those lines, when asked for with `lines`.")
    searched_to: int = Field(description="The last seq the search covered.")


class LogSearchFirstQuery(LogSearchTerms):
    from_seq: int = Field(default=1, ge=1, le=MAX_OFFSET, description="Where to look from.")
    around: int = Field(
        default=0,
        ge=0,
        le=1000,
        description="Return this many stored lines around the match too (a screenful to show "
        "it in, without asking again).",
    )


class LogSearchFirst(BaseModel):
    seq: int | None = Field(
        description="The first matching line at or after `from_seq`, else the first of the "
        "log; null when no line matches."
    )
    wrapped: bool = Field(description="No line matches from `from_seq` on: `seq` is before it.")
    lines: list[LogLineOut] = Field(description="The lines around the match, when asked for.")


class LogTextQuery(BaseModel):
    timestamps: bool = Field(default=False, description="Start each line with its timestamp.")


class RetryOut(Retry):
    """A pending retry, with the name of its bot (None once the bot is deleted)."""

    bot_name: str | None

    @computed_field  # type: ignore[prop-decorator]  # pydantic's documented form
    @property
    def trigger_name(self) -> str | None:
        """The same as `bot_name` (its former name)."""
        return self.bot_name


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


class PullRequestReviewList(BaseModel):
    reviews: list[ListedPullRequestReview]


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


class BackendList(BaseModel):
    backends: list[InstalledBackend]


class AgentBot(BaseModel):
    id: str
    name: str


class AgentOut(Agent):
    """An agent as the API shows it: the bots acting as it, and how many messages await it."""

    bots: list[AgentBot]
    unread: int = Field(description="Messages to it not yet read nor expired.")


class AgentList(BaseModel):
    agents: list[AgentOut]


class MessagesSent(BaseModel):
    message_ids: list[str]
    messages: list[AgentMessage]


class MessageList(BaseModel):
    messages: list[AgentMessage]


class InboxQuery(BaseModel):
    status: MessageStatus | None = None
    limit: int = Field(default=100, ge=1, le=1000)


class OutboxQuery(BaseModel):
    limit: int = Field(default=100, ge=1, le=1000)


class DeliveryList(BaseModel):
    deliveries: list[DeliveryRecord]


class DeliveryQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=50, ge=1, le=500)


class ErrorOut(BaseModel):
    error: str
    field: str | None = None


MAX_HISTORY_HOURS = 24 * 90
MAX_HISTORY_POINTS = 2016  # a week of 5-minute buckets


class HistoryQuery(BaseModel):
    hours: int = Field(default=24, ge=1, le=MAX_HISTORY_HOURS)
    bucket: HistoryBucket = "1h"

    @model_validator(mode="after")
    def _few_enough_points(self) -> HistoryQuery:
        points = self.hours * 3600 // BUCKET_SECONDS[self.bucket]
        if points > MAX_HISTORY_POINTS:
            raise ValueError(
                f"bucket: {self.bucket} buckets over {self.hours} hours make {points} points, "
                f"more than {MAX_HISTORY_POINTS}; choose a larger bucket"
            )
        return self
