"""A one-waiter wake-up flag: what asyncio.Event does for a single viewer, in far less memory.

asyncio.Event keeps a deque of waiters (about half a kilobyte even when empty);
each stream has exactly one waiter, so a slot for one future is enough. With
ten thousand open streams that difference is most of the memory budget.
"""

from __future__ import annotations

import asyncio


class Wakeup:
    __slots__ = ("_set", "_waiter")

    def __init__(self) -> None:
        self._set = False
        self._waiter: asyncio.Future[None] | None = None

    def set(self) -> None:
        self._set = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def clear(self) -> None:
        self._set = False

    def is_set(self) -> bool:
        return self._set

    async def wait(self) -> None:
        """Return once set (at once if it already is); only one coroutine may wait."""
        if self._set:
            return
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None
