"""Spend limits: what bots and accounts spent this UTC day and month, and when a limit bites.

Spend is what the CLIs report (`usage` of each execution): `total_cost_usd`, and
tokens as input plus output tokens. Periods are the UTC day and the UTC month,
so they reset at midnight UTC and on the first of the month. A run is checked
twice: before it starts (over a limit already: it waits until the period
resets) and as its usage arrives (crossing a limit: it is stopped). The check
while running adds only the run's own usage to what was spent when it started,
so two runs of one account at the same time may each stay just under a limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from ..models import SpendLimits, iso


@dataclass(frozen=True, slots=True)
class Spend:
    usd: float = 0.0
    tokens: int = 0

    def plus(self, usage: dict[str, Any] | None) -> Spend:
        """This spend and a run's `usage` as the CLI reported it."""
        if not usage:
            return self
        cost = usage.get("total_cost_usd") or 0.0
        tokens = (usage.get("input_tokens") or 0) + (usage.get("output_tokens") or 0)
        return Spend(self.usd + cost, self.tokens + tokens)


@dataclass(frozen=True, slots=True)
class Spent:
    """Spend of one bot or account in the current UTC day and month."""

    day: Spend = Spend()
    month: Spend = Spend()

    def plus(self, usage: dict[str, Any] | None) -> Spent:
        return Spent(self.day.plus(usage), self.month.plus(usage))


@dataclass(frozen=True, slots=True)
class LimitReached:
    """A spend limit reached: the reason to show, and when its period resets."""

    reason: str
    until: datetime


class SpendTotals(Protocol):
    """Where spend is summed: the executions' stored usage (ExecutionStore)."""

    async def spend_totals(
        self, *, bot_id: str | None = None, account_id: str | None = None, day: str, month: str
    ) -> tuple[float, int, float, int]: ...


async def spent(
    totals: SpendTotals, now: datetime, *, bot_id: str | None = None, account_id: str | None = None
) -> Spent:
    """What a bot (or an account) spent in the UTC day and month of `now`."""
    day_usd, day_tokens, month_usd, month_tokens = await totals.spend_totals(
        bot_id=bot_id, account_id=account_id, day=iso(day_start(now)), month=iso(month_start(now))
    )
    return Spent(Spend(day_usd, day_tokens), Spend(month_usd, month_tokens))


def day_start(now: datetime) -> datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def month_start(now: datetime) -> datetime:
    return day_start(now).replace(day=1)


def next_day(now: datetime) -> datetime:
    return day_start(now) + timedelta(days=1)


def next_month(now: datetime) -> datetime:
    return (month_start(now) + timedelta(days=32)).replace(day=1)


def has_limits(limits: SpendLimits) -> bool:
    return any(
        value is not None
        for value in (
            limits.daily_usd_limit,
            limits.monthly_usd_limit,
            limits.daily_token_limit,
            limits.monthly_token_limit,
        )
    )


def limit_reached(
    owner: str, limits: SpendLimits, spent: Spent, now: datetime
) -> LimitReached | None:
    """The first of `owner`'s limits that `spent` has reached, if any (daily before monthly)."""
    checks = (
        ("daily", "USD", limits.daily_usd_limit, spent.day.usd, next_day),
        ("daily", "token", limits.daily_token_limit, spent.day.tokens, next_day),
        ("monthly", "USD", limits.monthly_usd_limit, spent.month.usd, next_month),
        ("monthly", "token", limits.monthly_token_limit, spent.month.tokens, next_month),
    )
    for period, unit, limit, amount, resets in checks:
        if limit is not None and amount >= limit:
            shown = f"${amount:.2f} of ${limit:.2f}" if unit == "USD" else f"{amount} of {limit}"
            return LimitReached(f"{owner}: {period} {unit} limit reached ({shown})", resets(now))
    return None
