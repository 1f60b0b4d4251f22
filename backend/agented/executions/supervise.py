"""Running one CLI to its end: spawn, read its lines, stop it on request or timeout, reap it.

The same supervision serves a run on the server (`ExecutionService`) and a run
on a worker (`agented.worker`): both spawn through `CliProcess` (its own process
group and cgroup, nothing of the parent's inherited), feed every line to a sink,
and stop the CLI and everything it started the same way — SIGTERM, a grace
period, SIGKILL. What the run's owner makes of the end (`Ended`) is its own
business: the server turns it into an outcome; a worker stores it for the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import signal
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Literal

from ..tasks import cancel_and_wait
from .process import BeforeRead, CliProcess, LineSink

# How long the last output may take to arrive once the CLI was stopped or exited.
DRAIN_SECONDS = 5.0

# "lost": the worker running it stopped heartbeating (the server's verdict, never a worker's).
EndReason = Literal["timeout", "stopped", "lost"]


@dataclass(frozen=True, slots=True)
class Ended:
    """How a CLI ended: by itself (`reason` None) with `exit_code`, at its timeout, or stopped
    on request; `error` says why it never ran (not found, cannot start)."""

    reason: EndReason | None = None
    exit_code: int | None = None
    error: str | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Ended:
        values = json.loads(text)
        return cls(values.get("reason"), values.get("exit_code"), values.get("error"))


async def supervise(
    argv: Sequence[str],
    *,
    cwd: str | None,
    env: Mapping[str, str],
    execution_id: str,
    sink: LineSink,
    before_read: BeforeRead,
    stop: asyncio.Event,
    time_limit: float,
    grace: Callable[[], float],
    where: str,
    on_spawn: Callable[[CliProcess], Awaitable[None]] | None = None,
) -> Ended:
    """Run `argv` until it exits, `time_limit` passes or `stop` is set; `grace()` (asked when
    stopping) is how long it gets between SIGTERM and SIGKILL. `where` names the machine
    in the errors (the server, a worker)."""
    program = argv[0]
    if shutil.which(program, path=env.get("PATH")) is None:
        return Ended(error=f"{program}: command not found on {where}'s PATH")
    try:
        process = await CliProcess.spawn(argv, cwd=cwd, env=env, execution_id=execution_id)
    except OSError as error:
        return Ended(error=f"{program}: cannot start: {error.strerror or error}")
    if on_spawn is not None:
        try:
            await on_spawn(process)
        except BaseException:
            await process.release()
            raise
    pump = asyncio.ensure_future(process.pump(sink, before_read))
    exited = asyncio.ensure_future(process.wait())
    stopping = asyncio.ensure_future(stop.wait())
    reason: EndReason | None = None
    try:
        done, _ = await asyncio.wait(
            {exited, stopping}, timeout=time_limit, return_when=asyncio.FIRST_COMPLETED
        )
        if exited not in done:
            reason = "stopped" if stop.is_set() else "timeout"
            await process.stop(grace())
        # Helpers left behind (e.g. MCP servers), also those that left the group.
        await process.signal_all(signal.SIGKILL)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(DRAIN_SECONDS):
                await asyncio.shield(pump)
    finally:
        stopping.cancel()
        exited.cancel()
        await cancel_and_wait(pump)
        exit_code = await process.release()
    return Ended(reason, exit_code)
