"""Running a finished execution again with the input it was given, or with that input edited.

A re-run goes through `ExecutionService.start` like every other run, as the
bot is configured now (its template, backend and paths may have changed since),
with the stored input, and is linked to the run it repeats by `rerun_of`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ExecutionActive, InputNotKept, NotFound
from ..models import Execution
from ..storage.bots import BotStore
from ..storage.executions import ExecutionStore
from .service import ExecutionService

ACTIVE = frozenset({"queued", "running"})


class RerunService:
    def __init__(self, executions: ExecutionStore, bots: BotStore, runs: ExecutionService) -> None:
        self._executions = executions
        self._bots = bots
        self._runs = runs

    async def rerun(self, execution_id: str, changes: Mapping[str, Any] | None = None) -> Execution:
        """Start the execution's bot again with its input, `changes` laid over it.

        Raises NotFound (the execution or its bot is gone), ExecutionActive,
        InputNotKept, or the RunRefused that `start` gives.
        """
        original = await self._executions.get(execution_id)
        if original is None:
            raise NotFound(f"no execution {execution_id}")
        if original.status in ACTIVE:
            raise ExecutionActive(
                f"execution {execution_id} is still {original.status}; re-run it once it ended",
                execution_id=execution_id,
            )
        bot = None if original.bot_id is None else await self._bots.get(original.bot_id)
        if bot is None:
            raise NotFound(f"the bot of execution {execution_id} has been deleted")
        context = await self._executions.input_of(execution_id)
        if context is None:
            raise InputNotKept(
                f"execution {execution_id} ran before Agented kept the input of runs; "
                "start a new run of the bot instead"
            )
        edited = {key: value for key, value in (changes or {}).items() if value is not None}
        details = {"rerun_of_trigger_type": original.trigger_type, "edited": sorted(edited)}
        return await self._runs.start(
            bot, "rerun", {**context, **edited}, rerun_of=original.id, details=details
        )
