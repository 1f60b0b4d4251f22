"""A one-waiter wake-up flag: what asyncio.Event does for a single viewer, in far less memory.

asyncio.Event keeps a deque of waiters (about half a kilobyte even when empty);
each stream has exactly one waiter, so a slot for one future is enough. With
ten thousand open streams that difference is most of the memory budget. `wait`
hands out the future itself rather than a coroutine awaiting it, so a waiting
stream holds no extra coroutine frame either.
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
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self._set = False

    def is_set(self) -> bool:
        return self._set

    def wait(self) -> asyncio.Future[None]:
        """A future done once set (done already if it is); only one coroutine may wait."""
        waiter = asyncio.get_running_loop().create_future()
        if self._set:
            waiter.set_result(None)
        else:
            self._waiter = waiter
        return waiter
