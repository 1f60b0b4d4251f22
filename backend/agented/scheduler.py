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
from apscheduler.triggers.date import DateTrigger

MISFIRE_GRACE_SECONDS = 300


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

    def start(self) -> None:
        self._scheduler.start()

    async def stop(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
            await asyncio.sleep(0)  # shutdown is deferred with call_soon_threadsafe

    def run_at(
        self, job_id: str, when: datetime, func: Callable[..., Awaitable[Any]], *args: Any
    ) -> None:
        """Run `func(*args)` once at `when` (at once if that is past); replaces a job of that id."""
        self._scheduler.add_job(
            func,
            DateTrigger(run_date=when),
            args=args,
            id=job_id,
            replace_existing=True,
            misfire_grace_time=None,  # a retry that is late must still run
        )

    def remove(self, job_id: str) -> None:
        if self._scheduler.get_job(job_id) is not None:
            self._scheduler.remove_job(job_id)

    def jobs(self) -> list[dict[str, Any]]:
        return [
            {
                "id": job.id,
                "name": job.name,
                "next_run_time": None
                if job.next_run_time is None
                else job.next_run_time.isoformat(),
            }
            for job in self._scheduler.get_jobs()
        ]
