"""Retries of rate-limited executions and parked runs: persisted, armed on the scheduler,
re-armed at startup.

A parked run is an execution `waiting` until its `not_before` (every account of
its chain limited, or a spend limit reached). It is kept as a pending entry
marked `parked`, listed and cancelled with the retries; when it comes due, the
same execution starts, or waits on until the next moment something frees up.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta
from typing import Any

from ..errors import BotBusy, RunRefused, ShuttingDown
from ..models import Bot, Execution, Retry, iso, utc_now
from ..scheduler import SchedulerService
from ..storage.bots import BotStore
from ..storage.retries import RetryStore
from .placement import Wait
from .retry_policy import RetryPolicy
from .service import ExecutionService
from .verdicts import RateLimit

logger = logging.getLogger(__name__)

BUSY_RETRY_DELAY = timedelta(minutes=1)


def job_id(retry_id: str) -> str:
    return f"retry:{retry_id}"


class RetryService:
    def __init__(
        self,
        retries: RetryStore,
        bots: BotStore,
        scheduler: SchedulerService,
        executions: ExecutionService,
        *,
        policy: RetryPolicy | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._retries = retries
        self._bots = bots
        self._scheduler = scheduler
        self._executions = executions
        self._policy = policy or RetryPolicy()
        self._rng = rng or random.Random()

    async def schedule(
        self, execution: Execution, bot: Bot, limit: RateLimit, context: dict[str, Any]
    ) -> Retry | None:
        """Persist and arm the next attempt, unless the attempts are used up."""
        attempt = execution.attempt + 1
        now = utc_now()
        delay = self._policy.delay(attempt, limit, now=now, rng=self._rng)
        if delay is None:
            logger.warning("execution %s: rate limited, no retries left", execution.id)
            return None
        retry = await self._retries.create(
            bot_id=bot.id,
            execution_id=execution.id,
            attempt=attempt,
            due_at=iso(now + timedelta(seconds=delay)),
            reason=limit.reason,
            context=context,
        )
        self._arm(retry, retry.due_at)
        logger.info("execution %s: retry %d due at %s", execution.id, attempt, retry.due_at)
        return retry

    async def park(
        self, execution: Execution, bot: Bot, wait: Wait, context: dict[str, Any]
    ) -> Retry:
        """Persist and arm the wake-up of a waiting execution at its `not_before`."""
        retry = await self._retries.create(
            bot_id=bot.id,
            execution_id=execution.id,
            attempt=execution.attempt,
            due_at=iso(wait.until),
            reason=wait.reason,
            context=context,
            parked=True,
        )
        self._arm(retry, retry.due_at)
        return retry

    async def rearm(self) -> int:
        """Put every pending retry back on the scheduler (overdue ones run at once)."""
        pending = await self._retries.pending()
        for retry in pending:
            if retry.parked:
                await self._executions.adopt_waiting(retry.execution_id)
            self._arm(retry, retry.due_at)
        return len(pending)

    async def cancel(self, retry_id: str) -> bool:
        """Cancel a pending retry; a parked run's execution ends `cancelled`."""
        retry = await self._retries.get(retry_id)
        cancelled = await self._retries.set_status(retry_id, "cancelled")
        self._scheduler.remove(job_id(retry_id))
        if cancelled and retry is not None and retry.parked:
            await self._executions.end_waiting(retry.execution_id)
        return cancelled

    async def cancel_waiting(self, execution_id: str) -> Execution | None:
        """Cancel a waiting execution (through its parked entry); None if it does not wait."""
        retry = await self._retries.parked_for(execution_id)
        if retry is None or not await self._retries.set_status(retry.id, "cancelled"):
            return None
        self._scheduler.remove(job_id(retry.id))
        return await self._executions.end_waiting(execution_id)

    async def pending(self) -> list[Retry]:
        return await self._retries.pending()

    async def get(self, retry_id: str) -> Retry | None:
        return await self._retries.get(retry_id)

    def _arm(self, retry: Retry, due_at: str | datetime) -> None:
        when = datetime.fromisoformat(due_at) if isinstance(due_at, str) else due_at
        self._scheduler.run_at(
            job_id(retry.id),
            when,
            self._fire,
            retry.id,
            name=f"retry {retry.attempt} of {retry.execution_id}",
            bot_id=retry.bot_id or "",
        )

    async def _fire(self, retry_id: str) -> None:
        retry = await self._retries.get(retry_id)
        if retry is None or retry.status != "pending":
            return
        bot = None if retry.bot_id is None else await self._bots.get(retry.bot_id)
        if bot is None:
            await self._retries.set_status(retry_id, "cancelled")
            if retry.parked:
                await self._executions.end_waiting(retry.execution_id)
            return
        try:
            if retry.parked:
                await self._wake(retry, bot)
                return
            execution = await self._executions.start(
                bot, "retry", retry.context, retry_of=retry.execution_id, attempt=retry.attempt
            )
        except BotBusy:  # try again shortly
            self._arm(retry, utc_now() + BUSY_RETRY_DELAY)
            return
        except ShuttingDown as refused:  # stays pending, re-armed at the next start
            logger.info("retry %s left for the next start: %s", retry_id, refused)
            return
        except RunRefused as refused:
            logger.warning("retry %s dropped: %s", retry_id, refused)
            await self._retries.set_status(retry_id, "cancelled")
            if retry.parked:
                await self._executions.end_waiting(retry.execution_id)
            return
        await self._retries.set_status(retry_id, "started", execution.id)

    async def _wake(self, retry: Retry, bot: Bot) -> None:
        """Start a parked execution, or keep it waiting until the next moment it may run."""
        woken = await self._executions.start_waiting(retry.execution_id, bot, retry.context)
        if isinstance(woken, Wait):
            await self._retries.reschedule(retry.id, iso(woken.until), woken.reason)
            self._arm(retry, woken.until)
            return
        if woken is None:  # cancelled meanwhile
            await self._retries.set_status(retry.id, "cancelled")
        else:
            await self._retries.set_status(retry.id, "started", retry.execution_id)
