"""When a rate-limited run is tried again."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from agented.executions.retry_policy import RetryPolicy
from agented.executions.verdicts import RateLimit

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
LIMIT = RateLimit("Claude API rate limit reached (429)", None, transient=False)
OVERLOADED = RateLimit("Claude API overloaded (529)", None, transient=True)
NO_JITTER = RetryPolicy(jitter=0.0, reset_spread=0.0)


def resets_in(delta: timedelta) -> RateLimit:
    return RateLimit("Claude usage limit reached", NOW + delta, transient=False)


def delay(policy: RetryPolicy, attempt: int, limit: RateLimit, seed: int = 7) -> float | None:
    return policy.delay(attempt, limit, now=NOW, rng=random.Random(seed))


@pytest.mark.parametrize(
    ("attempt", "expected"), [(1, 60.0), (2, 120.0), (3, 240.0), (4, 480.0), (5, 960.0)]
)
def test_backoff_doubles_from_the_base_delay(attempt: int, expected: float) -> None:
    assert delay(NO_JITTER, attempt, LIMIT) == expected


@pytest.mark.parametrize(("attempt", "expected"), [(1, 15.0), (2, 30.0), (5, 240.0)])
def test_transient_errors_back_off_from_a_shorter_base(attempt: int, expected: float) -> None:
    assert delay(NO_JITTER, attempt, OVERLOADED) == expected


def test_attempts_run_out() -> None:
    policy = RetryPolicy(max_attempts=2)
    assert delay(policy, 2, LIMIT) is not None
    assert delay(policy, 3, LIMIT) is None
    assert delay(policy, 3, resets_in(timedelta(minutes=5))) is None
    assert delay(RetryPolicy(max_attempts=0), 1, LIMIT) is None


def test_attempts_are_one_based() -> None:
    with pytest.raises(ValueError, match="1-based"):
        delay(RetryPolicy(), 0, LIMIT)


def test_backoff_is_capped_even_after_many_attempts() -> None:
    policy = RetryPolicy(max_attempts=5000, jitter=0.0)
    assert delay(policy, 9, LIMIT) == 60.0 * 2**8
    assert delay(policy, 10, LIMIT) == 6 * 3600.0
    assert delay(policy, 5000, LIMIT) == 6 * 3600.0


def test_jitter_stays_within_its_band_and_is_deterministic_per_seed() -> None:
    policy = RetryPolicy()
    delays = [delay(policy, 3, LIMIT, seed) or 0.0 for seed in range(500)]
    assert all(240 * 0.8 <= d <= 240 * 1.2 for d in delays)
    assert max(delays) - min(delays) > 240 * 0.3  # really spread out
    assert delays == [delay(policy, 3, LIMIT, seed) for seed in range(500)]


def test_jitter_still_spreads_at_the_cap_without_exceeding_it() -> None:
    policy = RetryPolicy(max_attempts=20)
    delays = {delay(policy, 20, LIMIT, seed) for seed in range(200)}
    assert all(d is not None and 0.8 * 6 * 3600 <= d <= 6 * 3600 for d in delays)
    assert len(delays) > 50


def test_a_known_reset_time_is_waited_for_with_a_margin() -> None:
    limit = resets_in(timedelta(hours=3))
    assert delay(NO_JITTER, 1, limit) == 3 * 3600 + 30.0
    spread = [delay(RetryPolicy(), 4, limit, seed) for seed in range(200)]
    assert all(d is not None and 3 * 3600 + 30 <= d <= 3 * 3600 + 90 for d in spread)
    assert len(set(spread)) > 100


def test_a_reset_days_away_is_waited_for_but_capped_at_a_week() -> None:
    assert delay(NO_JITTER, 1, resets_in(timedelta(days=5, hours=22))) == 5 * 86400 + 22 * 3600 + 30
    assert delay(RetryPolicy(), 1, resets_in(timedelta(days=40))) == 7 * 86400.0


def test_a_reset_time_in_the_past_falls_back_to_backoff() -> None:
    assert delay(NO_JITTER, 2, resets_in(-timedelta(minutes=1))) == 120.0


@pytest.mark.parametrize(
    "fields",
    [
        {"max_attempts": -1},
        {"jitter": 1.0},
        {"jitter": -0.1},
        {"base_delay": -1.0},
        {"reset_margin": -5.0},
    ],
)
def test_nonsense_settings_are_refused(fields: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must"):
        RetryPolicy(**fields)  # type: ignore[arg-type]
