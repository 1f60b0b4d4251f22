"""The server's side of runs on workers: queue each run as a job, follow it through the database.

A run becomes a Procrastinate job (`remote.RunJob`, its secrets sealed). One
LISTEN connection hears the workers' announcements (`OUTPUT_CHANNEL`) and wakes
the run they name; a woken run — or one whose POLL_SECONDS passed without
news, in case an announcement was lost while the connection was down — reads
what is new from the database: the execution (started? ended on the worker?)
and the lines after those it has fed. The worker stores its outcome after its
last line, so a run that reads the outcome first and the lines next has seen
every line when it ends.

Stopping a run (cancel, spend limit, shutdown) asks Procrastinate to abort its
job: a job still queued is cancelled there and never runs; a running one's
worker hears the abort at once (Procrastinate NOTIFYs it) and stops the CLI
as a local run is stopped. If no outcome arrives within the grace period and
STOP_REPORT_SECONDS more, the run ends without one.

A worker that dies (kill -9, machine lost) stops heartbeating. A run that had
no news for a whole poll looks at its job: once its worker missed
STALLED_HEARTBEATS heartbeats, or the job ended without an outcome, the run ends
`interrupted` with every line the worker had stored, and the job is removed, so
nobody runs it again.

A server that stops leaves the runs on workers running: the next start follows
them again (`resume`), from the lines stored meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import psycopg
from procrastinate import App
from procrastinate.exceptions import ProcrastinateException
from procrastinate.jobs import Status

from ..models import Execution, LogLine
from ..secret_box import SecretBox
from ..storage.executions import ExecutionStore, announced
from ..tasks import cancel_and_wait
from .logs import PAGE_CHARS
from .queue_schema import ensure_queue_schema
from .remote import (
    OUTPUT_CHANNEL,
    RUN_TASK,
    STALLED_HEARTBEATS,
    RunJob,
    job_queue,
    queue_for,
)
from .supervise import Ended

logger = logging.getLogger(__name__)

# How often a run looks at the database without being told to (a missed NOTIFY).
POLL_SECONDS = 2.0
# How long a stopped run waits for its worker's word beyond the CLI's grace period.
STOP_REPORT_SECONDS = 10.0
# Lines read from the database at a time.
PAGE_LINES = 5000
# Pause before the LISTEN connection is opened again after it failed.
RECONNECT_SECONDS = 1.0
# Connections the job queue holds: deferring and cancelling are rare and short.
QUEUE_CONNECTIONS = 2
# The job of an execution still queued or running (to follow it again after a restart).
_JOB_OF = """
SELECT id FROM procrastinate_jobs
WHERE args ->> 'execution_id' = %(execution_id)s AND status IN ('todo', 'doing')
ORDER BY id DESC LIMIT 1
"""
# Whether the job's worker is alive: the job's state, and whether its worker heartbeats.
_LIVENESS = """
SELECT jobs.status::text AS status,
       COALESCE(workers.last_heartbeat >= now() - make_interval(secs => %(stalled)s), false)
           AS heartbeating
FROM procrastinate_jobs AS jobs
LEFT JOIN procrastinate_workers AS workers ON workers.id = jobs.worker_id
WHERE jobs.id = %(job_id)s
"""


class WorkerDispatch:
    """Runs on workers, for `ExecutionService.set_dispatch`; `await WorkerDispatch.open(...)`."""

    def __init__(
        self, url: str, store: ExecutionStore, box: SecretBox, *, heartbeat_seconds: float
    ) -> None:
        self._url = url
        self._store = store
        self._box = box
        self._stalled_seconds = STALLED_HEARTBEATS * heartbeat_seconds
        self._queue: App = job_queue(url, QUEUE_CONNECTIONS)
        self._wakers: dict[str, asyncio.Event] = {}  # execution id -> its run's wake-up
        self._listening = asyncio.Event()
        self._listener: asyncio.Task[None] | None = None

    @classmethod
    async def open(
        cls, url: str, store: ExecutionStore, box: SecretBox, *, heartbeat_seconds: float
    ) -> WorkerDispatch:
        dispatch = cls(url, store, box, heartbeat_seconds=heartbeat_seconds)
        await ensure_queue_schema(url)
        await dispatch._queue.open_async()
        dispatch._listener = asyncio.get_running_loop().create_task(
            dispatch._listen(), name="agented-worker-output"
        )
        return dispatch

    async def close(self) -> None:
        await cancel_and_wait(self._listener)
        await self._queue.close_async()

    async def wait_listening(self) -> None:
        """Until the LISTEN connection is up (for tests: from then on no NOTIFY is missed)."""
        await self._listening.wait()

    async def _listen(self) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._url, autocommit=True
                ) as connection:
                    await connection.execute(f"LISTEN {OUTPUT_CHANNEL}")
                    self._listening.set()
                    # Runs may have missed news while the connection was down.
                    self._wake_all()
                    async for notification in connection.notifies():
                        execution_id = announced(notification.payload)
                        if execution_id is not None and (waker := self._wakers.get(execution_id)):
                            waker.set()
            except psycopg.Error as error:
                logger.warning("lost the workers' output channel (%s); reconnecting", error)
            self._listening.clear()
            await asyncio.sleep(RECONNECT_SECONDS)

    def _wake_all(self) -> None:
        for waker in self._wakers.values():
            waker.set()

    async def run(
        self,
        job: RunJob,
        feed: Callable[[list[LogLine]], None],
        stop: asyncio.Event,
        started: Callable[[Execution], None],
    ) -> Ended:
        deferrer = self._queue.configure_task(RUN_TASK, queue=queue_for(job.label))
        job_id = await deferrer.defer_async(**job.to_job(self._box))
        return await self._follow(
            job.execution_id, job_id, job.first_seq, job.grace_seconds, feed, stop, started
        )

    async def resume(
        self,
        execution_id: str,
        fed: int,
        grace_seconds: float,
        feed: Callable[[list[LogLine]], None],
        stop: asyncio.Event,
        started: Callable[[Execution], None],
    ) -> Ended:
        rows = await self._queue.connector.execute_query_all_async(
            query=_JOB_OF, execution_id=execution_id
        )
        job_id = rows[0]["id"] if rows else None  # None: gone, the run ends once that is clear
        return await self._follow(execution_id, job_id, fed, grace_seconds, feed, stop, started)

    async def _follow(
        self,
        execution_id: str,
        job_id: int | None,
        fed: int,
        grace_seconds: float,
        feed: Callable[[list[LogLine]], None],
        stop: asyncio.Event,
        started: Callable[[Execution], None],
    ) -> Ended:
        """Feed the run's lines after seq `fed` as they come, until its worker's outcome."""
        waker = self._wakers[execution_id] = asyncio.Event()
        try:
            return await self._follow_woken(
                execution_id, job_id, fed, grace_seconds, waker, feed, stop, started
            )
        finally:
            del self._wakers[execution_id]

    async def _follow_woken(
        self,
        execution_id: str,
        job_id: int | None,
        fed: int,
        grace_seconds: float,
        waker: asyncio.Event,
        feed: Callable[[list[LogLine]], None],
        stop: asyncio.Event,
        started: Callable[[Execution], None],
    ) -> Ended:
        loop = asyncio.get_running_loop()
        running = False
        lost = False  # its worker died: read once more, then end the run
        give_up_at: float | None = None  # once stopping: when to stop waiting for the worker
        while True:
            waker.clear()
            if stop.is_set() and give_up_at is None:  # first: a cancel is felt at once
                give_up_at = loop.time() + grace_seconds + STOP_REPORT_SECONDS
                if job_id is not None and await self._abort(job_id):
                    return Ended("stopped")  # still queued: no worker will run it
            progress = await self._store.worker_progress(execution_id)
            if progress is None:  # deleted meanwhile
                return Ended(error="the execution was deleted while it ran")
            execution, outcome = progress
            if not running and execution.status == "running":
                running = True
                started(execution)
            fed = await self._feed_new_lines(execution_id, fed, feed)
            if outcome is not None:
                return Ended.from_json(outcome)
            if lost:  # (an outcome stored just before its job ended was read above)
                logger.warning("execution %s: its worker was lost", execution_id)
                if job_id is not None:
                    with contextlib.suppress(ProcrastinateException):  # it may be gone already
                        await self._queue.job_manager.finish_job_by_id_async(
                            job_id, Status.FAILED, delete_job=True
                        )
                return Ended("lost")
            if give_up_at is not None and loop.time() >= give_up_at:
                logger.warning("no word from the worker of %s after stopping it", execution_id)
                return Ended("stopped")
            woken = await self._next_news(waker, None if give_up_at is not None else stop)
            # Silence for a whole poll: is anyone still running it?
            lost = not woken and (job_id is None or await self._worker_lost(job_id))

    async def _worker_lost(self, job_id: int) -> bool:
        """Whether the job's worker is gone without a word: it stopped heartbeating, or the
        job ended (or vanished) without the worker storing an outcome."""
        rows = await self._queue.connector.execute_query_all_async(
            query=_LIVENESS, job_id=job_id, stalled=self._stalled_seconds
        )
        if not rows:
            return True
        status, heartbeating = rows[0]["status"], rows[0]["heartbeating"]
        if status == "todo":
            return False  # no worker took it yet
        return status != "doing" or not heartbeating

    async def _feed_new_lines(
        self, execution_id: str, fed: int, feed: Callable[[list[LogLine]], None]
    ) -> int:
        """Feed the stored lines after seq `fed`; return the last seq fed."""
        more = True
        while more:
            lines, more = await self._store.read_lines(
                execution_id, fed, PAGE_LINES, max_chars=PAGE_CHARS
            )
            if not lines:
                break
            feed(lines)
            fed = lines[-1].seq
        return fed

    async def _abort(self, job_id: int) -> bool:
        """Ask the job's worker to stop it; True if it was still queued (now it never runs).

        Two steps, each atomic in the database: cancelling deletes a job that is still
        queued; one that is not is running (or has just ended), and gets the abort."""
        manager = self._queue.job_manager
        if await manager.cancel_job_by_id_async(job_id, delete_job=True):
            return True
        await manager.cancel_job_by_id_async(job_id, abort=True)
        return False

    @staticmethod
    async def _next_news(waker: asyncio.Event, stop: asyncio.Event | None) -> bool:
        """Until an announcement, a stop request (if `stop` is given) or the next poll;
        False if the poll came first."""
        waits = [asyncio.ensure_future(waker.wait())]
        if stop is not None:
            waits.append(asyncio.ensure_future(stop.wait()))
        try:
            done, _ = await asyncio.wait(
                waits, timeout=POLL_SECONDS, return_when=asyncio.FIRST_COMPLETED
            )
            return bool(done)
        finally:
            for wait in waits:
                wait.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*waits, return_exceptions=True)
