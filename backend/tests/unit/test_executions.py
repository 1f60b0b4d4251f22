"""Running bots end to end through the app: fake CLIs, live streams, cancel, timeout, retries."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from quart import Quart

from agented.api.errors import status_of
from agented.errors import ShuttingDown, StorageFull
from agented.runtime import runtime_of

from ..support.bots import BOTS, make_bot, put_fakes_on_path
from ..support.procs import alive
from ..support.sse import log_seqs, parse_events, stream_events


@pytest.fixture(autouse=True)
def fake_clis_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    put_fakes_on_path(monkeypatch)


@pytest.fixture
async def serving_app(make_app) -> AsyncIterator[Quart]:
    app = make_app(AGENTED_MAX_CONCURRENT_RUNS=2)
    async with app.test_app():
        yield app


async def run(client, bot: dict[str, Any], message: str = "") -> str:
    response = await client.post(f"{BOTS}/{bot['id']}/run", json={"message": message})
    assert response.status_code == 202, await response.get_json()
    return (await response.get_json())["execution_id"]


async def details(client, execution_id: str, **query: Any) -> dict[str, Any]:
    response = await client.get(f"/admin/executions/{execution_id}", query_string=query)
    assert response.status_code == 200
    return await response.get_json()


def final(events) -> dict[str, Any]:
    assert events[-1].event == "complete", events[-3:]
    return events[-1].data


async def test_lines_stream_live_in_order_and_are_stored(client) -> None:
    bot = await make_bot(client, "fake: lines 300 rate=3000", backend_type="codex")
    execution_id = await run(client, bot)
    events = await stream_events(client, execution_id)
    assert events[0].event == "status"
    assert log_seqs(events) == list(range(1, 301))
    assert final(events)["status"] == "success"
    assert final(events)["exit_code"] == 0
    stored = await details(client, execution_id, limit=1000)
    assert [line["seq"] for line in stored["logs"]] == list(range(1, 301))
    streamed = [e.data for e in events if e.event == "log"]
    assert stored["logs"] == streamed
    assert stored["status"] == "success"
    assert stored["duration_ms"] >= 0
    assert stored["command"][:3] == ["codex", "exec", "--json"]


async def test_resume_after_finish_gives_exactly_the_missing_lines(client) -> None:
    bot = await make_bot(client, "fake: lines 40 rate=4000", backend_type="codex")
    execution_id = await run(client, bot)
    await stream_events(client, execution_id)
    resumed = await stream_events(client, execution_id, last_event_id=25)
    assert log_seqs(resumed) == list(range(26, 41))
    assert final(resumed)["status"] == "success"
    everything = await stream_events(client, execution_id, last_event_id=40)
    assert log_seqs(everything) == []


async def test_resume_while_running_has_no_gap_and_no_duplicate(client) -> None:
    bot = await make_bot(client, "fake: lines 10 rate=200\nfake: sleep 60", backend_type="codex")
    execution_id = await run(client, bot)
    first = log_seqs(await stream_events(client, execution_id, stop_after_seq=3))
    assert first[:3] == [1, 2, 3]
    resumed = log_seqs(
        await stream_events(client, execution_id, last_event_id=first[-1], stop_after_seq=10)
    )
    assert first + resumed == list(range(1, 11))
    assert (await client.post(f"/admin/executions/{execution_id}/cancel")).status_code == 202
    rest = await stream_events(client, execution_id, last_event_id=10)
    assert log_seqs(rest) == []
    assert final(rest)["status"] == "cancelled"


async def test_cancel_kills_the_whole_process_group(client, tmp_path: Path) -> None:
    pidfile = tmp_path / "grandchild.pid"
    bot = await make_bot(
        client,
        f"fake: grandchild {pidfile}\nfake: lines 1 rate=10\nfake: sleep 60",
        backend_type="codex",
    )
    execution_id = await run(client, bot)
    await stream_events(client, execution_id, stop_after_seq=1)
    grandchild = int(pidfile.read_text())
    assert alive(grandchild)
    response = await client.post(f"/admin/executions/{execution_id}/cancel")
    assert response.status_code == 202
    events = await stream_events(client, execution_id)
    assert final(events)["status"] == "cancelled"
    assert not alive(grandchild)
    again = await client.post(f"/admin/executions/{execution_id}/cancel")
    assert again.status_code == 409


async def test_sigterm_ignoring_cli_is_killed_after_the_grace_period(client) -> None:
    bot = await make_bot(
        client,
        "fake: ignore-sigterm\nfake: lines 1 rate=10\nfake: sleep 60",
        backend_type="codex",
        sigterm_grace_seconds=1,
    )
    execution_id = await run(client, bot)
    await stream_events(client, execution_id, stop_after_seq=1)
    await client.post(f"/admin/executions/{execution_id}/cancel")
    events = await stream_events(client, execution_id)
    assert final(events)["status"] == "cancelled"
    assert final(events)["exit_code"] == -signal.SIGKILL


async def test_timeout_ends_as_timeout(client) -> None:
    bot = await make_bot(client, "fake: sleep 60", backend_type="codex", timeout_seconds=1)
    events = await stream_events(client, await run(client, bot))
    assert final(events)["status"] == "timeout"
    assert "timed out after 1 s" in final(events)["error_message"]


async def test_non_zero_exit_fails_with_its_code(client) -> None:
    bot = await make_bot(client, "fake: stderr boom\nfake: exit 3", backend_type="codex")
    execution_id = await run(client, bot)
    events = await stream_events(client, execution_id)
    assert final(events)["status"] == "failed"
    assert final(events)["exit_code"] == 3
    stderr = [e.data for e in events if e.event == "log" and e.data["stream"] == "stderr"]
    assert [line["content"] for line in stderr] == ["boom"]


async def test_missing_program_fails_naming_it(client) -> None:
    bot = await make_bot(
        client, "x", backend_type="command", command=["agented-no-such-cli", "{prompt}"]
    )
    events = await stream_events(client, await run(client, bot))
    assert final(events)["status"] == "failed"
    assert "agented-no-such-cli: command not found" in final(events)["error_message"]


async def test_command_backend_gets_the_prompt_as_one_argument(client) -> None:
    bot = await make_bot(
        client,
        "say {message}; keep {braces}",
        backend_type="command",
        command=[sys.executable, "-c", "import sys; print(repr(sys.argv[1:]))", "--", "{prompt}"],
    )
    execution_id = await run(client, bot, message="hi; rm -rf / $(x)")
    events = await stream_events(client, execution_id)
    lines = [e.data["content"] for e in events if e.event == "log"]
    assert lines == ["['--', 'say hi; rm -rf / $(x); keep {braces}']"]


async def test_binary_output_and_huge_lines_do_not_break_the_reader(client) -> None:
    bot = await make_bot(client, "fake: binary\nfake: long-line 700000", backend_type="codex")
    execution_id = await run(client, bot)
    events = await stream_events(client, execution_id)
    assert final(events)["status"] == "success"
    contents = [e.data["content"] for e in events if e.event == "log"]
    assert any("\ufffd" in line for line in contents)
    assert sum(len(line) for line in contents) >= 700000


async def test_claude_usage_is_parsed_from_its_result(client) -> None:
    bot = await make_bot(client, "Hello {message}")
    execution_id = await run(client, bot, message="there")
    events = await stream_events(client, execution_id)
    assert final(events)["status"] == "success"
    usage = (await details(client, execution_id))["usage"]
    assert usage["output_tokens"] > 0
    assert usage["total_cost_usd"] > 0


async def test_running_bot_refuses_a_second_run_and_delete(client) -> None:
    bot = await make_bot(client, "fake: sleep 60", backend_type="codex")
    execution_id = await run(client, bot)
    second = await client.post(f"{BOTS}/{bot['id']}/run", json={})
    assert second.status_code == 409
    assert (await second.get_json())["execution_id"] == execution_id
    assert (await client.delete(f"{BOTS}/{bot['id']}")).status_code == 409
    await client.post(f"/admin/executions/{execution_id}/cancel")
    await stream_events(client, execution_id)
    assert (await client.post(f"{BOTS}/{bot['id']}/run", json={})).status_code == 202


async def test_runs_beyond_the_concurrency_limit_wait_queued(client) -> None:
    sleepers = [await make_bot(client, "fake: sleep 60", backend_type="codex") for _ in range(2)]
    running = [await run(client, bot) for bot in sleepers]
    waiter = await make_bot(client, "fake: lines 2 rate=100", backend_type="codex")
    response = await client.post(f"{BOTS}/{waiter['id']}/run", json={})
    queued = (await response.get_json())["execution_id"]
    assert (await details(client, queued))["status"] == "queued"
    listed = await (
        await client.get("/admin/executions", query_string={"status": "queued"})
    ).get_json()
    assert [e["id"] for e in listed["executions"]] == [queued]
    await client.post(f"/admin/executions/{running[0]}/cancel")
    events = await stream_events(client, queued)
    assert [e.data["status"] for e in events if e.event == "status"][-1] == "running"
    assert final(events)["status"] == "success"
    await client.post(f"/admin/executions/{running[1]}/cancel")


async def test_cancelling_a_queued_run_never_starts_it(client) -> None:
    sleepers = [await make_bot(client, "fake: sleep 60", backend_type="codex") for _ in range(2)]
    running = [await run(client, bot) for bot in sleepers]
    waiter = await make_bot(client, "fake: lines 2 rate=100", backend_type="codex")
    queued = await run(client, waiter)
    await client.post(f"/admin/executions/{queued}/cancel")
    events = await stream_events(client, queued)
    assert final(events)["status"] == "cancelled"
    assert log_seqs(events) == []
    for execution_id in running:
        await client.post(f"/admin/executions/{execution_id}/cancel")


async def test_execution_lists_filter_and_page(client) -> None:
    bot = await make_bot(client, "fake: exit 0", backend_type="codex")
    other = await make_bot(client, "fake: exit 1", backend_type="codex")
    ids = []
    for target in (bot, bot, other):
        ids.append(await run(client, target))
        await stream_events(client, ids[-1])
    page = await (await client.get("/admin/executions", query_string={"limit": 2})).get_json()
    assert [e["id"] for e in page["executions"]] == [ids[2], ids[1]]
    assert page["total"] == 3
    assert page["limit"] == 2
    assert page["offset"] == 0
    mine = await (await client.get(f"{BOTS}/{bot['id']}/executions")).get_json()
    assert [e["id"] for e in mine["executions"]] == [ids[1], ids[0]]
    failed = await (
        await client.get("/admin/executions", query_string={"status": "failed"})
    ).get_json()
    assert [e["id"] for e in failed["executions"]] == [ids[2]]
    bad = await client.get("/admin/executions", query_string={"limit": 0})
    assert bad.status_code == 400
    stats = await (await client.get("/admin/executions/stats", query_string={"days": 3})).get_json()
    assert [d["total"] for d in stats["days"]][-1] == 3
    assert [d["failed"] for d in stats["days"]][-1] == 1


async def test_log_search_is_case_insensitive(client) -> None:
    bot = await make_bot(
        client,
        "fake: stderr Needle one\nfake: stderr hay\nfake: stderr NEEDLE two",
        backend_type="codex",
    )
    execution_id = await run(client, bot)
    await stream_events(client, execution_id)
    found = await details(client, execution_id, q="needle")
    assert [line["content"] for line in found["logs"]] == ["Needle one", "NEEDLE two"]


async def test_stream_errors(client) -> None:
    async def status_of(path: str, headers: dict[str, str] | None = None) -> int:
        async with client.request(path, headers=headers or {}) as connection:
            await connection.send_complete()
        return connection.status_code

    assert await status_of("/admin/executions/exe_missing/stream") == 404
    bot = await make_bot(client, "fake: exit 0", backend_type="codex")
    execution_id = await run(client, bot)
    await stream_events(client, execution_id)
    assert (
        await status_of(f"/admin/executions/{execution_id}/stream", {"Last-Event-ID": "x"}) == 400
    )


async def test_rate_limited_run_schedules_a_persisted_retry(make_app, client) -> None:
    bot = await make_bot(client, "fake: rate-limit claude-text", backend_type="claude")
    execution_id = await run(client, bot)
    events = await stream_events(client, execution_id)
    assert final(events)["status"] == "failed"
    assert final(events)["error_message"].startswith("rate limited")
    retries = (await (await client.get("/admin/retries")).get_json())["retries"]
    assert [r["execution_id"] for r in retries] == [execution_id]
    assert retries[0]["attempt"] == 1
    assert retries[0]["trigger_name"] == bot["name"]
    jobs = (await (await client.get("/admin/scheduler/jobs")).get_json())["jobs"]
    assert f"retry:{retries[0]['id']}" in [job["id"] for job in jobs]
    assert (await client.delete(f"/admin/retries/{retries[0]['id']}")).status_code == 204
    assert (await (await client.get("/admin/retries")).get_json())["retries"] == []
    assert (await client.delete(f"/admin/retries/{retries[0]['id']}")).status_code == 409
    assert (await client.delete("/admin/retries/rty_missing")).status_code == 404


async def test_pending_retries_survive_a_restart(make_app) -> None:
    first = make_app()
    async with first.test_app():
        client = first.test_client()
        bot = await make_bot(client, "fake: rate-limit claude-429", backend_type="claude")
        await stream_events(client, await run(client, bot))
        retry = (await (await client.get("/admin/retries")).get_json())["retries"][0]
    second = make_app()
    async with second.test_app():
        client = second.test_client()
        assert [
            r["id"] for r in (await (await client.get("/admin/retries")).get_json())["retries"]
        ] == [retry["id"]]
        jobs = (await (await client.get("/admin/scheduler/jobs")).get_json())["jobs"]
        assert f"retry:{retry['id']}" in [job["id"] for job in jobs]


async def test_due_retry_runs_the_bot_again(serving_app: Quart, client) -> None:
    bot = await make_bot(client, "fake: rate-limit claude-529", backend_type="claude")
    execution_id = await run(client, bot)
    await stream_events(client, execution_id)
    retries = runtime_of(serving_app).retry_service
    [pending] = await retries.pending()
    await retries._fire(pending.id)
    listed = await (await client.get(f"{BOTS}/{bot['id']}/executions")).get_json()
    retry_run = listed["executions"][0]
    assert retry_run["trigger_type"] == "retry"
    assert retry_run["retry_of"] == execution_id
    assert retry_run["attempt"] == 1
    await stream_events(client, retry_run["id"])


async def test_a_retry_due_while_the_server_stops_waits_for_the_next_start(
    serving_app: Quart, client
) -> None:
    bot = await make_bot(client, "fake: rate-limit claude-529", backend_type="claude")
    await stream_events(client, await run(client, bot))
    runtime = runtime_of(serving_app)
    assert runtime is not None
    [pending] = await runtime.retry_service.pending()
    runtime.begin_stopping()
    await runtime.retry_service._fire(pending.id)
    assert [retry.id for retry in await runtime.retry_service.pending()] == [pending.id]


async def test_shutdown_interrupts_running_executions(make_app) -> None:
    app = make_app()
    async with app.test_app():
        client = app.test_client()
        bot = await make_bot(client, "fake: lines 3 rate=100\nfake: sleep 60", backend_type="codex")
        execution_id = await run(client, bot)
        await stream_events(client, execution_id, stop_after_seq=3)
    async with app.test_app():
        stored = await details(app.test_client(), execution_id)
    assert stored["status"] == "interrupted"
    assert [line["seq"] for line in stored["logs"]] == [1, 2, 3]


async def test_once_stopping_begins_no_run_starts_streams_end_and_readiness_fails(
    serving_app: Quart,
) -> None:
    client = serving_app.test_client()
    bot = await make_bot(client, "fake: lines 1\nfake: sleep 60", backend_type="codex")
    execution_id = await run(client, bot)
    await stream_events(client, execution_id, stop_after_seq=1)
    runtime = runtime_of(serving_app)
    assert runtime is not None
    events: list[Any] = []
    buffer = b""
    async with (
        asyncio.timeout(10),
        client.request(f"/admin/executions/{execution_id}/stream") as connection,
    ):
        await connection.send_complete()
        while not any(event.event == "log" for event in events):  # the stream is open
            buffer += await connection.receive()
            new, buffer = parse_events(buffer)
            events += new
        runtime.begin_stopping()  # what the supervisor's event or a SIGTERM does
        while events[-1].event not in {"shutdown", "complete"}:
            buffer += await connection.receive()
            new, buffer = parse_events(buffer)
            events += new
    assert events[-1].event == "shutdown", "the open stream ended"
    stored = await runtime.bot_store.get(bot["id"])
    assert stored is not None
    with pytest.raises(ShuttingDown) as refused:
        await runtime.execution_service.start(stored, "scheduled")
    assert status_of(refused.value) == 503, "the run service reads the same signal"
    readiness = await client.get("/health/readiness")
    assert readiness.status_code == 503
    assert (await readiness.get_json())["error"] == "server is shutting down"


async def test_leftovers_of_a_crash_are_marked_interrupted(make_app) -> None:
    app = make_app()
    async with app.test_app():
        client = app.test_client()
        bot = await make_bot(client, "x", backend_type="codex")
        runtime = runtime_of(app)
        leftover = await runtime.execution_store.create(
            "exe_leftover",
            await runtime.bot_store.get(bot["id"]),
            "manual",
            "p",
            ["codex"],
            status="running",
        )
    async with app.test_app():
        stored = await details(app.test_client(), leftover.id)
    assert stored["status"] == "interrupted"
    assert "server stopped" in stored["error_message"]


async def test_simultaneous_runs_of_one_bot_start_it_once(client) -> None:
    bot = await make_bot(client, "fake: sleep 60", backend_type="codex")
    responses = await asyncio.gather(
        *(client.post(f"{BOTS}/{bot['id']}/run", json={}) for _ in range(5))
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [202, 409, 409, 409, 409]
    started = next(r for r in responses if r.status_code == 202)
    execution_id = (await started.get_json())["execution_id"]
    for refused in (r for r in responses if r.status_code == 409):
        assert (await refused.get_json())["execution_id"] == execution_id
    await client.post(f"/admin/executions/{execution_id}/cancel")
    await stream_events(client, execution_id)


async def test_a_run_that_ends_on_a_full_disk_records_its_outcome_once_there_is_room(
    serving_app: Quart, client, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = runtime_of(serving_app)
    assert services is not None
    real_finish = services.execution_store.finish
    attempts = 0

    async def full_twice(execution_id: str, outcome: Any) -> Any:
        nonlocal attempts
        attempts += 1
        if attempts <= 2:
            raise StorageFull("disk full: database or disk is full")
        return await real_finish(execution_id, outcome)

    monkeypatch.setattr(services.execution_store, "finish", full_twice)
    services.execution_service.full_disk_retry_seconds = 0.01
    bot = await make_bot(client, "fake: print done", backend_type="codex")
    execution_id = await run(client, bot)
    events = await stream_events(client, execution_id)
    assert final(events)["status"] == "success", "viewers learn the stored outcome"
    assert attempts == 3
    assert (await details(client, execution_id))["status"] == "success"
