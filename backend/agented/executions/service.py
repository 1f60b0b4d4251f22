"""The one way to start a run, and the owner of every run in flight.

Manual runs, webhooks, GitHub events, schedules and retries all call
`ExecutionService.start` with a bot, a source and a template context. It
renders the prompt, records the execution and returns at once; a task then
waits for one of the server-wide run slots (the execution is `queued` until
it gets one), runs the CLI through `CliProcess`, and records how it ended.
Cancel, timeout and shutdown all stop the CLI and everything it started,
whether or not it left the CLI's process group (see `containment`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import signal
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..errors import BotBusy, BotDisabled, InvalidCommand, ShuttingDown, StorageFull
from ..events.encoding import encode_event
from ..events.topic import Topic
from ..models import Bot, Execution, TriggerType, new_id
from ..stopping import Stopping
from ..storage.database import DatabaseError
from ..storage.executions import ExecutionStore, Outcome
from ..tasks import cancel_and_wait
from .backends import CommandError, build_command
from .containment import Leftover, process_start_time, stop_leftovers
from .inputs import summarize
from .logs import ExecutionLogService
from .mcp_access import McpAccess
from .output import OutputObserver
from .process import CliProcess
from .templates import render, uses
from .verdicts import RateLimit

logger = logging.getLogger(__name__)

SHUTDOWN_GRACE_CAP = 5.0
FULL_DISK_RETRY_SECONDS = 5.0

STOP_MESSAGES = {
    "cancelled": "cancelled by a user",
    "interrupted": "the server shut down while it was running",
}

RateLimitHandler = Callable[[Execution, Bot, RateLimit, dict[str, Any]], Awaitable[object]]


class PromptMessages(Protocol):
    """Where the run of a bot that acts as an agent gets its agent's messages (`{messages}`)."""

    async def for_prompt(self, agent_id: str) -> tuple[str, list[str]]:
        """The pending messages as prompt text, and their ids."""
        ...

    async def mark_delivered(self, message_ids: list[str]) -> None: ...


class RunAccounts(Protocol):
    """Which account a run uses, and where a rate-limited run's account is marked limited."""

    async def for_run(self, bot: Bot) -> tuple[str, dict[str, str]] | None:
        """The account's id and its environment overlay; None to run as today, on none."""
        ...

    async def rate_limited(self, account_id: str, limit: RateLimit) -> None: ...


@dataclass(eq=False)
class _Run:
    execution: Execution
    bot: Bot
    argv: list[str]
    context: dict[str, Any]
    topic: Topic
    env: Mapping[str, str]  # the CLI's environment, with the account's overlay if any
    stop_reason: str | None = None
    rate_limit: RateLimit | None = None
    stop_requested: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

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
COMPLETE_FIELDS = ("status", "exit_code", "error_message", "duration_ms", "finished_at")


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
        self._prompt_messages: PromptMessages | None = None  # set once the message bus exists
        self._accounts: RunAccounts | None = None  # set once accounts exist
        self._mcp: McpAccess | None = None  # set when the server knows its own address
        # What every CLI runs in: the app's environment without Agented's own settings
        # (keys, key files, the database), which config.py has taken out.
        self._environ = dict(environ)
        self._runs: dict[str, _Run] = {}
        self._claims: dict[str, str] = {}  # bot id -> execution id, for bots that run one at a time
        self._running = 0
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._stopping = stopping  # once set, no new run starts
        self.full_disk_retry_seconds = FULL_DISK_RETRY_SECONDS  # tests shorten it

    def set_rate_limit_handler(self, handler: RateLimitHandler) -> None:
        self._on_rate_limited = handler

    def set_prompt_messages(self, source: PromptMessages) -> None:
        self._prompt_messages = source

    def set_accounts(self, accounts: RunAccounts) -> None:
        self._accounts = accounts

    def set_mcp_access(self, access: McpAccess) -> None:
        """Point the runs of agents' bots at the MCP endpoint from now on."""
        self._mcp = access

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
        """The id of an execution of `bot_id` that is queued or running, if any."""
        if bot_id in self._claims:
            return self._claims[bot_id]
        return next((key for key, run in self._runs.items() if run.bot.id == bot_id), None)

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
        """Record a new execution of `bot` and start it in the background.

        `context` is the input the template gets (kept with the run, so it can be
        run again); `details` says what fired it beyond its type (a delivery id,
        a schedule). Raises a RunRefused naming the reason when it cannot start.
        """
        context = dict(context or {})
        delivering = await self._messages_for(bot, context)  # before the checks: no await after
        account = None if self._accounts is None else await self._accounts.for_run(bot)
        account_id, overlay = account or (None, {})
        if self._stopping.is_set():
            raise ShuttingDown("the server is shutting down")
        if not bot.enabled:
            raise BotDisabled(f"bot {bot.name!r} is disabled")
        if not bot.allow_concurrent_runs and (active := self.active_for_bot(bot.id)):
            raise BotBusy(f"bot {bot.name!r} is already running", active)
        full_context = template_context(bot, context)
        prompt = render(bot.prompt_template, full_context).prompt
        execution_id = new_id("exe")
        mcp = self._mcp if bot.agent_id is not None else None
        try:
            argv = build_command(
                bot.backend_type,
                prompt,
                model=bot.model,
                allowed_tools=bot.allowed_tools,
                paths=bot.paths,
                command=bot.command,
                output_format=bot.output_format,
                mcp_args=mcp.arguments(bot.backend_type, execution_id) if mcp else (),
            )
        except CommandError as error:
            raise InvalidCommand(str(error)) from None
        if not bot.allow_concurrent_runs:
            self._claims[bot.id] = execution_id  # claimed before the first await: no double start
        try:
            execution = await self._executions.create(
                execution_id,
                bot,
                trigger_type,
                prompt,
                argv,
                retry_of=retry_of,
                attempt=attempt,
                account_id=account_id,
                rerun_of=rerun_of,
                context=context,
                input_summary=summarize(context),
                trigger_details=details,
            )
        except BaseException:
            self._claims.pop(bot.id, None)
            raise
        topic = self._logs.open(execution.id)
        topic.set_status(status_event(execution))
        # The overlay comes last: an account's variables win over the server's.
        run = _Run(execution, bot, argv, context, topic, {**self._environ, **overlay})
        self._runs[execution.id] = run
        run.task = asyncio.get_running_loop().create_task(
            self._execute(run), name=f"agented-run-{execution.id}"
        )
        if delivering and self._prompt_messages is not None:
            try:
                await self._prompt_messages.mark_delivered(delivering)
            except DatabaseError as error:  # the run goes ahead; the messages stay pending
                logger.warning("could not mark messages delivered to %s: %s", execution.id, error)
        return execution

    async def cancel(self, execution_id: str) -> Execution | None:
        """Ask a queued or running execution to stop; None if it is not active."""
        run = self._runs.get(execution_id)
        if run is None:
            return None
        run.request_stop("cancelled")
        return run.execution

    async def shutdown(self) -> None:
        """Stop every run (recorded as `interrupted`) and wait for them to be written down.

        Called once `stopping` is set, so no new run can start meanwhile.
        """
        runs = list(self._runs.values())
        for run in runs:
            run.request_stop("interrupted")
        tasks = [run.task for run in runs if run.task is not None]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

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
            holds_slot = await self._acquire_slot(run)
            if holds_slot:
                run.execution = await self._executions.mark_running(run.execution.id)
                run.topic.set_status(status_event(run.execution))
                logger.info(
                    "execution %s of bot %r started (%s)",
                    run.execution.id,
                    run.bot.name,
                    run.execution.trigger_type,
                )
                outcome = await self._run_cli(run, observer)
            else:
                reason = run.stop_reason or "cancelled"
                outcome = Outcome(
                    reason, error_message=f"{STOP_MESSAGES[reason]} (before it started)"
                )
        except Exception:
            logger.exception("execution %s failed inside Agented", run.execution.id)
        finally:
            if self._mcp is not None:
                self._mcp.forget(run.execution.id)  # its settings files and their token
            if holds_slot:
                self._release_slot()
            await self._finish(run, outcome)

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

    async def _run_cli(self, run: _Run, observer: OutputObserver) -> Outcome:
        program = run.argv[0]
        if shutil.which(program, path=run.env.get("PATH")) is None:
            return Outcome(
                "failed", error_message=f"{program}: command not found on the server's PATH"
            )
        environ = run.env  # the server's CLI environment with the run's account on top
        if self._mcp is not None and run.bot.agent_id is not None:
            # The token exists from here on, only while the CLI can use it.
            extra = self._mcp.prepare(run.bot.backend_type, run.execution.id, run.bot.agent_id)
            environ = {**environ, **extra}
        try:
            process = await CliProcess.spawn(
                run.argv,
                cwd=run.bot.paths[0] if run.bot.paths else None,
                env=environ,
                execution_id=run.execution.id,
            )
        except OSError as error:
            return Outcome(
                "failed", error_message=f"{program}: cannot start: {error.strerror or error}"
            )
        await self._executions.record_process(
            run.execution.id, process.pid, process_start_time(process.pid)
        )

        def sink(stream: str, lines: list[str], timestamp: float) -> None:
            for line in lines:
                observer.feed(stream, line)
            self._logs.append(run.topic, stream, lines, timestamp)

        pump = asyncio.ensure_future(process.pump(sink, self._logs.wait_for_room))
        exited = asyncio.ensure_future(process.wait())
        stop = asyncio.ensure_future(run.stop_requested.wait())
        try:
            done, _ = await asyncio.wait(
                {exited, stop}, timeout=run.bot.timeout_seconds, return_when=asyncio.FIRST_COMPLETED
            )
            if exited not in done:
                reason = run.stop_reason or "timeout"
                grace: float = run.bot.sigterm_grace_seconds
                if reason == "interrupted":
                    grace = min(grace, SHUTDOWN_GRACE_CAP)
                await process.stop(grace)
            else:
                reason = None
            # Helpers left behind (e.g. MCP servers), also those that left the group.
            await process.signal_all(signal.SIGKILL)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5):
                    await asyncio.shield(pump)
        finally:
            stop.cancel()
            exited.cancel()
            await cancel_and_wait(pump)
            exit_code = await process.release()
        return self._outcome(run, reason, exit_code, observer)

    @staticmethod
    def _outcome(
        run: _Run, reason: str | None, exit_code: int | None, observer: OutputObserver
    ) -> Outcome:
        usage = observer.usage.as_dict() if observer.usage else None
        if reason == "timeout":
            message = f"timed out after {run.bot.timeout_seconds} s"
            return Outcome("timeout", exit_code, message, usage)
        if reason is not None:
            return Outcome(reason, exit_code, STOP_MESSAGES[reason], usage)
        if exit_code == 0:
            return Outcome("success", exit_code, None, usage)
        run.rate_limit = observer.rate_limit(exit_code)
        if run.rate_limit is not None:
            return Outcome("failed", exit_code, f"rate limited: {run.rate_limit.reason}", usage)
        message = observer.result_error or f"exited with code {exit_code}"
        return Outcome("failed", exit_code, message, usage)

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
        """Record the outcome; if rate limited, limit its account, arm a retry; tell the viewers."""
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
            await self._mark_account_limited(run)
            if run.rate_limit is not None and self._on_rate_limited is not None:
                try:
                    await self._on_rate_limited(run.execution, run.bot, run.rate_limit, run.context)
                except Exception:
                    logger.exception("could not schedule a retry of %s", run.execution.id)
        finally:
            self._runs.pop(run.execution.id, None)
            if self._claims.get(run.bot.id) == run.execution.id:
                del self._claims[run.bot.id]
            await self._logs.close(run.execution.id, complete_event(run.execution))
