"""How long to wait before re-running a rate-limited execution, and when to give up.

A provider that names its reset time is believed: the retry waits until then,
since trying earlier only burns an attempt. Otherwise the wait grows
exponentially. Jitter spreads bots limited at the same moment, so they do not
all return in the same second and trip the limit again.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime

from .verdicts import RateLimit

_MAX_DOUBLINGS = 64  # past this the delay is capped anyway; avoids float overflow


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5  # retries after the original run
    base_delay: float = 60.0  # seconds, first backoff of a rate limit
    max_delay: float = 6 * 3600.0  # cap of the exponential backoff
    jitter: float = 0.2  # backoff is scaled by a random factor in [1 - jitter, 1 + jitter]
    transient_base_delay: float = 15.0  # first backoff of an overloaded (529-style) error
    reset_margin: float = 30.0  # added to a known reset time, for clock skew
    reset_spread: float = 60.0  # at most this much more, at random, after a known reset
    max_reset_wait: float = 7 * 86400.0  # usage limits can reset days later, not weeks

    def __post_init__(self) -> None:
        if self.max_attempts < 0:
            raise ValueError("max_attempts must not be negative")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter must be in [0, 1)")
        delays = (self.base_delay, self.max_delay, self.transient_base_delay)
        if min(*delays, self.reset_margin, self.reset_spread, self.max_reset_wait) < 0:
            raise ValueError("delays must not be negative")

    def delay(
        self, attempt: int, rate_limit: RateLimit, *, now: datetime, rng: random.Random
    ) -> float | None:
        """Seconds until retry number `attempt` (1-based), or None when attempts are exhausted.

        With `resets_at` in the future: until then, plus the margin and a random
        spread, capped at `max_reset_wait`. Otherwise exponential backoff from
        `base_delay` (`transient_base_delay` for transient errors), doubling per
        attempt, with jitter, capped at `max_delay`.
        """
        if attempt < 1:
            raise ValueError(f"attempt is 1-based, got {attempt}")
        if attempt > self.max_attempts:
            return None
        if rate_limit.resets_at is not None:
            until_reset = (rate_limit.resets_at - now).total_seconds()
            if until_reset > 0:
                wait = until_reset + self.reset_margin + rng.uniform(0, self.reset_spread)
                return min(wait, self.max_reset_wait)
        base = self.transient_base_delay if rate_limit.transient else self.base_delay
        backoff = min(base * 2.0 ** min(attempt - 1, _MAX_DOUBLINGS), self.max_delay)
        # Jitter after the cap too, so that bots long in backoff still spread out.
        return min(backoff * rng.uniform(1 - self.jitter, 1 + self.jitter), self.max_delay)
