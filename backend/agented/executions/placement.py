"""Where a run goes: on which account, with which spend budgets, or to wait until when.

The run service asks its `RunPlacer` (the account service) before every start.
The answer is a `Placement` (an account, or none, as before accounts existed,
and the spend budgets the run must stay within) or a `Wait`: every account the
bot may use is limited or over its spend limits, or the bot is over its own,
so the run is parked until the earliest moment one of them frees up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from ..models import BackendType, Bot, SpendLimits
from .spend import Spent, limit_reached
from .verdicts import RateLimit


@dataclass(frozen=True, slots=True)
class Budget:
    """One owner's spend limits and what it had spent when the run started."""

    owner: str  # "bot 'x'" or "account 'y'", for the reason shown
    limits: SpendLimits
    spent: Spent

    def reached(self, usage: dict[str, Any] | None, now: datetime) -> str | None:
        """The reason, when the run's `usage` so far takes the owner to one of its limits."""
        reached = limit_reached(self.owner, self.limits, self.spent.plus(usage), now)
        return None if reached is None else reached.reason


@dataclass(frozen=True, slots=True)
class Placement:
    account_id: str | None = None
    account_name: str | None = None
    backend: BackendType | None = None  # the account's; None: the bot's own
    overlay: dict[str, str] = field(default_factory=dict)
    budgets: tuple[Budget, ...] = ()


@dataclass(frozen=True, slots=True)
class Wait:
    until: datetime
    reason: str


class RunPlacer(Protocol):
    """Which account a run uses, and where a rate-limited run's account is marked limited."""

    def now(self) -> datetime: ...

    async def place(self, bot: Bot) -> Placement | Wait: ...

    async def budgets_of(self, bot: Bot, account_id: str | None) -> tuple[Budget, ...]:
        """The budgets of a run already under way on `account_id` (followed again after a
        restart, so never placed by this server)."""
        ...

    async def rate_limited(self, account_id: str, limit: RateLimit) -> None: ...

    async def name_of(self, account_id: str | None) -> str:
        """How log lines name an account."""
        ...
