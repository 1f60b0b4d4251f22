"""The MonitoringService: figures for operators, from the stores, with no HTTP.

Counts come from SQL aggregates (storage/monitoring.py) on the reader thread;
this module only picks the time ranges (UTC days and months, the last 24 hours
and 7 days) and shapes the results. The history is fed by a scheduler job
that snapshots every 5 minutes and pruned by another, so it stays cheap to
read and outlives the executions that retention deletes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import get_args

from apscheduler.triggers.interval import IntervalTrigger

from ..models import Account, ExecutionStatus, SpendLimits, iso, iso_from_unix, utc_now
from ..scheduler import SchedulerService
from ..storage.accounts import AccountStore
from ..storage.monitoring import (
    SLOT_SECONDS,
    AccountUsage,
    Bucket,
    MonitoringStore,
    Outcomes,
    Usage,
)
from .figures import (
    BUCKET_SECONDS,
    AccountStatus,
    BotStatus,
    History,
    HistoryBucket,
    HistoryPoint,
    MonitoringStatus,
    PeriodUsage,
)
from .metrics import LiveCounts, render

logger = logging.getLogger(__name__)

# Statuses of runs not yet ended. `waiting` (parked until an account or a budget frees
# up) is counted wherever it is stored, whether or not this version has it.
ACTIVE_STATUSES = ("running", "queued", "waiting")
ACTIVE_LISTED = 100  # the status lists the oldest this many; the counts are complete
PRUNE_INTERVAL = timedelta(hours=6)


def account_limits(account: Account) -> SpendLimits:
    """The spend limits configured for `account` (an account is its own limits' record)."""
    return SpendLimits.model_validate(account.model_dump(include=set(SpendLimits.model_fields)))


def _period(usage: Usage) -> PeriodUsage:
    return PeriodUsage(
        runs=usage.runs,
        tokens=usage.tokens,
        cost_usd=round(usage.cost_usd, 6),
        rate_limits=usage.rate_limits,
    )


def _rate(outcomes: Outcomes) -> float | None:
    return None if outcomes.judged == 0 else round(outcomes.succeeded / outcomes.judged, 4)


@dataclass(frozen=True, slots=True)
class _Ranges:
    now: datetime
    day_start: datetime  # 00:00 UTC today
    month_start: datetime  # 00:00 UTC on the 1st

    @classmethod
    def at(cls, now: datetime) -> _Ranges:
        day = now.replace(hour=0, minute=0, second=0, microsecond=0)
        return cls(now, day, day.replace(day=1))


class MonitoringService:
    def __init__(
        self,
        store: MonitoringStore,
        accounts: AccountStore,
        *,
        retention_days: int,
        live: Callable[[], LiveCounts],
    ) -> None:
        self._store = store
        self._accounts = accounts
        self._retention = timedelta(days=retention_days)
        self._live = live

    def install(self, scheduler: SchedulerService) -> None:
        scheduler.schedule(
            "monitoring:snapshot",
            IntervalTrigger(seconds=SLOT_SECONDS),
            self.take_snapshot,
            name="snapshot what ended for the monitoring history",
        )
        scheduler.schedule(
            "monitoring:prune",
            IntervalTrigger(seconds=PRUNE_INTERVAL.total_seconds()),
            self.prune,
            name=f"delete monitoring snapshots over {self._retention.days} days old",
        )

    async def status(self, now: datetime | None = None) -> MonitoringStatus:
        ranges = _Ranges.at(now or utc_now())
        stored = await self._store.status_counts()
        # Every status this version knows, at zero when none is stored, and any other stored.
        by_status = {status: 0 for status in get_args(ExecutionStatus)} | stored
        usage = await self._store.account_usage(ranges.day_start, ranges.month_start)
        bots = await self._store.bot_activity(
            ranges.now - timedelta(hours=24), ranges.now - timedelta(days=7)
        )
        return MonitoringStatus(
            generated_at=iso(ranges.now),
            running=stored.get("running", 0),
            queued=stored.get("queued", 0),
            waiting=stored.get("waiting", 0),
            by_status=by_status,
            active=await self._store.in_statuses(ACTIVE_STATUSES, ACTIVE_LISTED),
            accounts=[
                self._account_status(account, usage.get(account.id))
                for account in await self._accounts.list()
            ],
            bots=[
                BotStatus(
                    bot_id=bot.bot_id,
                    bot_name=bot.bot_name,
                    runs_24h=bot.day.runs,
                    success_rate_24h=_rate(bot.day),
                    runs_7d=bot.week.runs,
                    success_rate_7d=_rate(bot.week),
                )
                for bot in bots
            ],
        )

    @staticmethod
    def _account_status(account: Account, usage: AccountUsage | None) -> AccountStatus:
        usage = usage or AccountUsage(Usage(), Usage())
        return AccountStatus(
            id=account.id,
            name=account.name,
            backend=account.backend,
            state=account.state,
            limited_until=account.limited_until,
            limited_reason=account.limited_reason,
            today=_period(usage.today),
            month=_period(usage.month),
            limits=account_limits(account),
        )

    async def history(
        self, hours: int, bucket: HistoryBucket, now: datetime | None = None
    ) -> History:
        """Every `bucket` of the last `hours` hours (the first one whole), oldest first."""
        now = now or utc_now()
        size = BUCKET_SECONDS[bucket]
        first = int((now - timedelta(hours=hours)).timestamp()) // size * size
        last = int(now.timestamp()) // size * size
        found = {
            row.start: row
            for row in await self._store.history(
                datetime.fromtimestamp(first, now.tzinfo), now, size, now - self._retention
            )
        }
        points = []
        for start in range(first, last + 1, size):  # buckets, not rows: at most MAX_POINTS
            row = found.get(start) or Bucket(start, 0, 0, 0, 0, 0.0)
            points.append(
                HistoryPoint(
                    start=iso_from_unix(start),
                    runs=row.runs,
                    failures=row.failures,
                    rate_limits=row.rate_limits,
                    tokens=row.tokens,
                    cost_usd=round(row.cost_usd, 6),
                )
            )
        return History(hours=hours, bucket=bucket, points=points)

    async def take_snapshot(self, now: datetime | None = None) -> int:
        now = now or utc_now()
        return await self._store.snapshot(now, now - self._retention)

    async def prune(self, now: datetime | None = None) -> int:
        removed = await self._store.prune_snapshots((now or utc_now()) - self._retention)
        if removed:
            logger.info("monitoring: deleted %d snapshots past the retention", removed)
        return removed

    async def metrics(self) -> bytes:
        """The Prometheus text exposition of the figures as they are now."""
        return render(await self.status(), self._live())
