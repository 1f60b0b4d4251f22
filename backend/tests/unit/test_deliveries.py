"""The delivery memory behind webhook deduplication: key sets, the window and its minimum."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agented.paths import migrations_dir
from agented.storage import migrate
from agented.storage.deliveries import MINIMUM_WINDOW_SECONDS, DeliveryStore
from agented.storage.sqlite import SqliteDatabase
from agented.triggers.signatures import REPLAY_TOLERANCE_SECONDS


@pytest.fixture
async def deliveries(tmp_path: Path) -> AsyncIterator[DeliveryStore]:
    database = await SqliteDatabase.open(tmp_path / "test.db")
    await migrate(database, migrations_dir("sqlite"))
    yield DeliveryStore(database)
    await database.close()


def test_the_minimum_window_outlasts_any_standard_webhooks_signature() -> None:
    # A timestamp up to 5 minutes ahead is accepted until 5 minutes after it: 10 minutes in all.
    assert MINIMUM_WINDOW_SECONDS >= 2 * REPLAY_TOLERANCE_SECONDS


async def test_a_key_set_is_a_repeat_if_any_key_was_seen_and_then_records_nothing(
    deliveries: DeliveryStore,
) -> None:
    now = time.time()
    assert await deliveries.claim(["body:1", "id:1"], now, 60)
    assert not await deliveries.claim(["body:2", "id:1"], now, 60)
    assert await deliveries.claim(["body:2", "id:2"], now, 60), "body:2 was not recorded"
    assert not await deliveries.claim(["body:1"], now, 60)


async def test_each_key_set_is_decided_on_its_own_in_one_call(
    deliveries: DeliveryStore,
) -> None:
    now = time.time()
    assert await deliveries.claim(["a"], now, 60)
    assert await deliveries.claim_each([["a", "b"], ["c"]], now, 60) == [False, True]


async def test_keys_are_remembered_for_the_window_but_never_less_than_the_minimum(
    deliveries: DeliveryStore,
) -> None:
    now = time.time()
    assert await deliveries.claim(["short"], now, 1)
    assert not await deliveries.claim(["short"], now + MINIMUM_WINDOW_SECONDS - 1, 1)
    assert await deliveries.claim(["short"], now + MINIMUM_WINDOW_SECONDS + 1, 1)
    assert await deliveries.claim(["long"], now, 3600)
    assert not await deliveries.claim(["long"], now + 3599, 3600)
    assert await deliveries.claim(["long"], now + 3601, 3600)


async def test_housekeeping_never_forgets_a_key_younger_than_the_minimum(
    deliveries: DeliveryStore,
) -> None:
    now = time.time()
    await deliveries.claim(["old"], now - MINIMUM_WINDOW_SECONDS - 10, 1)
    await deliveries.claim(["recent"], now - 5, 1)
    assert await deliveries.forget_before(now) == 1
    assert not await deliveries.claim(["recent"], now, 1)
    assert await deliveries.claim(["old"], now, 1)
