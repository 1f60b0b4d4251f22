"""The one way to start a run, and the owner of every run in flight.

Manual runs, webhooks, GitHub events, schedules and retries all call
`ExecutionService.start` with a bot, a source and a template context. It
renders the prompt, records the execution and returns at once; a task then
waits for one of the server-wide run slots (the execution is `queued` until
it gets one), runs the CLI through `CliProcess`, and records how it ended.
Cancel, timeout and shutdown all stop the CLI and everything it started,
whether or not it left the CLI's process group (see `containment`).

With AGENTED_EXECUTOR=workers the CLI runs on a worker instead (`dispatch`):
its lines come back through the database and feed the same sink, and its end
goes through the same outcome, so retries, fallback and viewers cannot tell.
An agent's run takes its MCP grant along, and the worker points the CLI at the
server's `/mcp` as the server does for a local run (mcp_access.py).

Before a run starts, its placer (`placement`) says on which account it goes,
with which spend budgets, or until when it must wait: such a run is recorded
`waiting` and handed to the park handler (the retry service), which wakes it
at `not_before`. A run of a bot with an `account_chain` that is rate limited
goes on at once on the next account, as a `fallback` execution linked to it
(`retry_of`); a run that crosses a spend limit is stopped as cancel stops it
and ends `budget_exceeded`. A run on the same account as the one it continues
resumes the CLI's session where the CLI can.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from ..errors import BotBusy, BotDisabled, InvalidCommand, RunRefused, ShuttingDown, StorageFull
from ..events.encoding import encode_event
from ..events.topic import Topic
from ..models import (
    RATE_LIMITED_PREFIX,
    Bot,
    Execution,
    LogLine,
    TriggerType,
    iso,
    new_id,
    utc_now,
)
from ..stopping import Stopping
from ..storage.database import DatabaseError
from ..storage.executions import INTERRUPTED_BY_CRASH, ExecutionStore, Outcome
from .backends import RESUMABLE, CommandError, build_command
from .containment import Leftover, process_start_time, stop_leftovers
from .inputs import summarize
from .logs import ExecutionLogService
from .mcp_access import McpAccess, McpGrant, McpSettings
from .output import OutputObserver
from .placement import Budget, Placement, RunPlacer, Wait
from .process import CliProcess, LineSink
from .remote import RunJob
from .supervise import Ended, supervise
from .templates import render, uses
from .verdicts import RateLimit

logger = logging.getLogger(__name__)

SHUTDOWN_GRACE_CAP = 5.0
FULL_DISK_RETRY_SECONDS = 5.0

STOP_MESSAGES = {
    "cancelled": "cancelled by a user",
    "interrupted": "the server shut down while it was running",
}
# A chain goes round at most this many times more than it has accounts: overloads
# limit an account for a minute only, and a run must not bounce between them forever.
EXTRA_FALLBACKS = 5

RateLimitHandler = Callable[[Execution, Bot, RateLimit, dict[str, Any]], Awaitable[object]]
ParkHandler = Callable[[Execution, Bot, Wait, dict[str, Any]], Awaitable[object]]


class RunDispatch(Protocol):
    """Where runs go with AGENTED_EXECUTOR=workers (see `dispatch`)."""

    async def run(
        self,
        job: RunJob,
        feed: Callable[[list[LogLine]], None],
        stop: asyncio.Event,
        started: Callable[[Execution], None],
    ) -> Ended:
        """Have a worker run `job`: `feed` gets its stored lines in order, `started` the
        execution once a worker took it; `stop` set asks the worker to stop the CLI."""
        ...

    async def resume(
        self,
        execution_id: str,
        fed: int,
        grace_seconds: float,
        feed: Callable[[list[LogLine]], None],
        stop: asyncio.Event,
        started: Callable[[Execution], None],
    ) -> Ended:
        """As `run`, for a run queued before a restart: its lines after seq `fed` on."""
        ...


class PromptMessages(Protocol):
    """Where the run of a bot that acts as an agent gets its agent's messages (`{messages}`)."""

    async def for_prompt(self, agent_id: str) -> tuple[str, list[str]]:
        """The pending messages as prompt text, and their ids."""
        ...

    async def mark_delivered(self, message_ids: list[str]) -> None: ...


@dataclass(eq=False)
class _Run:
    execution: Execution
    bot: Bot  # as it runs: with its account's backend
    origin: Bot  # as stored: what a fallback starts again
    argv: list[str]
    context: dict[str, Any]
    topic: Topic
    overlay: Mapping[str, str]  # the account's variables, over the CLI's environment
    budgets: tuple[Budget, ...] = ()
    budget_reason: str | None = None  # the spend limit it crossed
    stop_reason: str | None = None
    rate_limit: RateLimit | None = None
    stop_requested: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    resumed: bool = False  # a worker's run this server follows again after a restart
    detached: bool = False  # the server stops; the run goes on on its worker

    def request_stop(self, reason: str) -> None:
        if self.stop_reason is None:
            self.stop_reason = reason
        self.stop_requested.set()


def template_context(bot: Bot, context: Mapping[str, Any]) -> dict[str, Any]:
    """What every prompt may use, overlaid with what the event that fired it provides."""
    return {
        "message": "",
        **({"messages": ""} if bot.agent_id is not None else {}),  # none pending
        "paths": ", ".join(bot.paths),
        "trigger_id": bot.id,
        "bot_name": bot.name,
        **context,
    }


STATUS_FIELDS = ("status", "started_at", "created_at")
COMPLETE_FIELDS = ("status", "exit_code", "error_message", "duration_ms", "finished_at", "usage")


def _execution_event(name: str, execution: Execution, fields: tuple[str, ...]) -> bytes:
    return encode_event(name, {field: getattr(execution, field) for field in fields})


def status_event(execution: Execution) -> bytes:
    """The `status` SSE event: where the execution stands now."""
    return _execution_event("status", execution, STATUS_FIELDS)


def complete_event(execution: Execution) -> bytes:
    """The `complete` SSE event that ends an execution's stream."""
    return _execution_event("complete", execution, COMPLETE_FIELDS)


class ExecutionService:
    def __init__(
        self,
        executions: ExecutionStore,
        logs: ExecutionLogService,
        *,
        max_concurrent: int,
        environ: Mapping[str, str],
        stopping: Stopping,
    ) -> None:
        self._executions = executions
        self._logs = logs
        self._max_concurrent = max_concurrent
        self._on_rate_limited: RateLimitHandler | None = None  # set once retries exist
        self._on_parked: ParkHandler | None = None  # set once retries exist
        self._prompt_messages: PromptMessages | None = None  # set once the message bus exists
        self._accounts: RunPlacer | None = None  # set once accounts exist
        self._mcp: McpAccess | None = None  # set when the server knows where runs reach it
        # The MCP settings files of the CLIs that run here (a worker writes its runs' own).
        self._mcp_here = McpSettings()
        self._dispatch: RunDispatch | None = None  # set when runs go to workers
        # What every CLI runs in: the app's environment without Agented's own settings
        # (keys, key files, the database), which config.py has taken out.
        self._environ = dict(environ)
        self._runs: dict[str, _Run] = {}
        self._claims: dict[str, str] = {}  # bot id -> execution id, for bots that run one at a time
        # Waiting executions -> their bots: a parked run is the bot's active one too, so that
        # a schedule does not pile up parked runs that would all start at the same reset.
        self._parked: dict[str, str] = {}
        self._running = 0
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._stopping = stopping  # once set, no new run starts
        self.full_disk_retry_seconds = FULL_DISK_RETRY_SECONDS  # tests shorten it

    def set_rate_limit_handler(self, handler: RateLimitHandler) -> None:
        self._on_rate_limited = handler

    def set_prompt_messages(self, source: PromptMessages) -> None:
        self._prompt_messages = source

    def set_park_handler(self, handler: ParkHandler) -> None:
        self._on_parked = handler

    def set_accounts(self, accounts: RunPlacer) -> None:
        self._accounts = accounts

    def set_dispatch(self, dispatch: RunDispatch) -> None:
        """Send every run to workers from now on instead of spawning its CLI here."""
        self._dispatch = dispatch

    def set_mcp_access(self, access: McpAccess) -> None:
        """Point the runs of agents' bots at the MCP endpoint from now on (at the server's own
        address for local runs, at AGENTED_PUBLIC_URL's for runs on workers)."""
        self._mcp = access

    def _grant(self, run: _Run) -> McpGrant | None:
        """How the run's CLI reaches `/mcp`, if its bot acts as an agent and the server has
        an address for it."""
        if self._mcp is None or run.bot.agent_id is None:
            return None
        return self._mcp.grant(run.execution.id, run.bot.agent_id, run.bot.backend_type)

    async def _messages_for(self, bot: Bot, context: dict[str, Any]) -> list[str]:
        """Put the pending messages of the bot's agent in `context` if its prompt shows them.

        Their ids are returned, to be marked delivered once the run exists. A retry
        brings the messages of the run it retries in its context and gets no others.
        """
        source = self._prompt_messages
        if source is None or bot.agent_id is None or "messages" in context:
            return []
        if not uses(bot.prompt_template, "messages"):
            return []  # messages the prompt does not show are not delivered by it
        context["messages"], message_ids = await source.for_prompt(bot.agent_id)
        return message_ids

    def agent_of(self, execution_id: str) -> str | None:
        """The agent a queued or running execution acts as; None once it has ended."""
        run = self._runs.get(execution_id)
        return None if run is None else run.bot.agent_id

    def active_for_bot(self, bot_id: str) -> str | None:
        """The id of an execution of `bot_id` that is waiting, queued or running, if any."""
        if bot_id in self._claims:
            return self._claims[bot_id]
        running = (key for key, run in self._runs.items() if run.bot.id == bot_id)
        waiting = (key for key, owner in self._parked.items() if owner == bot_id)
        return next(running, None) or next(waiting, None)

    async def start(
        self,
        bot: Bot,
        trigger_type: TriggerType,
        context: Mapping[str, Any] | None = None,
        *,
        retry_of: str | None = None,
        attempt: int = 0,
        rerun_of: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> Execution:
        """Record a new execution of `bot` and start it in the background, or park it
        (`waiting`) when its accounts or spend limits do not let it run now.

        `context` is the input the template gets (kept with the run, so it can be
        run again); `details` says what fired it beyond its type (a delivery id,
        a schedule). Raises a RunRefused naming the reason when it cannot start.
        """
        context = dict(context or {})
        delivering = await self._messages_for(bot, context)  # before the checks: no await after
        placement = await self._place(bot)
        previous = await self._previous(retry_of)
        self._check_can_start(bot)
        prompt = render(bot.prompt_template, template_context(bot, context)).prompt
        execution_id = new_id("exe")
        # What the run was given and what fired it: kept with it, whether it starts or waits.
        inputs: dict[str, Any] = {
            "rerun_of": rerun_of,
            "context": context,
            "input_summary": summarize(context),
            "trigger_details": details,
        }
        if isinstance(placement, Wait):
            execution = await self._park_new(
                execution_id,
                bot,
                trigger_type,
                prompt,
                context,
                placement,
                retry_of,
                attempt,
                inputs,
            )
        else:

            async def record(run_bot: Bot, argv: list[str]) -> Execution:
                return await self._executions.create(
                    execution_id,
                    run_bot,
                    trigger_type,
                    prompt,
                    argv,
                    retry_of=retry_of,
                    attempt=attempt,
                    account_id=placement.account_id,
                    **inputs,
                )

            launched = await self._launch(
                execution_id, bot, placement, context, prompt, previous, record
            )
            assert launched is not None  # a new record is always made
            execution = launched
        if delivering and self._prompt_messages is not None:
            try:
                await self._prompt_messages.mark_delivered(delivering)
            except DatabaseError as error:  # the run goes ahead; the messages stay pending
                logger.warning("could not mark messages delivered to %s: %s", execution.id, error)
        return execution

    async def start_waiting(
        self, execution_id: str, bot: Bot, context: Mapping[str, Any]
    ) -> Execution | Wait | None:
        """Start a parked execution now, or say until when it must wait still; None when it
        no longer waits (cancelled meanwhile). Raises a RunRefused as `start` does."""
        waiting = await self._executions.get(execution_id)
        if waiting is None or waiting.status != "waiting":
            return None
        context = dict(context)
        placement = await self._place(bot)
        previous = await self._previous(waiting.retry_of)
        self._parked.pop(execution_id, None)  # not busy with itself
        try:
            self._check_can_start(bot)
        finally:
            self._parked[execution_id] = bot.id
        topic = self._topic_of(waiting)
        if isinstance(placement, Wait):
            parked = await self._executions.park(
                execution_id, iso(placement.until), placement.reason
            )
            if parked is None:  # cancelled meanwhile
                self._parked.pop(execution_id, None)
                return None
            topic.set_status(status_event(parked))
            self._note(topic, f"still waits until {parked.not_before}: {placement.reason}")
            return placement
        prompt = render(bot.prompt_template, template_context(bot, context)).prompt

        async def record(run_bot: Bot, argv: list[str]) -> Execution | None:
            return await self._executions.wake(
                execution_id,
                prompt=prompt,
                command=argv,
                backend_type=run_bot.backend_type,
                account_id=placement.account_id,
            )

        return await self._launch(execution_id, bot, placement, context, prompt, previous, record)

    async def end_waiting(self, execution_id: str) -> Execution | None:
        """Cancel a parked execution; None if it does not wait."""
        waiting = await self._executions.get(execution_id)
        if waiting is None or waiting.status != "waiting":
            return None
        outcome = Outcome(
            "cancelled", error_message=f"{STOP_MESSAGES['cancelled']} (while it waited)"
        )
        execution = await self._executions.finish(execution_id, outcome)
        self._parked.pop(execution_id, None)
        await self._logs.close(execution_id, complete_event(execution))
        return execution

    async def adopt_waiting(self, execution_id: str) -> None:
        """Take a waiting execution back after a restart: the bot's active run, its stream open."""
        waiting = await self._executions.get(execution_id)
        if waiting is not None and waiting.status == "waiting" and waiting.bot_id is not None:
            self._parked[execution_id] = waiting.bot_id
            self._topic_of(waiting).set_status(status_event(waiting))

    def _check_can_start(self, bot: Bot) -> None:
        if self._stopping.is_set():
            raise ShuttingDown("the server is shutting down")
        if not bot.enabled:
            raise BotDisabled(f"bot {bot.name!r} is disabled")
        if not bot.allow_concurrent_runs and (active := self.active_for_bot(bot.id)):
            raise BotBusy(f"bot {bot.name!r} is already running", active)

    async def _place(self, bot: Bot) -> Placement | Wait:
        return Placement() if self._accounts is None else await self._accounts.place(bot)

    async def _previous(self, execution_id: str | None) -> Execution | None:
        return None if execution_id is None else await self._executions.get(execution_id)

    def _now(self) -> datetime:
        return utc_now() if self._accounts is None else self._accounts.now()

    async def _name_of(self, account_id: str | None) -> str:
        return "no account" if self._accounts is None else await self._accounts.name_of(account_id)

    async def _budgets_of(self, bot: Bot, account_id: str | None) -> tuple[Budget, ...]:
        return () if self._accounts is None else await self._accounts.budgets_of(bot, account_id)

    def _topic_of(self, execution: Execution) -> Topic:
        """The execution's open topic; a waiting one's is opened again after a restart."""
        return self._logs.topic(execution.id) or self._logs.open(
            execution.id, execution.backend_type, execution.log_lines
        )

    def _note(self, topic: Topic, text: str) -> None:
        """A line of Agented's own in an execution's log (on stderr, apart from the answer)."""
        self._logs.append(topic, "stderr", [f"agented: {text}"], time.time())

    async def _park_new(
        self,
        execution_id: str,
        bot: Bot,
        trigger_type: TriggerType,
        prompt: str,
        context: dict[str, Any],
        wait: Wait,
        retry_of: str | None,
        attempt: int,
        inputs: dict[str, Any],
    ) -> Execution:
        execution = await self._executions.create(
            execution_id,
            bot,
            trigger_type,
            prompt,
            [],
            status="waiting",
            retry_of=retry_of,
            attempt=attempt,
            not_before=iso(wait.until),
            waiting_reason=wait.reason,
            **inputs,
        )
        self._parked[execution.id] = bot.id
        topic = self._logs.open(execution.id, execution.backend_type)
        topic.set_status(status_event(execution))
        self._note(topic, f"waits until {execution.not_before}: {wait.reason}")
        logger.info("execution %s of bot %r waits until %s", execution.id, bot.name, wait.until)
        if self._on_parked is not None:
            await self._on_parked(execution, bot, wait, context)
        return execution

    async def _launch(
        self,
        execution_id: str,
        bot: Bot,
        placement: Placement,
        context: dict[str, Any],
        prompt: str,
        previous: Execution | None,
        record: Callable[[Bot, list[str]], Awaitable[Execution | None]],
    ) -> Execution | None:
        """Build the command on the placement's account, record the run and start it."""
        run_bot = bot
        if placement.backend is not None and placement.backend != bot.backend_type:
            # The backend follows the account; the bot's model names one of its own backend's.
            run_bot = bot.model_copy(update={"backend_type": placement.backend, "model": None})
        resume = None
        if (
            previous is not None
            and previous.session_id is not None
            and previous.account_id == placement.account_id
            and previous.backend_type == run_bot.backend_type
            and run_bot.backend_type in RESUMABLE
        ):
            resume = previous.session_id
        try:
            argv = build_command(
                run_bot.backend_type,
                prompt,
                model=run_bot.model,
                allowed_tools=run_bot.allowed_tools,
                paths=run_bot.paths,
                command=run_bot.command,
                output_format=run_bot.output_format,
                resume_session=resume,
            )
        except CommandError as error:
            raise InvalidCommand(str(error)) from None
        if not bot.allow_concurrent_runs:
            self._claims[bot.id] = execution_id  # claimed before the first await: no double start
        try:
            execution = await record(run_bot, argv)
        except BaseException:
            self._claims.pop(bot.id, None)
            raise
        self._parked.pop(execution_id, None)  # running now, or cancelled while it waited
        if execution is None:
            self._claims.pop(bot.id, None)
            return None
        topic = self._topic_of(execution)
        topic.set_status(status_event(execution))
        if previous is not None and (previous.account_id or placement.account_id):
            note = f"continues {previous.id} (on {await self._name_of(previous.account_id)})"
            note += f"; runs on {await self._name_of(placement.account_id)}"
            self._note(topic, note + (f", resuming session {resume}" if resume else ""))
        run = _Run(
            execution, run_bot, bot, argv, context, topic, placement.overlay, placement.budgets
        )
        self._runs[execution.id] = run
        run.task = asyncio.get_running_loop().create_task(
            self._execute(run), name=f"agented-run-{execution.id}"
        )
        return execution

    async def cancel(self, execution_id: str) -> Execution | None:
        """Ask a queued or running execution to stop; None if it is not active."""
        run = self._runs.get(execution_id)
        if run is None:
            return None
        run.request_stop("cancelled")
        return run.execution

    async def shutdown(self) -> None:
        """Stop every run (recorded as `interrupted`) and wait for them to be written down;
        runs on workers go on there instead, for the next start to follow again. Then the
        MCP settings directory goes (each run's went with its CLI).

        Called once `stopping` is set, so no new run can start meanwhile.
        """
        runs = list(self._runs.values())
        for run in runs:
            if self._dispatch is not None and run.task is not None:
                run.detached = True
                run.task.cancel()
            else:
                run.request_stop("interrupted")
        tasks = [run.task for run in runs if run.task is not None]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._mcp_here.close()

    async def resume_on_workers(self, bots: Callable[[str], Awaitable[Bot | None]]) -> None:
        """After a restart, follow again what workers run (or have yet to take) for us: the
        streams go on from the lines stored meanwhile. A run whose bot is gone ends
        `interrupted` (as it would on the server)."""
        for execution in await self._executions.active():
            bot = None if execution.bot_id is None else await bots(execution.bot_id)
            if bot is None:
                await self._executions.finish(
                    execution.id, Outcome("interrupted", error_message=INTERRUPTED_BY_CRASH)
                )
                continue
            run_bot = bot.model_copy(update={"backend_type": execution.backend_type})
            context = await self._executions.input_of(execution.id) or {}
            topic = self._topic_of(execution)
            topic.set_status(status_event(execution))
            budgets = await self._budgets_of(bot, execution.account_id)
            run = _Run(execution, run_bot, bot, execution.command, context, topic, {}, budgets)
            run.resumed = True
            if not bot.allow_concurrent_runs:
                self._claims[bot.id] = execution.id
            self._runs[execution.id] = run
            run.task = asyncio.get_running_loop().create_task(
                self._execute(run), name=f"agented-run-{execution.id}"
            )
            logger.info("following execution %s on its worker again", execution.id)

    async def recover(self) -> None:
        """Mark what a crashed predecessor left active as `interrupted`; stop its CLIs."""
        rows = await self._executions.interrupt_leftovers()
        if not rows:
            return
        leftovers = [Leftover(*row) for row in rows]
        killed = await asyncio.to_thread(stop_leftovers, leftovers)
        logger.warning(
            "a crashed server left %d execution(s) active: marked them interrupted, "
            "killed %d process(es) they left running",
            len(leftovers),
            killed,
        )

    async def _execute(self, run: _Run) -> None:
        outcome = Outcome("failed", error_message="internal error")
        observer = OutputObserver(run.bot.backend_type)
        holds_slot = False
        try:
            if self._dispatch is not None:  # workers have slots of their own
                outcome = await self._run_on_worker(self._dispatch, run, observer)
            elif holds_slot := await self._acquire_slot(run):
                run.execution = await self._executions.mark_running(run.execution.id)
                self._started(run, run.execution)
                outcome = await self._run_cli(run, observer)
            else:
                reason = run.stop_reason or "cancelled"
                outcome = Outcome(
                    reason, error_message=f"{STOP_MESSAGES[reason]} (before it started)"
                )
        except Exception:
            logger.exception("execution %s failed inside Agented", run.execution.id)
        finally:
            if holds_slot:
                self._release_slot()
            if run.detached:
                self._forget(run)
            else:
                await self._finish(run, outcome)

    def _started(self, run: _Run, execution: Execution) -> None:
        run.execution = execution
        run.topic.set_status(status_event(execution))
        logger.info(
            "execution %s of bot %r started (%s)%s",
            execution.id,
            run.bot.name,
            execution.trigger_type,
            f" on worker {execution.worker}" if execution.worker else "",
        )

    async def _acquire_slot(self, run: _Run) -> bool:
        """Wait for a run slot; False if the run was stopped while it waited."""
        if self._running < self._max_concurrent and not self._waiting:
            self._running += 1
            return True
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(turn)
        stop = asyncio.ensure_future(run.stop_requested.wait())
        waiters: set[asyncio.Future[Any]] = {turn, stop}
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        if turn.done():
            return True  # the releaser already counted us as running
        turn.cancel()
        self._waiting.remove(turn)
        return False

    def _release_slot(self) -> None:
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_result(None)  # hand the slot over: _running stays the same
                return
        self._running -= 1

    def _sink(self, run: _Run, observer: OutputObserver, *, stored: bool) -> LineSink:
        """Where a run's output lines go, wherever it runs: the observer (usage, session,
        rate limits), the live topic and the database (unless a worker `stored` them),
        and the spend limits once usage arrives."""
        checked = observer.usage

        def sink(stream: str, lines: list[str], timestamp: float) -> None:
            nonlocal checked
            for line in lines:
                observer.feed(stream, line)
            self._logs.append(run.topic, stream, lines, timestamp, stored=stored)
            if run.budgets and observer.usage is not checked:  # usage arrived: check the limits
                checked = observer.usage
                self._check_budgets(run, observer)

        return sink

    def _grace(self, run: _Run) -> float:
        """Seconds the CLI gets between SIGTERM and SIGKILL; a shutdown waits less."""
        grace: float = run.bot.sigterm_grace_seconds
        return min(grace, SHUTDOWN_GRACE_CAP) if run.stop_reason == "interrupted" else grace

    async def _run_cli(self, run: _Run, observer: OutputObserver) -> Outcome:
        # The overlay comes last: an account's variables win over the server's.
        environ = {**self._environ, **run.overlay}

        async def record(process: CliProcess) -> None:
            started = process_start_time(process.pid)
            await self._executions.record_process(run.execution.id, process.pid, started)

        # Its MCP settings files exist only while the CLI runs.
        grant = self._grant(run)
        with self._mcp_here.applied(run.execution.id, grant, run.argv, environ) as (argv, env):
            ended = await supervise(
                argv,
                cwd=run.bot.paths[0] if run.bot.paths else None,
                env=env,
                execution_id=run.execution.id,
                sink=self._sink(run, observer, stored=False),
                before_read=self._logs.wait_for_room,
                stop=run.stop_requested,
                time_limit=run.bot.timeout_seconds,
                grace=lambda: self._grace(run),
                where="the server",
                on_spawn=record,
            )
        return self._outcome(run, ended, observer)

    async def _run_on_worker(
        self, dispatch: RunDispatch, run: _Run, observer: OutputObserver
    ) -> Outcome:
        """Queue the run for a worker (or, `resumed`, follow it again); its lines and its end
        come back through the database."""
        sink = self._sink(run, observer, stored=True)

        def feed(lines: list[LogLine]) -> None:
            for (stream, timestamp), group in itertools.groupby(
                lines, key=lambda line: (line.stream, line.timestamp)
            ):
                sink(stream, [line.content for line in group], timestamp)

        started = functools.partial(self._started, run)
        grace = run.bot.sigterm_grace_seconds
        if run.resumed:
            ended = await dispatch.resume(
                run.execution.id, run.topic.last_seq, grace, feed, run.stop_requested, started
            )
        else:
            with contextlib.suppress(Exception):  # logged by the log service
                await self._logs.flush()  # what the server wrote comes before the worker's
            job = RunJob(
                execution_id=run.execution.id,
                argv=run.argv,
                cwd=run.bot.paths[0] if run.bot.paths else None,
                timeout_seconds=run.bot.timeout_seconds,
                grace_seconds=grace,
                first_seq=run.topic.last_seq,
                env=run.overlay,
                label=run.bot.worker_label,
                mcp=self._grant(run),
            )
            ended = await dispatch.run(job, feed, run.stop_requested, started)
        return self._outcome(run, ended, observer)

    def _check_budgets(self, run: _Run, observer: OutputObserver) -> None:
        """Stop the run, as cancel does, once its usage takes a budget to its limit."""
        usage = observer.usage.as_dict() if observer.usage else None
        for budget in run.budgets:
            if (reason := budget.reached(usage, self._now())) is not None:
                if run.budget_reason is None:
                    run.budget_reason = reason
                    logger.warning("execution %s stopped: %s", run.execution.id, reason)
                run.request_stop("budget_exceeded")
                return

    @staticmethod
    def _outcome(run: _Run, ended: Ended, observer: OutputObserver) -> Outcome:
        usage = observer.usage.as_dict() if observer.usage else None
        session = observer.session_id
        exit_code = ended.exit_code
        if ended.error is not None:
            return Outcome("failed", exit_code, ended.error, usage, session)
        reason: str | None = ended.reason
        if reason in ("stopped", "lost"):
            if run.stop_reason is None:  # nobody here asked: its worker shut down, or died
                worker = run.execution.worker
                if reason == "stopped":
                    message = f"worker {worker} stopped while it was running"
                elif worker is not None:
                    message = f"worker {worker} was lost (no heartbeat) while it was running"
                else:
                    message = "lost before any worker took it (its job is gone)"
                return Outcome("interrupted", exit_code, message, usage, session)
            reason = run.stop_reason
        if reason == "timeout":
            message = f"timed out after {run.bot.timeout_seconds} s"
            return Outcome("timeout", exit_code, message, usage, session)
        if reason == "budget_exceeded":
            message = f"spend limit reached: {run.budget_reason}"
            return Outcome(reason, exit_code, message, usage, session)
        if reason is not None:
            return Outcome(reason, exit_code, STOP_MESSAGES[reason], usage, session)
        if exit_code == 0:
            return Outcome("success", exit_code, None, usage, session)
        assert exit_code is not None  # it exited by itself
        run.rate_limit = observer.rate_limit(exit_code)
        if run.rate_limit is not None:
            message = f"{RATE_LIMITED_PREFIX}{run.rate_limit.reason}"
            return Outcome("failed", exit_code, message, usage, session)
        message = observer.result_error or f"exited with code {exit_code}"
        return Outcome("failed", exit_code, message, usage, session)

    async def _record_outcome(self, execution_id: str, outcome: Outcome) -> Execution:
        """Store how a run ended; on a full disk, try again until there is room.

        An outcome is small and worth waiting for: without it the run would show
        `running` until the next start. The database reports the full disk once a
        minute. A shutdown stops the waiting; the next start then marks the run
        `interrupted`.
        """
        while True:
            try:
                return await self._executions.finish(execution_id, outcome)
            except StorageFull:
                if self._stopping.is_set():
                    raise
            await asyncio.sleep(self.full_disk_retry_seconds)

    async def _mark_account_limited(self, run: _Run) -> None:
        account_id = run.execution.account_id
        if run.rate_limit is None or account_id is None or self._accounts is None:
            return
        try:
            await self._accounts.rate_limited(account_id, run.rate_limit)
        except Exception:
            logger.exception("could not mark account %s limited", account_id)

    async def _finish(self, run: _Run, outcome: Outcome) -> None:
        """Record the outcome; if rate limited, limit its account and go on on the next one
        (or arm a retry); tell the viewers."""
        try:
            try:
                with contextlib.suppress(Exception):  # logged by the log service
                    await self._logs.flush()
                run.execution = await self._record_outcome(run.execution.id, outcome)
                logger.info(
                    "execution %s of bot %r ended %s (exit code %s, %s ms)",
                    run.execution.id,
                    run.bot.name,
                    run.execution.status,
                    run.execution.exit_code,
                    run.execution.duration_ms,
                )
            finally:
                self._forget(run)  # before a fallback starts: that run is this bot's next one
            await self._mark_account_limited(run)
            if run.rate_limit is not None:
                await self._after_rate_limit(run)
                with contextlib.suppress(Exception):  # its note stored before viewers replay it
                    await self._logs.flush()
        finally:
            await self._logs.close(run.execution.id, complete_event(run.execution))

    def _forget(self, run: _Run) -> None:
        """The run is no longer this server's: no longer active, nor its bot's claim."""
        self._runs.pop(run.execution.id, None)
        if self._claims.get(run.bot.id) == run.execution.id:
            del self._claims[run.bot.id]

    async def _after_rate_limit(self, run: _Run) -> None:
        """Go on on the next account of the bot's chain; without a chain, arm a retry."""
        assert run.rate_limit is not None
        try:
            if run.origin.account_chain and run.execution.account_id is not None:
                await self._fall_back(run)
            elif self._on_rate_limited is not None:
                await self._on_rate_limited(run.execution, run.origin, run.rate_limit, run.context)
        except Exception:
            logger.exception("could not go on after the rate limit of %s", run.execution.id)

    async def _fall_back(self, run: _Run) -> None:
        limited = f"rate limited on {await self._name_of(run.execution.account_id)}"
        attempt = run.execution.attempt + 1
        if attempt > len(run.origin.account_chain) + EXTRA_FALLBACKS:
            self._note(run.topic, f"{limited}; no fallback left after {attempt - 1} attempts")
            return
        try:
            following = await self.start(
                run.origin, "fallback", run.context, retry_of=run.execution.id, attempt=attempt
            )
        except RunRefused as refused:
            self._note(run.topic, f"{limited}; cannot go on: {refused}")
            return
        if following.status == "waiting":
            note = f"every account is limited: {following.id} waits until {following.not_before}"
        else:
            note = f"continues as {following.id} on {await self._name_of(following.account_id)}"
        self._note(run.topic, f"{limited}; {note}")
