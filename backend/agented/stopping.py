"""The one signal that the server has begun to stop, passed to everything that needs to know.

The runtime owns one `Stopping` and sets it once, the moment shutdown starts
(the supervisor's event, SIGTERM, or `after_serving`). Request handlers answer
503 from then on, the run service refuses new runs, and the stream hub ends
every open stream; each reads this same object rather than keeping a flag of
its own that could disagree with the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class Stopping:
    """Set once, never cleared: `is_set()` to check, `wait()` to block, `on_set()` to react."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._reactions: list[Callable[[], None]] = []

    def is_set(self) -> bool:
        return self._event.is_set()

    async def wait(self) -> None:
        await self._event.wait()

    def on_set(self, reaction: Callable[[], None]) -> None:
        """Call `reaction` when the signal is set (at once if it already is)."""
        if self.is_set():
            reaction()
        else:
            self._reactions.append(reaction)

    def set(self) -> None:
        """Raise the signal and run the reactions, in the order they were registered."""
        if self.is_set():
            return
        self._event.set()
        reactions, self._reactions = self._reactions, []
        for reaction in reactions:
            reaction()
