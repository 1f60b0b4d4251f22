"""The figures monitoring reports: the service returns them and the API publishes them as is.

Declared once here, below the edge, so the routes, the OpenAPI schema and the
dashboard's generated types all read the same fields.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from ..models import AccountState, BackendType, Execution, SpendLimits

HistoryBucket = Literal["5m", "15m", "1h", "6h", "1d"]
BUCKET_SECONDS: dict[HistoryBucket, int] = {
    "5m": 300,
    "15m": 900,
    "1h": 3600,
    "6h": 6 * 3600,
    "1d": 86_400,
}


class PeriodUsage(BaseModel):
    """What an account's runs created in a period amounted to."""

    runs: int
    tokens: int = Field(description="Input and output tokens the CLIs reported.")
    cost_usd: float = Field(description="Cost the CLIs reported (claude, opencode).")
    rate_limits: int = Field(description="Runs that ended rate limited.")


class AccountStatus(BaseModel):
    """An account's state and its use today and this month (UTC), against its limits."""

    id: str
    name: str
    backend: BackendType
    state: AccountState
    limited_until: str | None
    limited_reason: str | None = Field(description="Why it was last limited.")
    today: PeriodUsage
    month: PeriodUsage
    limits: SpendLimits = Field(description="Its spend limits; each null when none is set.")


class BotStatus(BaseModel):
    """A bot's runs over the last 24 hours and 7 days, and the share that succeeded."""

    bot_id: str
    bot_name: str
    runs_24h: int
    success_rate_24h: float | None = Field(
        description="Successes over ended runs (cancelled ones left out); null without any."
    )
    runs_7d: int
    success_rate_7d: float | None


class MonitoringStatus(BaseModel):
    generated_at: str
    running: int
    queued: int
    waiting: int = Field(description="Runs parked until an account or a budget frees up.")
    by_status: dict[str, int] = Field(description="Stored executions per status.")
    active: list[Execution] = Field(description="Running, queued and waiting runs, oldest first.")
    accounts: list[AccountStatus]
    bots: list[BotStatus]


class HistoryPoint(BaseModel):
    """What ended in one bucket, from `start`."""

    start: str
    runs: int
    failures: int = Field(description="Ended neither success nor cancelled.")
    rate_limits: int
    tokens: int
    cost_usd: float


class History(BaseModel):
    hours: int
    bucket: HistoryBucket
    points: list[HistoryPoint] = Field(description="Every bucket of the range, oldest first.")
