"""Token buckets per client (IP or key), held in memory with a bounded number of clients."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable

MAX_CLIENTS = 50_000


class RateLimiter:
    """At most `count` events per `seconds` for each client, refilled continuously."""

    def __init__(
        self, count: int, seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._capacity = float(count)
        self._rate = count / seconds
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def _level(self, client: str, now: float) -> float:
        tokens, stamp = self._buckets.get(client, (self._capacity, now))
        return min(self._capacity, tokens + (now - stamp) * self._rate)

    def retry_after(self, client: str) -> int:
        """Seconds until `client` may act again (0: now), without using anything up."""
        level = self._level(client, self._clock())
        return 0 if level >= 1 else math.ceil((1 - level) / self._rate)

    def take(self, client: str) -> int:
        """Use one event; 0 if allowed, else the seconds to wait (nothing is used then)."""
        now = self._clock()
        level = self._level(client, now)
        if level < 1:
            return math.ceil((1 - level) / self._rate)
        self._buckets[client] = (level - 1, now)
        self._buckets.move_to_end(client)
        while len(self._buckets) > MAX_CLIENTS:
            self._buckets.popitem(last=False)
        return 0
