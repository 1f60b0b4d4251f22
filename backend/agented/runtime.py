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
import sys
from collections.abc import Callable
from contextlib import AsyncExitStack

from quart import Quart

from .accounts.service import AccountService
from .agents.messages import MessageService
from .agents.service import AgentService
from .bot_service import BotService
from .config import Settings
from .console import console
from .events.sse import StreamHub
from .executions.detection import BackendDetector
from .executions.dispatch import WorkerDispatch
from .executions.log_search import LogSearch
from .executions.logs import ExecutionLogService
from .executions.mcp_access import McpAccess
from .executions.reruns import RerunService
from .executions.retries import RetryService
from .executions.service import ExecutionService
from .housekeeping import Housekeeping
from .http.paths import MCP_PATH
from .hypercorn_worker import bound_addresses
from .limits import raise_open_file_limit
from .listeners import Listener, local_url
from .monitoring.metrics import LiveCounts
from .monitoring.service import MonitoringService
from .paths import migrations_dir
from .run_tokens import RunTokens
from .scheduler import SchedulerService
from .secret_box import SecretBox
from .server_lock import HeldLock, take_server_lock
from .shutdown import ShutdownNotifier
from .stopping import Stopping
from .storage import Database, migrate, open_database
from .storage.accounts import AccountStore
from .storage.agents import AgentStore
from .storage.bots import BotStore
from .storage.deliveries import DeliveryStore
from .storage.delivery_records import DeliveryRecordStore
from .storage.executions import ExecutionStore
from .storage.messages import MessageStore
from .storage.monitoring import MonitoringStore
from .storage.pr_reviews import PullRequestReviewStore
from .storage.retries import RetryStore
from .storage.schedule_skips import ScheduleSkipStore
from .tasks import cancel_and_wait
from .triggers.github import GitHubService
from .triggers.schedules import ScheduledTriggerService, default_timezone
from .triggers.webhooks import WebhookService

logger = logging.getLogger(__name__)

EXTENSION_KEY = "agented.runtime"
# Young generations stay small (cheap, frequent passes); a full pass waits for
# ten thousand young-generation passes instead of ten.
GC_THRESHOLDS = (2_000, 10, 10_000)
# How often the server checks that it still holds its lock on a PostgreSQL database.
LOCK_CHECK_SECONDS = 5.0
# How long (seconds) a thread asking for the GIL waits before the holder must let go.
# The database threads take the GIL back after every SQLite call; behind an event loop
# busy with a fan-out, each of those waits would be the default 5 ms, and a query
# making a dozen calls would wait 60 ms. Only paid while a thread is actually waiting.
SWITCH_INTERVAL = 0.0005


# The edge's start-up checks, given the bound (host, port) addresses (None outside a
# Hypercorn worker); they return the sign-in notice to show, if any.
OnStart = Callable[[list[Listener] | None], str | None]


class Runtime:
    """The serving process's live state: lock, database, services, and the `stopping` signal."""

    server_lock: HeldLock
    database: Database
    bot_store: BotStore
    execution_store: ExecutionStore
    logs: ExecutionLogService
    log_search: LogSearch
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
    backends: BackendDetector
    agent_store: AgentStore
    agent_service: AgentService
    message_store: MessageStore
    message_service: MessageService
    account_store: AccountStore
    account_service: AccountService
    monitoring: MonitoringService
    reruns: RerunService
    delivery_records: DeliveryRecordStore
    dispatch: WorkerDispatch | None = None  # with AGENTED_EXECUTOR=workers

    def __init__(self, settings: Settings, secret_key: str, on_start: OnStart) -> None:
        self._settings = settings
        self._secret_key = secret_key
        self._on_start = on_start  # run before anything opens
        self._exit_stack = AsyncExitStack()
        self.stopping = Stopping()
        self._gc_thresholds = gc.get_threshold()

    async def start(self) -> None:
        settings = self._settings
        binds = bound_addresses()
        notice = self._on_start(binds)
        raise_open_file_limit()  # before the first connection is accepted
        async with AsyncExitStack() as stack:
            self.server_lock = await take_server_lock(settings)
            stack.push_async_callback(self.server_lock.release)

            self.database = await open_database(settings)
            stack.push_async_callback(self.database.close)
            version = await migrate(self.database, migrations_dir(self.database.dialect.name))
            self.bot_store = BotStore(self.database)
            self.execution_store = ExecutionStore(self.database)

            self.logs = ExecutionLogService(self.execution_store)
            await self.logs.start()
            stack.push_async_callback(self.logs.stop)
            self.log_search = LogSearch(self.execution_store)

            self.backends = BackendDetector(settings.cli_environment)
            self.execution_service = ExecutionService(
                self.execution_store,
                self.logs,
                max_concurrent=settings.max_concurrent_runs,
                environ=settings.cli_environment,
                stopping=self.stopping,
            )
            self.box = SecretBox(self._secret_key)
            if settings.executor == "workers" and settings.database_url is not None:
                self.dispatch = await WorkerDispatch.open(
                    settings.database_url,
                    self.execution_store,
                    self.box,
                    heartbeat_seconds=settings.worker_heartbeat_seconds,
                )
                stack.push_async_callback(self.dispatch.close)  # once the runs are over
                self.execution_service.set_dispatch(self.dispatch)
            else:
                await self.execution_service.recover()
            stack.push_async_callback(self._interrupt_runs)

            self.scheduler = SchedulerService()
            self.scheduler.start()
            stack.push_async_callback(self.scheduler.stop)
            if self.server_lock.can_be_lost:
                lock_keeper = asyncio.create_task(self._keep_the_server_lock())
                stack.push_async_callback(cancel_and_wait, lock_keeper)
            self.retry_service = RetryService(
                RetryStore(self.database), self.bot_store, self.scheduler, self.execution_service
            )
            self.execution_service.set_rate_limit_handler(self.retry_service.schedule)
            self.execution_service.set_park_handler(self.retry_service.park)
            self.reruns = RerunService(self.execution_store, self.bot_store, self.execution_service)
            await self.retry_service.rearm()

            deliveries = DeliveryStore(self.database)
            self.delivery_records = DeliveryRecordStore(self.database)
            self.pr_review_store = PullRequestReviewStore(self.database)
            self.scheduled_triggers = ScheduledTriggerService(
                self.scheduler,
                self.bot_store,
                self.execution_service,
                ScheduleSkipStore(self.database),
                default_zone=default_timezone(settings.timezone),
            )
            await self.scheduled_triggers.rebuild()
            self.agent_store = AgentStore(self.database)
            self.message_store = MessageStore(self.database)
            self.message_service = MessageService(self.message_store, self.agent_store)
            self.message_service.install(self.scheduler)
            self.execution_service.set_prompt_messages(self.message_service)
            if url := self._mcp_url(binds):
                self.execution_service.set_mcp_access(McpAccess(url, RunTokens(self._secret_key)))
            self.agent_service = AgentService(self.agent_store, self.message_service)
            self.account_store = AccountStore(self.database)
            self.bot_service = BotService(
                self.bot_store,
                self.scheduled_triggers,
                self.execution_service,
                self.box,
                self.agent_store,
                self.account_store,
            )
            await self.bot_service.check_secrets()
            self.account_service = AccountService(
                self.account_store, self.box, self.execution_store
            )
            await self.account_service.check_secrets()
            self.execution_service.set_accounts(self.account_service)
            if self.dispatch is not None:  # now that a run's end finds retries and accounts
                await self.execution_service.resume_on_workers(self.bot_store.get)
            window = settings.webhook_dedup_seconds
            self.webhooks = WebhookService(
                self.bot_store,
                deliveries,
                self.execution_service,
                self.box,
                self.delivery_records,
                dedup_window_seconds=window,
            )
            self.github = GitHubService(
                self.bot_store,
                deliveries,
                self.pr_review_store,
                self.execution_service,
                self.delivery_records,
                secret=settings.github_webhook_secret,
                dedup_window_seconds=window,
            )
            Housekeeping(
                self.scheduler,
                deliveries,
                self.execution_store,
                self.delivery_records,
                dedup_window_seconds=window,
                retention_days=settings.retention_days,
            ).install()

            self.streams = StreamHub(self.stopping)
            self.streams.start()
            stack.callback(self.streams.stop)
            self.monitoring = MonitoringService(
                MonitoringStore(self.database),
                self.account_store,
                retention_days=settings.monitoring_retention_days,
                live=self._live_counts,
            )
            self.monitoring.install(self.scheduler)

            notifier = ShutdownNotifier(self.begin_stopping)
            notifier.install()
            stack.push_async_callback(notifier.uninstall)
            # Last, so the sign-in notice only shows for a server that really serves.
            stack.enter_context(console(notice, len(binds) if binds else None, settings.log_format))

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
        self._switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_INTERVAL)
        logger.info("serving database %s (schema version %d)", self.database.description, version)

    def _mcp_url(self, binds: list[Listener] | None) -> str | None:
        """Where agents' runs reach `/mcp`: this machine's own address when their CLIs run
        here; AGENTED_PUBLIC_URL's when they run on workers (unset: nowhere, said once)."""
        if self.dispatch is None:
            return local_url(binds or [], MCP_PATH)
        if self._settings.public_url is None:
            logger.warning(
                "agents' runs on workers get no MCP tools (send_message, read_inbox, ...): "
                "set AGENTED_PUBLIC_URL to the URL the workers' machines reach this server "
                "at, e.g. http://agented.internal:20000"
            )
            return None
        return self._settings.public_url + MCP_PATH

    async def _keep_the_server_lock(self) -> None:
        """Check the server lock every LOCK_CHECK_SECONDS, while serving from PostgreSQL."""
        while True:
            await asyncio.sleep(LOCK_CHECK_SECONDS)
            await self.check_server_lock()

    async def check_server_lock(self) -> None:
        """Pause the schedules while the server lock is lost, so that a server that took it
        meanwhile is the only one firing them; resume them once it is held again."""
        if await self.server_lock.check():
            self.scheduler.resume()
        else:
            self.scheduler.pause()

    def _live_counts(self) -> LiveCounts:
        return LiveCounts(self.streams.viewer_count, self.logs.lines_ingested)

    def begin_stopping(self) -> None:
        """Tell everything that streams, waits or starts runs that the server is going away."""
        if not self.stopping.is_set():
            logger.info("shutdown started")
            self.stopping.set()

    async def _interrupt_runs(self) -> None:
        # The signal is already set, unless starting failed half-way: no run may start now.
        self.begin_stopping()
        await self.execution_service.shutdown()

    async def stop(self) -> None:
        self.begin_stopping()
        gc.set_threshold(*self._gc_thresholds)
        sys.setswitchinterval(self._switch_interval)
        gc.unfreeze()  # what start() froze may become garbage now
        await self._exit_stack.aclose()
        logger.info("shutdown complete")


def runtime_of(app: Quart) -> Runtime | None:
    """The app's runtime while it is serving, else None."""
    return app.extensions.get(EXTENSION_KEY)


def install_runtime(app: Quart, settings: Settings, secret_key: str, on_start: OnStart) -> None:
    """Start the runtime when serving begins (`on_start` first) and stop it when serving ends."""

    @app.before_serving
    async def start_runtime() -> None:
        runtime = Runtime(settings, secret_key, on_start)
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
