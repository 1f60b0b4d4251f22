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
from collections.abc import Mapping
from contextlib import AsyncExitStack
from typing import Any

from quart import Quart

from .bot_service import BotService
from .events.sse import StreamHub
from .executions.logs import ExecutionLogService
from .executions.retries import RetryService
from .executions.service import ExecutionService
from .housekeeping import Housekeeping
from .hypercorn_worker import bound_addresses
from .limits import raise_open_file_limit
from .paths import MIGRATIONS_DIR
from .scheduler import SchedulerService
from .secret_box import SecretBox
from .security.policy import SecurityPolicy
from .security.startup import on_serving
from .server_lock import ServerLock
from .shutdown import ShutdownNotifier
from .storage import Database, migrate
from .storage.bots import BotStore
from .storage.deliveries import DeliveryStore
from .storage.executions import ExecutionStore
from .storage.pr_reviews import PullRequestReviewStore
from .storage.retries import RetryStore
from .storage.schedule_skips import ScheduleSkipStore
from .triggers.github import GitHubService
from .triggers.schedules import ScheduledTriggerService
from .triggers.webhooks import WebhookService

logger = logging.getLogger(__name__)

EXTENSION_KEY = "agented.runtime"
# Young generations stay small (cheap, frequent passes); a full pass waits for
# ten thousand young-generation passes instead of ten.
GC_THRESHOLDS = (2_000, 10, 10_000)


class Runtime:
    """The serving process's live state: lock, database, services, and the `stopping` signal."""

    database: Database
    bot_store: BotStore
    execution_store: ExecutionStore
    logs: ExecutionLogService
    execution_service: ExecutionService
    retry_service: RetryService
    scheduler: SchedulerService
    scheduled_triggers: ScheduledTriggerService
    bot_service: BotService
    box: SecretBox
    webhooks: WebhookService
    github: GitHubService
    pr_review_store: PullRequestReviewStore
    streams: StreamHub

    def __init__(self, config: Mapping[str, Any], policy: SecurityPolicy) -> None:
        self._config = config
        self._policy = policy
        self._exit_stack = AsyncExitStack()
        self.stopping = asyncio.Event()
        self._gc_thresholds = gc.get_threshold()

    async def start(self) -> None:
        config = self._config
        on_serving(self._policy, bound_addresses())
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
            self.bot_store = BotStore(self.database)
            self.execution_store = ExecutionStore(self.database)

            self.logs = ExecutionLogService(self.execution_store)
            await self.logs.start()
            stack.push_async_callback(self.logs.stop)

            self.execution_service = ExecutionService(
                self.execution_store,
                self.logs,
                max_concurrent=config["AGENTED_MAX_CONCURRENT_RUNS"],
            )
            await self.execution_service.recover()
            stack.push_async_callback(self.execution_service.shutdown)

            self.scheduler = SchedulerService()
            self.scheduler.start()
            stack.push_async_callback(self.scheduler.stop)
            self.retry_service = RetryService(
                RetryStore(self.database), self.bot_store, self.scheduler, self.execution_service
            )
            self.execution_service.set_rate_limit_handler(self.retry_service.schedule)
            await self.retry_service.rearm()

            self.box = SecretBox(config["SECRET_KEY"])
            deliveries = DeliveryStore(self.database)
            self.pr_review_store = PullRequestReviewStore(self.database)
            self.scheduled_triggers = ScheduledTriggerService(
                self.scheduler,
                self.bot_store,
                self.execution_service,
                ScheduleSkipStore(self.database),
            )
            await self.scheduled_triggers.rebuild()
            self.bot_service = BotService(
                self.bot_store, self.scheduled_triggers, self.execution_service, self.box
            )
            await self.bot_service.check_secrets()
            window = config["AGENTED_WEBHOOK_DEDUP_SECONDS"]
            self.webhooks = WebhookService(
                self.bot_store,
                deliveries,
                self.execution_service,
                self.box,
                dedup_window_seconds=window,
            )
            self.github = GitHubService(
                self.bot_store,
                deliveries,
                self.pr_review_store,
                self.execution_service,
                dedup_window_seconds=window,
            )
            Housekeeping(
                self.scheduler,
                deliveries,
                self.execution_store,
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


def install_runtime(app: Quart, policy: SecurityPolicy) -> None:
    """Start the runtime when serving begins and stop it when serving ends."""

    @app.before_serving
    async def start_runtime() -> None:
        runtime = Runtime(app.config, policy)
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
