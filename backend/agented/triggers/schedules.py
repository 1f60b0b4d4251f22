"""Bot schedules on the shared AsyncIOScheduler: built from a bot's fields, kept in step.

A job only starts an execution (a task) and returns, so a long run never holds
up the scheduler. A job that fires while the bot's previous run is still going
is skipped and the skip recorded, never stacked.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any, get_args

import pytz
import tzlocal
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger

from ..errors import RunRefused
from ..executions.service import ExecutionService
from ..models import Bot, ScheduleType, iso, utc_now
from ..scheduler import SchedulerService
from ..storage.bots import BotStore
from ..storage.schedule_skips import ScheduleSkipStore

logger = logging.getLogger(__name__)

SCHEDULE_TYPES: tuple[str, ...] = get_args(ScheduleType)
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ScheduleError(ValueError):
    """A bot's schedule fields do not describe a schedule; `field` names the culprit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def default_timezone(configured: str | None) -> str:
    """`configured` (the TZ setting) when it names a zone, else the host's zone, else UTC."""
    for candidate in (configured, _host_zone()):
        if candidate and candidate in pytz.all_timezones_set:
            return candidate
    return "UTC"


def _host_zone() -> str:
    try:
        return tzlocal.get_localzone_name() or ""
    except Exception:  # an unreadable or odd host configuration
        return ""


def build_trigger(values: Mapping[str, Any], default_zone: str) -> CronTrigger:
    """The trigger for a scheduled bot's fields, or ScheduleError naming the bad field.

    Without a `schedule_timezone` the bot runs in `default_zone`.
    """
    zone_name = values.get("schedule_timezone") or default_zone
    if zone_name not in pytz.all_timezones_set:
        raise ScheduleError("schedule_timezone", f"{zone_name!r} is not an IANA time zone")
    zone = pytz.timezone(zone_name)
    kind = values.get("schedule_type")
    if kind not in SCHEDULE_TYPES:
        raise ScheduleError("schedule_type", f"must be one of {', '.join(SCHEDULE_TYPES)}")
    if kind == "cron":
        expression = (values.get("cron_expression") or "").strip()
        if len(expression.split()) != 5:
            raise ScheduleError("cron_expression", "must be a standard 5-field cron expression")
        try:
            return CronTrigger.from_crontab(expression, timezone=zone)
        except ValueError as error:
            raise ScheduleError("cron_expression", str(error)) from None
    match = _TIME.match(values.get("schedule_time") or "")
    if match is None:
        raise ScheduleError("schedule_time", "must be HH:MM (24-hour)")
    hour, minute = int(match.group(1)), int(match.group(2))
    day = values.get("schedule_day")
    if kind == "daily":
        return CronTrigger(hour=hour, minute=minute, timezone=zone)
    if kind == "weekly":
        if not isinstance(day, int) or not 0 <= day <= 6:
            raise ScheduleError("schedule_day", "must be a weekday from 0 (Monday) to 6 (Sunday)")
        return CronTrigger(day_of_week=WEEKDAYS[day], hour=hour, minute=minute, timezone=zone)
    if not isinstance(day, int) or not 1 <= day <= 28:
        raise ScheduleError("schedule_day", "must be a day of the month from 1 to 28")
    return CronTrigger(day=day, hour=hour, minute=minute, timezone=zone)


def cron_of(values: Mapping[str, Any]) -> str | None:
    """The schedule as a standard 5-field cron expression (None when it describes none).

    Days of the week count from 0 (Monday) in a bot's fields, from 0 (Sunday) in cron.
    """
    kind = values.get("schedule_type")
    if kind == "cron":
        return (values.get("cron_expression") or "").strip() or None
    match = _TIME.match(values.get("schedule_time") or "")
    day = values.get("schedule_day")
    if match is None:
        return None
    minute_hour = f"{int(match.group(2))} {int(match.group(1))}"
    if kind == "daily":
        return f"{minute_hour} * * *"
    if kind == "weekly" and isinstance(day, int):
        return f"{minute_hour} * * {(day + 1) % 7}"
    if kind == "monthly" and isinstance(day, int):
        return f"{minute_hour} {day} * *"
    return None


def job_id(bot_id: str) -> str:
    return f"bot:{bot_id}"


class ScheduledTriggerService:
    def __init__(
        self,
        scheduler: SchedulerService,
        bots: BotStore,
        runs: ExecutionService,
        skips: ScheduleSkipStore,
        *,
        default_zone: str,
    ) -> None:
        self.default_zone = default_zone  # for bots that name no zone of their own
        self._scheduler = scheduler
        self._bots = bots
        self._runs = runs
        self._skips = skips

    async def rebuild(self) -> int:
        """Schedule every enabled scheduled bot in the database (at startup)."""
        count = 0
        for bot in await self._bots.list():
            count += self.sync(bot)
        return count

    def sync(self, bot: Bot) -> bool:
        """Make the bot's job match its fields; True if it is now scheduled."""
        if not (bot.enabled and bot.trigger_source == "scheduled"):
            self.remove(bot.id)
            return False
        try:
            trigger: BaseTrigger = build_trigger(_fields(bot), self.default_zone)
        except ScheduleError as error:  # stored before validation tightened: leave it off
            logger.warning("bot %s is not scheduled: %s", bot.id, error)
            self.remove(bot.id)
            return False
        self._scheduler.schedule(
            job_id(bot.id), trigger, self._fire, bot.id, name=bot.name, bot_id=bot.id
        )
        return True

    def remove(self, bot_id: str) -> None:
        self._scheduler.remove(job_id(bot_id))

    async def recent_skips(self) -> list[dict[str, Any]]:
        return await self._skips.recent()

    def next_run_at(self, bot_id: str) -> str | None:
        return self._scheduler.next_run_time(job_id(bot_id))

    async def _fire(self, bot_id: str) -> None:
        bot = await self._bots.get(bot_id)
        if bot is None or not (bot.enabled and bot.trigger_source == "scheduled"):
            self.remove(bot_id)
            return
        fired_at = iso(utc_now())
        try:
            details = {
                "schedule": cron_of(_fields(bot)),
                "timezone": bot.schedule_timezone or self.default_zone,
                "scheduled_at": fired_at,
            }
            await self._runs.start(bot, "scheduled", {"scheduled_at": fired_at}, details=details)
        except RunRefused as refused:
            logger.info("scheduled run of bot %s skipped: %s", bot_id, refused)
            await self._skips.record(bot_id, fired_at, str(refused))


def _fields(bot: Bot) -> dict[str, Any]:
    return {
        "schedule_type": bot.schedule_type,
        "schedule_time": bot.schedule_time,
        "schedule_day": bot.schedule_day,
        "cron_expression": bot.cron_expression,
        "schedule_timezone": bot.schedule_timezone,
    }
