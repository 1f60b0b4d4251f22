"""The in-memory tail every viewer of an execution shares."""

from __future__ import annotations

import asyncio
import random

from agented.events.topic import VIEWERS_PER_SLICE, Topic
from agented.events.wakeup import Wakeup


def _fill(topic: Topic, count: int) -> None:
    for seq in range(topic.last_seq + 1, topic.last_seq + count + 1):
        topic.append(seq, b"e%d;" % seq)


async def test_read_after_returns_everything_owed_in_one_piece() -> None:
    topic = Topic("x")
    _fill(topic, 5)
    assert topic.read_after(2, 1 << 20) == (b"e3;e4;e5;", 5)
    assert topic.read_after(5, 1 << 20) == (b"", 5)


async def test_viewers_at_the_same_cursor_share_one_chunk_until_more_arrives() -> None:
    topic = Topic("x")
    _fill(topic, 5)
    first, _ = topic.read_after(2, 1 << 20)
    again, _ = topic.read_after(2, 1 << 20)
    assert again is first, "the second viewer gets the same bytes, not a copy"
    _fill(topic, 1)
    assert topic.read_after(2, 1 << 20) == (b"e3;e4;e5;e6;", 6)
    assert topic.read_after(2, 6) == (b"e3;e4;", 4)
    topic.mark_persisted(6)
    topic.forget_persisted()
    assert topic.read_after(2, 1 << 20) is None, "gone from the tail: never from the shared chunk"


async def test_read_after_respects_the_chunk_limit() -> None:
    topic = Topic("x")
    _fill(topic, 10)
    chunk, cursor = topic.read_after(0, 6)
    assert (chunk, cursor) == (b"e1;e2;", 2)


async def test_read_after_goes_at_most_one_event_past_its_byte_limit() -> None:
    topic = Topic("x")
    for seq in range(1, 11):
        topic.append(seq, b"%d" % seq + b"\0" * 999)  # 1000-byte events
    chunk, cursor = topic.read_after(0, 2500)
    assert (len(chunk), cursor) == (3000, 3)
    chunk, cursor = topic.read_after(3, 10)
    assert (len(chunk), cursor) == (1000, 4), "an event over the limit still goes, alone"


async def test_tail_keeps_unpersisted_events_and_lets_persisted_ones_go() -> None:
    topic = Topic("x", tail_bytes=12)
    _fill(topic, 10)  # 31 bytes
    topic.mark_persisted(4)
    assert topic.read_after(3, 1 << 20) is None, "events 1-4 left the tail"
    assert topic.read_after(4, 1 << 20) == (b"e5;e6;e7;e8;e9;e10;", 10)
    topic.mark_persisted(10)
    assert topic.read_after(9, 1 << 20) == (b"e10;", 10), "cut to half its budget"
    assert topic.read_after(8, 1 << 20) is None
    assert topic.tail_size == 4


async def test_unpersisted_events_stay_in_the_tail_whatever_their_size() -> None:
    topic = Topic("x", tail_bytes=1000)
    for seq in range(1, 6):
        topic.append(seq, b"\0" * 1500)
    topic.mark_persisted(0)
    assert topic.tail_size == 7500
    assert topic.read_after(0, 1) == (b"\0" * 1500, 1)


async def test_a_persisted_tail_never_holds_more_than_its_byte_budget() -> None:
    budget = 100_000
    topic = Topic("x", tail_bytes=budget)
    sizes = random.Random(7).choices([10, 150, 4_000, 60_000, 1_572_900], k=400)
    for seq, size in enumerate(sizes, 1):
        topic.append(seq, b"\0" * size)
        if seq % 7 == 0:
            topic.mark_persisted(seq)
            assert topic.tail_size <= budget
    first_held = next(
        cursor for cursor in range(len(sizes) + 1) if topic.read_after(cursor, 1) is not None
    )
    assert topic.tail_size == sum(sizes[first_held:]), "the byte count matches what is held"


async def test_stored_events_nobody_watches_are_skipped_and_read_from_the_database() -> None:
    topic = Topic("x")
    _fill(topic, 3)
    assert not topic.skip_stored(8), "events 1-3 are not persisted yet"
    topic.mark_persisted(3)
    assert topic.skip_stored(8)
    assert (topic.last_seq, topic.persisted_seq, topic.tail_size) == (8, 8, 0)
    assert topic.read_after(3, 1 << 20) is None, "the database has them"
    assert topic.read_after(8, 1 << 20) == (b"", 8)
    wakeup = Wakeup()
    topic.watch(wakeup)
    assert not topic.skip_stored(9), "someone watches: events are kept for them"
    _fill(topic, 1)
    assert topic.read_after(8, 1 << 20) == (b"e9;", 9)


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


async def _woken(wakeup: Wakeup) -> bool:
    """Whether `wakeup` is set within a few loop iterations."""
    for _ in range(5):
        if wakeup.is_set():
            return True
        await asyncio.sleep(0)
    return wakeup.is_set()


async def test_a_fan_out_to_many_viewers_lets_other_work_run_between_its_slices() -> None:
    topic = Topic("x")
    turns = 0
    woken_at: list[int] = []

    class Viewer(Wakeup):
        def set(self) -> None:
            woken_at.append(turns)
            super().set()

    for _ in range(3 * VIEWERS_PER_SLICE):
        topic.watch(Viewer())
    _fill(topic, 1)
    while len(woken_at) < 3 * VIEWERS_PER_SLICE and turns < 100:
        turns += 1  # other work: one step per loop iteration
        await asyncio.sleep(0)
    assert len(woken_at) == 3 * VIEWERS_PER_SLICE
    assert len(set(woken_at)) == 3, "three slices, each in a loop iteration of its own"


async def test_status_and_close_wake_viewers() -> None:
    topic = Topic("x")
    wakeup = Wakeup()
    topic.watch(wakeup)
    topic.set_status(b"s")
    assert await _woken(wakeup)
    assert topic.status_version == 1
    wakeup.clear()
    topic.close(b"done")
    assert await _woken(wakeup), "an event during a fan-out wakes the viewers right after it"
    assert topic.final == b"done"
