"""The one stopping signal: set once, seen by every holder, reactions run once."""

from __future__ import annotations

import asyncio

from agented.stopping import Stopping


async def test_setting_wakes_waiters_and_runs_each_reaction_once_in_order() -> None:
    stopping = Stopping()
    seen: list[str] = []
    stopping.on_set(lambda: seen.append("first"))
    stopping.on_set(lambda: seen.append("second"))
    waiter = asyncio.ensure_future(stopping.wait())
    await asyncio.sleep(0)
    assert not waiter.done()
    assert not stopping.is_set()
    stopping.set()
    stopping.set()  # a second signal (say SIGTERM after the supervisor's event) changes nothing
    await asyncio.wait_for(waiter, 1)
    assert stopping.is_set()
    assert seen == ["first", "second"]


def test_a_reaction_registered_after_the_signal_runs_at_once() -> None:
    stopping = Stopping()
    stopping.set()
    seen: list[str] = []
    stopping.on_set(lambda: seen.append("late"))
    assert seen == ["late"]
