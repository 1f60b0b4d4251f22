"""What exists only while the app is serving, started and stopped as one unit.

`create_app()` only builds; the single-server lock, the database and every
service come to life in Quart's `before_serving` on the server's own event
loop and are torn down in reverse order in `after_serving`. Keeping them on
one object hung on the app means two apps in one process never share state.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable, Mapping
from contextlib import AsyncExitStack
from typing import Any

from quart import Quart

from .bot_service import BotService
from .events.sse import StreamHub
from .executions.logs import ExecutionLogService
from .executions.retries import RetryService
from .executions.service import ExecutionService
from .housekeeping import Housekeeping
from .limits import raise_open_file_limit
from .paths import MIGRATIONS_DIR
from .scheduler import SchedulerService
from .secret_box import SecretBox
from .server_lock import ServerLock
from .shutdown import ShutdownNotifier
from .storage import Database, migrate
from .storage.bots import BotRepository
from .storage.deliveries import DeliveryRepository
from .storage.executions import ExecutionRepository
from .storage.pr_reviews import PullRequestReviewRepository
from .storage.retries import RetryRepository
from .storage.schedule_skips import ScheduleSkipRepository
from .triggers.github import GitHubService
from .triggers.schedules import ScheduleService
from .triggers.webhooks import WebhookService

logger = logging.getLogger(__name__)

EXTENSION_KEY = "agented.runtime"
# Young generations stay small (cheap, frequent passes); a full pass waits for
# ten thousand young-generation passes instead of ten.
GC_THRESHOLDS = (2_000, 10, 10_000)


class Runtime:
    """The serving process's live state: lock, database, services, and the `stopping` signal."""

    database: Database
    bots: BotRepository
    executions: ExecutionRepository
    logs: ExecutionLogService
    runs: ExecutionService
    retries: RetryService
    scheduler: SchedulerService
    schedules: ScheduleService
    bot_service: BotService
    box: SecretBox
    webhooks: WebhookService
    github: GitHubService
    pr_reviews: PullRequestReviewRepository
    streams: StreamHub

    def __init__(self, config: Mapping[str, Any], on_start: Callable[[], None]) -> None:
        self._config = config
        self._on_start = on_start  # the edge's own start-up checks, before anything opens
        self._exit_stack = AsyncExitStack()
        self.stopping = asyncio.Event()
        self._gc_thresholds = gc.get_threshold()

    async def start(self) -> None:
        config = self._config
        self._on_start()
        raise_open_file_limit()  # before the first connection is accepted
        async with AsyncExitStack() as stack:
            lock = ServerLock(config["AGENTED_DB_PATH"])
            lock.acquire()
            stack.callback(lock.release)

            self.database = await Database.open(
                config["AGENTED_DB_PATH"], config["AGENTED_DB_BUSY_TIMEOUT_MS"]
            )
            stack.push_async_callback(self.database.close)
            version = await migrate(self.database, MIGRATIONS_DIR)
            self.bots = BotRepository(self.database)
            self.executions = ExecutionRepository(self.database)

            self.logs = ExecutionLogService(self.executions)
            await self.logs.start()
            stack.push_async_callback(self.logs.stop)

            self.runs = ExecutionService(
                self.executions, self.logs, max_concurrent=config["AGENTED_MAX_CONCURRENT_RUNS"]
            )
            await self.runs.recover()
            stack.push_async_callback(self.runs.shutdown)

            self.scheduler = SchedulerService()
            self.scheduler.start()
            stack.push_async_callback(self.scheduler.stop)
            self.retries = RetryService(
                RetryRepository(self.database), self.bots, self.scheduler, self.runs
            )
            self.runs.set_rate_limit_handler(self.retries.schedule)
            await self.retries.rearm()

            self.box = SecretBox(config["SECRET_KEY"])
            deliveries = DeliveryRepository(self.database)
            self.pr_reviews = PullRequestReviewRepository(self.database)
            self.schedules = ScheduleService(
                self.scheduler, self.bots, self.runs, ScheduleSkipRepository(self.database)
            )
            await self.schedules.rebuild()
            self.bot_service = BotService(self.bots, self.schedules, self.runs, self.box)
            await self.bot_service.check_secrets()
            window = config["AGENTED_WEBHOOK_DEDUP_SECONDS"]
            self.webhooks = WebhookService(
                self.bots, deliveries, self.runs, self.box, dedup_window_seconds=window
            )
            self.github = GitHubService(
                self.bots, deliveries, self.pr_reviews, self.runs, dedup_window_seconds=window
            )
            Housekeeping(
                self.scheduler,
                deliveries,
                self.executions,
                dedup_window_seconds=window,
                retention_days=config["AGENTED_RETENTION_DAYS"],
            ).install()

            self.streams = StreamHub()
            self.streams.start()
            stack.callback(self.streams.stop)

            notifier = ShutdownNotifier(self.begin_stopping)
            notifier.install()
            stack.push_async_callback(notifier.uninstall)

            self._exit_stack = stack.pop_all()
        # Everything built so far lives as long as the process: keep it out of the cyclic
        # garbage collector's full passes, and make those passes rare. With thousands of
        # open streams (each some hundred tracked objects) a full pass stalls every live
        # stream for most of a second; almost all of our garbage is freed by reference
        # counting anyway.
        gc.collect()
        gc.freeze()
        self._gc_thresholds = gc.get_threshold()
        gc.set_threshold(*GC_THRESHOLDS)
        logger.info("serving database %s (schema version %d)", self.database.path, version)

    def begin_stopping(self) -> None:
        """Tell everything that streams or waits that the server is going away."""
        if not self.stopping.is_set():
            logger.info("shutdown started")
            self.stopping.set()
            self.streams.stop()

    async def stop(self) -> None:
        self.begin_stopping()
        gc.set_threshold(*self._gc_thresholds)
        gc.unfreeze()  # what start() froze may become garbage now
        await self._exit_stack.aclose()
        logger.info("shutdown complete")


def runtime_of(app: Quart) -> Runtime | None:
    """The app's runtime while it is serving, else None."""
    return app.extensions.get(EXTENSION_KEY)


def install_runtime(app: Quart, on_start: Callable[[], None]) -> None:
    """Start the runtime when serving begins (`on_start` first) and stop it when serving ends."""

    @app.before_serving
    async def start_runtime() -> None:
        runtime = Runtime(app.config, on_start)
        try:
            await runtime.start()
        except Exception as error:
            logger.error("cannot start serving: %s", error)
            raise
        app.extensions[EXTENSION_KEY] = runtime

    @app.after_serving
    async def stop_runtime() -> None:
        runtime = app.extensions.pop(EXTENSION_KEY, None)
        if runtime is not None:
            await runtime.stop()
