"""Periodic clean-up jobs on the shared scheduler: old delivery ids and records, old executions."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from apscheduler.triggers.interval import IntervalTrigger

from .models import iso, utc_now
from .scheduler import SchedulerService
from .storage.deliveries import DeliveryStore
from .storage.delivery_records import KEEP_DAYS, DeliveryRecordStore
from .storage.executions import ExecutionStore

logger = logging.getLogger(__name__)


class Housekeeping:
    def __init__(
        self,
        scheduler: SchedulerService,
        deliveries: DeliveryStore,
        executions: ExecutionStore,
        records: DeliveryRecordStore,
        *,
        dedup_window_seconds: float,
        retention_days: int,
    ) -> None:
        self._records = records
        self._scheduler = scheduler
        self._deliveries = deliveries
        self._executions = executions
        self._dedup_window = dedup_window_seconds
        self._retention_days = retention_days

    def install(self) -> None:
        self._scheduler.schedule(
            "housekeeping:deliveries",
            IntervalTrigger(hours=1),
            self.forget_deliveries,
            name="forget webhook delivery ids past the dedup window",
        )
        self._scheduler.schedule(
            "housekeeping:delivery-records",
            IntervalTrigger(hours=1),
            self.prune_delivery_records,
            name=f"keep {KEEP_DAYS} days of webhook delivery records, a bounded number per bot",
        )
        if self._retention_days > 0:
            self._scheduler.schedule(
                "housekeeping:retention",
                IntervalTrigger(hours=6),
                self.apply_retention,
                name=f"delete executions finished over {self._retention_days} days ago",
            )

    async def forget_deliveries(self) -> int:
        return await self._deliveries.forget_before(time.time() - self._dedup_window)

    async def prune_delivery_records(self) -> int:
        return await self._records.prune(iso(utc_now() - timedelta(days=KEEP_DAYS)))

    async def apply_retention(self) -> int:
        cutoff = iso(utc_now() - timedelta(days=self._retention_days))
        removed = await self._executions.delete_finished_before(cutoff)
        if removed:
            logger.info("retention: deleted %d executions finished before %s", removed, cutoff)
        return removed
