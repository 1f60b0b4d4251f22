"""A worker: `python -m agented.worker` runs, on its machine, the runs a server queued for workers.

For AGENTED_EXECUTOR=workers. Any number of workers, on any machine that reaches
the server's PostgreSQL (AGENTED_DATABASE_URL) and shares its SECRET_KEY, take
run jobs from Procrastinate's queue, at most AGENTED_MAX_CONCURRENT_RUNS at a
time each. A worker runs the CLI as the server would (`supervise`: its own
process group, timeout, grace), numbers and stores its output lines in batches
through the same log writer the server uses, announcing each batch to the
server (see `storage.executions.announcement`), and stores how the CLI ended;
the server does everything else (outcome, retries, fallback, viewers).

The CLI gets the worker's own environment (without Agented's settings) with the
run's account variables on top. A stop — the server cancelling the run, this
worker shutting down (SIGINT, SIGTERM), or the database out of reach for as long
as the server takes to give up on the worker — stops the CLI as on the server.

An agent's run also gets the server's MCP tools: its job carries the server's
`/mcp` URL (AGENTED_PUBLIC_URL's) and the run's token, sealed; the worker writes
the CLI's MCP settings on this machine with the code the server uses for a
local run (`McpSettings`), removed when the CLI has ended, however it ended,
and all of them when the worker stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import sys
from collections.abc import Mapping
from typing import Any

from .config import ConfigError, Settings, load_dotenv_file, load_settings
from .executions.logs import ExecutionLogService
from .executions.mcp_access import McpSettings
from .executions.queue_schema import ensure_queue_schema
from .executions.remote import (
    OUTPUT_CHANNEL,
    RUN_TASK,
    STALLED_HEARTBEATS,
    RunJob,
    job_queue,
    queues_for,
)
from .executions.supervise import Ended, supervise
from .log import configure_logging
from .paths import migrations_dir
from .secret_box import SecretBox, SecretDecryptionError
from .secret_key import KeyFileError, read_key_file
from .storage import Database, DatabaseError, MigrationError, migrate
from .storage.executions import ExecutionStore
from .storage.postgres import PostgresDatabase
from .tasks import cancel_and_wait

logger = logging.getLogger("agented.worker")

# Connections to PostgreSQL besides the log writer's: Procrastinate's listener, job fetching
# and acknowledging, and the claim and outcome of each run.
QUEUE_CONNECTIONS = 4
# How often the lines of every run here are stored (one transaction and one NOTIFY per run
# with news): a viewer is that much behind the CLI, plus the server's read.
FLUSH_SECONDS = 0.025
# How long a flush of the last lines may keep failing before the outcome is stored anyway.
LAST_FLUSH_SECONDS = 30.0
# How long a stopping worker lets its runs finish by themselves before stopping their CLIs.
SHUTDOWN_WAIT_SECONDS = 0.0


class RunWorker:
    """Runs run jobs on this machine; `run_job` is the Procrastinate task."""

    def __init__(
        self,
        name: str,
        store: ExecutionStore,
        logs: ExecutionLogService,
        box: SecretBox,
        environ: Mapping[str, str],
        mcp: McpSettings,
    ) -> None:
        self._name = name
        self._store = store
        self._logs = logs
        self._box = box
        self._environ = dict(environ)
        self._mcp = mcp  # the MCP settings of the agents' runs here
        self._stops: set[asyncio.Event] = set()  # one per run in progress

    @property
    def running(self) -> int:
        return len(self._stops)

    def stop_all(self) -> None:
        """Stop every run here, as an abort does."""
        for stop in self._stops:
            stop.set()

    async def run_job(self, **arguments: Any) -> None:
        """Run one job to its end. Procrastinate cancels this task to abort the job: the run
        is then stopped as cancel stops a local one, and its outcome stored all the same."""
        stop = asyncio.Event()
        self._stops.add(stop)
        running = asyncio.ensure_future(self._run(arguments, stop))
        try:
            await asyncio.shield(running)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()  # handled: the stop below is what an abort means here
            stop.set()
            await running
        finally:
            self._stops.discard(stop)

    async def _run(self, arguments: dict[str, Any], stop: asyncio.Event) -> None:
        execution_id = arguments["execution_id"]
        if not await self._store.claim_for_worker(execution_id, self._name):
            logger.info("execution %s no longer waits for a worker", execution_id)
            return
        logger.info("running execution %s", execution_id)
        try:
            job = RunJob.from_job(arguments, self._box)
        except SecretDecryptionError:
            error = f"worker {self._name}'s SECRET_KEY differs from the server's"
            await self._store.record_worker_outcome(execution_id, Ended(error=error).to_json())
            return
        topic = self._logs.open(execution_id, last_seq=job.first_seq)
        # The account's variables come last: they win over the worker's own.
        environ = {**self._environ, **job.env}
        try:
            with self._mcp.applied(execution_id, job.mcp, job.argv, environ) as (argv, env):
                ended = await supervise(
                    argv,
                    cwd=job.cwd,
                    env=env,
                    execution_id=execution_id,
                    sink=functools.partial(self._logs.append, topic),
                    before_read=self._logs.wait_for_room,
                    stop=stop,
                    time_limit=job.timeout_seconds,
                    grace=lambda: job.grace_seconds,
                    where=f"worker {self._name}",
                )
        except Exception as error:
            logger.exception("execution %s failed inside the worker", execution_id)
            ended = Ended(error=f"worker {self._name} failed running it: {error}")
        finally:
            await self._flush_last_lines(execution_id)
            await self._logs.close(execution_id, b"")
        await self._store.record_worker_outcome(execution_id, ended.to_json())
        logger.info("execution %s ended: %s", execution_id, ended)

    async def _flush_last_lines(self, execution_id: str) -> None:
        """Store the run's last lines before its outcome (the server reads the outcome first,
        then the lines: every line must be there by then)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(LAST_FLUSH_SECONDS):
                while True:
                    try:
                        await self._logs.flush()
                        return
                    except DatabaseError:  # logged by the log service; the database may return
                        await asyncio.sleep(1.0)
        logger.error("execution %s: its last lines could not be stored", execution_id)


async def watch_database(database: Database, worker: RunWorker, heartbeat: float) -> None:
    """Stop every CLI here once the database has not answered for as long as the server
    takes to give up on this worker (STALLED_HEARTBEATS heartbeats): by then the server
    has ended its runs, and nobody could see their output or stop them any more."""
    loop = asyncio.get_running_loop()
    answered = loop.time()
    while True:
        await asyncio.sleep(heartbeat)
        try:
            async with asyncio.timeout(heartbeat):
                await database.ping()
            answered = loop.time()
        except (TimeoutError, *DatabaseError):  # type: ignore[misc]  # a tuple of classes
            silent = loop.time() - answered
            if silent >= STALLED_HEARTBEATS * heartbeat and worker.running:
                logger.error(
                    "the database has not answered for %.0f s: stopping the %d run(s) here",
                    silent,
                    worker.running,
                )
                worker.stop_all()


def _secret_key(settings: Settings) -> str:
    """The server's SECRET_KEY: from the environment or the key file, never a new one (a
    worker with a key of its own could not open the runs' sealed variables)."""
    key = settings.secret_key or read_key_file(settings.secret_key_file, "secret key")
    if key is None:
        raise KeyFileError(
            f"a worker needs the server's secret key: set SECRET_KEY, or copy the server's "
            f"key file to {settings.secret_key_file}"
        )
    return key


async def serve(settings: Settings, secret_key: str) -> None:
    """Take and run jobs until stopped (SIGINT, SIGTERM)."""
    url = settings.database_url
    if url is None:
        raise ConfigError("a worker needs AGENTED_DATABASE_URL: the server's PostgreSQL")
    heartbeat = settings.worker_heartbeat_seconds
    async with contextlib.AsyncExitStack() as stack:
        database = await PostgresDatabase.open(url, pool_size=1)
        stack.push_async_callback(database.close)
        await migrate(database, migrations_dir(database.dialect.name))
        await ensure_queue_schema(url)
        store = ExecutionStore(database, announce=OUTPUT_CHANNEL)
        logs = ExecutionLogService(store, flush_interval=FLUSH_SECONDS, publish=False)
        await logs.start()
        stack.push_async_callback(logs.stop)
        mcp = McpSettings()
        stack.callback(mcp.close)  # after the runs: the queue below stops them first
        worker = RunWorker(
            settings.worker_name,
            store,
            logs,
            SecretBox(secret_key),
            settings.cli_environment,
            mcp,
        )
        watchdog = asyncio.ensure_future(watch_database(database, worker, heartbeat))
        stack.push_async_callback(cancel_and_wait, watchdog)
        queue = job_queue(url, settings.max_concurrent_runs + QUEUE_CONNECTIONS)
        queue.task(name=RUN_TASK)(worker.run_job)
        await stack.enter_async_context(queue.open_async())
        queues = queues_for(settings.worker_labels)
        logger.info(
            "worker %s takes runs from %s, %d at a time, on %s",
            settings.worker_name,
            ", ".join(queues),
            settings.max_concurrent_runs,
            database.description,
        )
        await queue.run_worker_async(
            queues=queues,
            name=settings.worker_name,
            concurrency=settings.max_concurrent_runs,
            delete_jobs="always",  # the outcome lives with the execution
            shutdown_graceful_timeout=SHUTDOWN_WAIT_SECONDS,
            update_heartbeat_interval=heartbeat,
            stalled_worker_timeout=STALLED_HEARTBEATS * heartbeat,
        )


def main() -> int:
    environ = load_dotenv_file()
    try:
        settings = load_settings(environ)
        configure_logging(settings.log_level, settings.log_format)
        asyncio.run(serve(settings, _secret_key(settings)))
    except (ConfigError, KeyFileError, MigrationError, *DatabaseError) as error:  # type: ignore[misc]
        print(f"agented worker: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
