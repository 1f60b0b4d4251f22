"""Hostile output: lines of NUL bytes, 1.5 MB each once JSON-escaped, bounded in bytes everywhere.

Replay pages, the log writer's pending lines and live chunks are all budgeted in
bytes of encoded events, and replay pages are encoded off the event loop.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from agented.events.encoding import encode_log
from agented.events.sse import REPLAY_PAGE_BYTES, REPLAY_PAGE_ROWS, StreamHub
from agented.events.topic import TAIL_BYTES
from agented.executions.logs import ExecutionLogService, line_cost
from agented.executions.process import MAX_LINE_BYTES
from agented.executions.stream import ExecutionStream
from agented.paths import migrations_dir
from agented.runtime import runtime_of
from agented.stopping import Stopping
from agented.storage import migrate
from agented.storage.executions import ExecutionStore
from agented.storage.sqlite import SqliteDatabase

from ..support.bots import make_bot

NUL_LINE = "\0" * MAX_LINE_BYTES  # the longest line the reader keeps whole
EVENT_IDS = re.compile(rb"^id: (\d+)\n", re.MULTILINE)


@pytest.fixture
async def repository(tmp_path: Path) -> AsyncIterator[ExecutionStore]:
    database = await SqliteDatabase.open(tmp_path / "test.db")
    await migrate(database, migrations_dir("sqlite"))
    await database.write(
        lambda connection: connection.execute(
            "INSERT INTO executions (id, seq, bot_name, trigger_type, status, backend_type,"
            " prompt, command, created_at) VALUES ('e1', 1, 'bot', 'manual', 'success',"
            " 'command', '', '[]', '2026-01-01T00:00:00Z')"
        )
    )
    yield ExecutionStore(database)
    await database.close()


async def _store(logs: ExecutionLogService, lines: list[str]) -> None:
    topic = logs.open("e1")
    logs.append(topic, "stdout", lines, 1_700_000_000.0)
    await logs.flush()
    await logs.close("e1", b"")


def _ids(chunk: bytes) -> list[int]:
    return [int(found) for found in EVENT_IDS.findall(chunk)]


def _event(seq: int, content: str) -> bytes:
    return encode_log(seq, "stdout", content, "2023-11-14T22:13:20.000Z")


async def test_a_nul_line_becomes_an_event_six_times_its_size() -> None:
    assert len(_event(1, NUL_LINE)) > 6 * MAX_LINE_BYTES


async def test_replay_pages_of_nul_lines_stop_one_event_past_their_byte_budget(
    repository: ExecutionStore,
) -> None:
    logs = ExecutionLogService(repository)
    await _store(logs, ["\0" * 20_000] * 7)  # 120 kB events: three make a page
    stream = ExecutionStream("e1", logs, repository)
    cursor, seen = 0, []
    while True:
        page, cursor = await stream.replay(cursor)
        if not page:
            break
        events = _ids(page)
        last = page[page.rindex(b"id: ") :]
        assert len(page) - len(last) < REPLAY_PAGE_BYTES, "over budget before its last event"
        assert len(events) == 3 or events[-1] == 7
        seen.extend(events)
    assert seen == list(range(1, 8))
    assert cursor == 7


async def test_one_huge_line_still_makes_a_page_of_its_own(
    repository: ExecutionStore,
) -> None:
    logs = ExecutionLogService(repository)
    await _store(logs, [NUL_LINE, "short"])
    page, cursor = await ExecutionStream("e1", logs, repository).replay(0)
    assert (_ids(page), cursor) == ([1], 1)
    assert len(page) > REPLAY_PAGE_BYTES


async def test_replay_pages_of_short_lines_are_bounded_in_rows(
    repository: ExecutionStore,
) -> None:
    logs = ExecutionLogService(repository)
    await _store(logs, [f"line {n}" for n in range(REPLAY_PAGE_ROWS + 5)])
    page, cursor = await ExecutionStream("e1", logs, repository).replay(0)
    assert cursor == REPLAY_PAGE_ROWS
    assert _ids(page) == list(range(1, REPLAY_PAGE_ROWS + 1))


async def test_replay_pages_are_encoded_off_the_event_loop(
    repository: ExecutionStore,
) -> None:
    logs = ExecutionLogService(repository)
    await _store(logs, ["a", "b"])
    threads: list[int] = []

    def encode(seq: int, stream: str, content: str, timestamp: float) -> bytes:
        threads.append(threading.get_ident())
        return content.encode()

    page = await repository.read_encoded_lines("e1", 0, encode, max_rows=10, max_bytes=100)
    assert page == (b"ab", 2)
    assert threads
    assert threading.get_ident() not in threads


async def test_a_replay_of_huge_lines_lets_other_coroutines_run_between_pages(
    repository: ExecutionStore,
) -> None:
    logs = ExecutionLogService(repository)
    await _store(logs, [NUL_LINE] * 6)
    turns = 0
    stop = asyncio.Event()

    async def other_work() -> None:
        nonlocal turns
        while not stop.is_set():
            turns += 1
            await asyncio.sleep(0)

    writes: list[tuple[int, bytes]] = []

    async def send(message: dict[str, Any]) -> None:
        writes.append((turns, message["body"]))

    async def receive() -> dict[str, Any]:
        await asyncio.Event().wait()
        return {}

    async def opening() -> tuple[ExecutionStream, int]:
        return ExecutionStream("e1", logs, repository), 0

    other = asyncio.ensure_future(other_work())
    hub = StreamHub(Stopping())
    try:
        await asyncio.wait_for(hub.serve(opening(), send, receive), 30)
    finally:
        stop.set()
        await other
    pages = [(turn, body) for turn, body in writes if b"event: log" in body]
    assert [_ids(body) for _, body in pages] == [[seq] for seq in range(1, 7)]
    turns_seen = [turn for turn, _ in pages]
    assert all(b > a for a, b in itertools.pairwise(turns_seen)), turns_seen


class _BlockedRepository:
    """Stands in for the database: every batch waits until released."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.writing = asyncio.Event()
        self.batches: list[dict[str, list[tuple]]] = []

    async def append_lines(self, batches: dict[str, list[tuple]]) -> None:
        self.batches.append(batches)
        self.writing.set()
        await self.release.wait()


async def test_pending_lines_are_bounded_in_bytes_of_their_events_not_only_rows() -> None:
    database = _BlockedRepository()
    logs = ExecutionLogService(
        database,  # type: ignore[arg-type]
        max_pending_rows=50_000,
        max_pending_bytes=4 * 1024 * 1024,
    )
    topic = logs.open("e1")
    for _ in range(2):
        logs.append(topic, "stdout", [NUL_LINE], 0.0)
    held, _ = topic.read_after(0, 1 << 30)
    assert logs.pending == (2, 2 * line_cost(NUL_LINE, held[: len(held) // 2]))
    assert len(held) > 2 * 6 * MAX_LINE_BYTES
    room = asyncio.ensure_future(logs.wait_for_room())
    await asyncio.sleep(0)
    assert room.done(), "3.6 MB pending is under the 4 MiB budget"
    logs.append(topic, "stdout", [NUL_LINE], 0.0)
    room = asyncio.ensure_future(logs.wait_for_room())
    await asyncio.sleep(0)
    assert not room.done(), "three events of 1.5 MB fill the budget after three rows"
    flushing = asyncio.ensure_future(logs.flush())
    await asyncio.sleep(0)
    assert not room.done(), "no room while the batch is being written"
    database.release.set()
    await asyncio.wait_for(flushing, 10)
    await asyncio.wait_for(room, 10)
    assert logs.pending == (0, 0)
    assert [len(rows) for rows in database.batches[0].values()] == [3]


@pytest.mark.parametrize("line_bytes", [10, 1024, 64 * 1024])
async def test_lines_held_until_persisted_stay_within_the_byte_budget_while_a_batch_is_written(
    line_bytes: int,
) -> None:
    budget = 2 * 1024 * 1024
    database = _BlockedRepository()
    logs = ExecutionLogService(
        database,  # type: ignore[arg-type]
        max_pending_rows=10**9,
        batch_bytes=budget // 4,
        max_pending_bytes=budget,
    )
    topic = logs.open("e1")
    chunk = ["7" * (line_bytes - 1)] * max(1, 64 * 1024 // line_bytes)  # one read of the pipe
    chunk_cost = len(chunk) * line_cost(chunk[0], encode_log(1, "stdout", chunk[0], "t" * 24))

    async def pump() -> None:
        while True:
            await logs.wait_for_room()
            logs.append(topic, "stdout", chunk, 0.0)

    def room_now() -> bool:
        return logs.pending[1] < budget

    producer = asyncio.ensure_future(pump())
    try:
        await asyncio.sleep(0)
        flushing = asyncio.ensure_future(logs.flush())  # the database takes its time
        await asyncio.wait_for(database.writing.wait(), 10)
        for _ in range(10_000):  # the producer fills the budget, then waits for room
            if not room_now():
                break
            await asyncio.sleep(0)
        last_seq = topic.last_seq
        for _ in range(10):
            await asyncio.sleep(0)
        assert topic.last_seq == last_seq, "the producer waits while the first batch is written"
        rows, held = logs.pending
        assert rows == last_seq, "lines being written still count"
        unpersisted, _ = topic.read_after(topic.persisted_seq, 1 << 40)
        text = (last_seq - topic.persisted_seq) * len(chunk[0])
        assert len(unpersisted) + text <= held, "the count covers every event and row text held"
        assert held <= budget + chunk_cost, "and stays within one pipe read past the budget"
    finally:
        producer.cancel()
    database.release.set()
    await asyncio.wait_for(flushing, 10)
    await asyncio.wait_for(logs.flush(), 10)
    assert logs.pending == (0, 0)
    assert topic.persisted_seq == last_seq


async def test_a_flush_cancelled_while_its_batch_is_written_does_not_keep_the_pipe_shut() -> None:
    database = _BlockedRepository()
    logs = ExecutionLogService(database, max_pending_bytes=1024 * 1024)  # type: ignore[arg-type]
    topic = logs.open("e1")
    logs.append(topic, "stdout", [NUL_LINE], 0.0)
    room = asyncio.ensure_future(logs.wait_for_room())
    flushing = asyncio.ensure_future(logs.flush())
    await asyncio.wait_for(database.writing.wait(), 10)
    assert not room.done()
    flushing.cancel()  # e.g. shutdown: the writer thread finishes the batch on its own
    await asyncio.wait_for(room, 10)
    assert logs.pending == (0, 0)


async def test_persisted_nul_lines_leave_the_tail_within_its_budget() -> None:
    database = _BlockedRepository()
    database.release.set()
    logs = ExecutionLogService(database)  # type: ignore[arg-type]
    topic = logs.open("e1")
    for _ in range(20):
        logs.append(topic, "stdout", [NUL_LINE], 0.0)
        await logs.flush()
    assert topic.last_seq == 20
    assert topic.tail_size <= TAIL_BYTES


async def test_pages_of_stored_lines_for_the_api_stop_at_their_character_budget(
    repository: ExecutionStore,
) -> None:
    logs = ExecutionLogService(repository)
    await _store(logs, [NUL_LINE] * 6 + ["short"])
    lines, more = await logs.read("e1", 0, 1000)
    assert more
    assert [line.seq for line in lines] == [1, 2], "512 KiB of text: two 256 KiB lines"
    seen = [line.seq for line in lines]
    while more:
        lines, more = await logs.read("e1", seen[-1], 1000)
        assert lines, "a page holds at least one line"
        seen += [line.seq for line in lines]
    assert seen == list(range(1, 8)), "paging by after_seq reaches every line once"
    assert await logs.read("e1", 0, 3, "short") == ([await _line(logs, 7)], False)


async def _line(logs: ExecutionLogService, seq: int) -> Any:
    [line], _ = await logs.read("e1", seq - 1, 1)
    return line


async def test_the_execution_api_answers_hostile_logs_in_bounded_pages(make_app) -> None:
    app = make_app()
    async with app.test_app():
        client = app.test_client()
        services = runtime_of(app)
        assert services is not None
        bot = await make_bot(client, "fake: exit 0", backend_type="codex")
        execution = await services.execution_store.create(
            "exe_nul",
            await services.bot_store.get(bot["id"]),
            "manual",
            "p",
            ["x"],
            status="success",
        )
        topic = services.logs.open(execution.id)
        services.logs.append(topic, "stdout", [NUL_LINE] * 8, 1_700_000_000.0)
        await services.logs.flush()
        await services.logs.close(execution.id, b"")
        response = await client.get(f"/admin/executions/{execution.id}?limit=10000")
        assert response.status_code == 200
        body = await response.get_json()
        assert [line["seq"] for line in body["logs"]] == [1, 2]
        assert body["logs_truncated"] is True
        assert len(await response.get_data()) < 4 * 1024 * 1024, "about 3 MB of JSON at most"
