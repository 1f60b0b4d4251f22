"""The one APScheduler 3 AsyncIOScheduler, running on the serving event loop.

Started in the serving lifecycle (APScheduler >= 3.11 binds to the running
loop in `start()`); job functions are coroutines, so they run on the loop and
must hand long work to tasks. Missed runs are coalesced and get a generous
grace time, since a loop busy for more than APScheduler's default one second
would otherwise silently skip them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.base import STATE_PAUSED, STATE_RUNNING
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.date import DateTrigger

MISFIRE_GRACE_SECONDS = 300

JobFunction = Callable[..., Awaitable[Any]]


class SchedulerService:
    def __init__(self) -> None:
        self._scheduler = AsyncIOScheduler(
            timezone="UTC",
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": MISFIRE_GRACE_SECONDS,
            },
        )
        self._bot_of_job: dict[str, str | None] = {}

    def start(self) -> None:
        self._scheduler.start()

    def pause(self) -> None:
        """Hold every job: what falls due meanwhile fires once (coalesced) on `resume`."""
        if self._scheduler.state == STATE_RUNNING:
            self._scheduler.pause()

    def resume(self) -> None:
        if self._scheduler.state == STATE_PAUSED:
            self._scheduler.resume()

    @property
    def paused(self) -> bool:
        return bool(self._scheduler.state == STATE_PAUSED)

    async def stop(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
            await asyncio.sleep(0)  # shutdown is deferred with call_soon_threadsafe

    def schedule(
        self,
        job_id: str,
        trigger: BaseTrigger,
        func: JobFunction,
        *args: Any,
        name: str,
        bot_id: str | None = None,
        **options: Any,
    ) -> None:
        """Run `func(*args)` whenever `trigger` fires; replaces any job with this id."""
        self._scheduler.add_job(
            func, trigger, args=args, id=job_id, name=name, replace_existing=True, **options
        )
        self._bot_of_job[job_id] = bot_id

    def run_at(
        self, job_id: str, when: datetime, func: JobFunction, *args: Any, name: str, bot_id: str
    ) -> None:
        """Run `func(*args)` once at `when`, or at once if that is past (never dropped as late)."""
        self.schedule(
            job_id,
            DateTrigger(run_date=when),
            func,
            *args,
            name=name,
            bot_id=bot_id,
            misfire_grace_time=None,
        )

    def remove(self, job_id: str) -> None:
        self._bot_of_job.pop(job_id, None)
        if self._scheduler.get_job(job_id) is not None:
            self._scheduler.remove_job(job_id)

    def next_run_time(self, job_id: str) -> str | None:
        job = self._scheduler.get_job(job_id)
        return None if job is None or job.next_run_time is None else job.next_run_time.isoformat()

    def jobs(self) -> list[dict[str, Any]]:
        return [
            {
                "id": job.id,
                "name": job.name,
                "bot_id": self._bot_of_job.get(job.id),
                "trigger_id": self._bot_of_job.get(job.id),  # bot_id's former name
                "next_run_time": None
                if job.next_run_time is None
                else job.next_run_time.isoformat(),
            }
            for job in self._scheduler.get_jobs()
        ]
