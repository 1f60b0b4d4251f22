"""The in-memory tail every viewer of an execution shares."""

from __future__ import annotations

import asyncio

from agented.events.topic import Topic
from agented.events.wakeup import Wakeup


def _fill(topic: Topic, count: int) -> None:
    for seq in range(topic.last_seq + 1, topic.last_seq + count + 1):
        topic.append(seq, b"e%d;" % seq)


async def test_read_after_returns_everything_owed_in_one_piece() -> None:
    topic = Topic("x")
    _fill(topic, 5)
    assert topic.read_after(2, 1 << 20) == (b"e3;e4;e5;", 5)
    assert topic.read_after(5, 1 << 20) == (b"", 5)


async def test_read_after_respects_the_chunk_limit() -> None:
    topic = Topic("x")
    _fill(topic, 10)
    chunk, cursor = topic.read_after(0, 6)
    assert (chunk, cursor) == (b"e1;e2;", 2)


async def test_tail_keeps_unpersisted_events_and_lets_persisted_ones_go() -> None:
    topic = Topic("x", tail_events=3)
    _fill(topic, 10)
    topic.mark_persisted(4)
    assert topic.read_after(3, 1 << 20) is None, "events 1-4 left the tail"
    assert topic.read_after(4, 1 << 20) == (b"e5;e6;e7;e8;e9;e10;", 10)
    topic.mark_persisted(10)
    assert topic.read_after(7, 1 << 20) == (b"e8;e9;e10;", 10)
    assert topic.read_after(6, 1 << 20) is None


async def test_viewers_are_woken_once_per_loop_iteration() -> None:
    topic = Topic("x")
    wakeup = Wakeup()
    topic.watch(wakeup)
    _fill(topic, 100)
    assert not wakeup.is_set(), "wake-ups are deferred to the next loop iteration"
    await asyncio.sleep(0)
    assert wakeup.is_set()
    topic.unwatch(wakeup)
    wakeup.clear()
    _fill(topic, 1)
    await asyncio.sleep(0)
    assert not wakeup.is_set()


async def test_status_and_close_wake_viewers() -> None:
    topic = Topic("x")
    wakeup = Wakeup()
    topic.watch(wakeup)
    topic.set_status(b"s")
    await asyncio.sleep(0)
    assert wakeup.is_set()
    assert topic.status_version == 1
    wakeup.clear()
    topic.close(b"done")
    await asyncio.sleep(0)
    assert wakeup.is_set()
    assert topic.final == b"done"
