"""Reading a long stored log: pages from either end, server-side search, and the raw download."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from quart import Quart

from agented.runtime import runtime_of
from agented.security.policy import POLICY_KEY, SecurityPolicy

from ..support.bots import BOTS, make_bot, put_fakes_on_path
from ..support.seed_log import MARKER, START, marker_seq, seed, seeded_line
from ..support.sse import stream_events

LINES = 3000


@pytest.fixture(autouse=True)
def fake_clis_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    put_fakes_on_path(monkeypatch)


async def seeded_execution(app: Quart, count: int) -> str:
    """A finished execution whose stored log is `count` seeded lines."""
    client = app.test_client()
    bot = await make_bot(client, "fake: lines 1 rate=1000", backend_type="codex")
    response = await client.post(f"{BOTS}/{bot['id']}/run", json={"message": ""})
    execution_id: str = (await response.get_json())["execution_id"]
    await stream_events(client, execution_id)
    database = runtime_of(app).database  # type: ignore[union-attr]
    await database.write(lambda connection: seed(connection, execution_id, count))
    return execution_id


@pytest.fixture
async def seeded(serving_app: Quart) -> tuple[Any, str]:
    return serving_app.test_client(), await seeded_execution(serving_app, LINES)


async def search(client, execution_id: str, **query: Any) -> tuple[int, dict[str, Any]]:
    response = await client.get(f"/admin/executions/{execution_id}/log/search", query_string=query)
    return response.status_code, await response.get_json()


async def test_a_page_before_a_seq_is_the_newest_lines_below_it_in_order(seeded) -> None:
    client, execution_id = seeded
    response = await client.get(
        f"/admin/executions/{execution_id}", query_string={"before_seq": 2**40, "limit": 5}
    )
    body = await response.get_json()
    assert [line["seq"] for line in body["logs"]] == [2996, 2997, 2998, 2999, 3000]
    assert body["logs_truncated"] is True
    assert body["log_lines"] == LINES
    response = await client.get(
        f"/admin/executions/{execution_id}",
        query_string={"before_seq": 4, "after_seq": 0, "limit": 5},
    )
    body = await response.get_json()
    assert [line["seq"] for line in body["logs"]] == [1, 2, 3]
    assert body["logs_truncated"] is False


async def test_plain_search_counts_every_match_ignoring_case_and_windows_them(seeded) -> None:
    client, execution_id = seeded
    expected = [
        seq for seq in range(1, LINES + 1) if "compiling module m7 " in seeded_line(seq, LINES)
    ]
    status, body = await search(client, execution_id, q="COMPILING module m7 ", limit=2)
    assert status == 200
    assert body["total"] == len(expected) >= 2
    assert body["offset"] == 0
    assert body["matches"] == expected[:2]
    assert body["lines"] == []
    assert body["searched_to"] == LINES

    status, body = await search(client, execution_id, q="compiling module m7 ", offset=1, limit=1)
    assert body["matches"] == expected[1:2]
    status, body = await search(
        client,
        execution_id,
        q="compiling module m7 ",
        at_seq=expected[1] + 1,
        limit=1,
        lines="true",
    )
    assert body["offset"] == 2
    assert body["matches"] == expected[2:3]
    assert [line["seq"] for line in body["lines"]] == expected[2:3]
    assert body["lines"][0]["content"] == seeded_line(expected[2], LINES)

    status, body = await search(
        client, execution_id, q="compiling MODULE m7 ", case_sensitive="true"
    )
    assert body["total"] == 0


async def test_plain_search_takes_like_wildcards_literally(serving_app: Quart) -> None:
    client = serving_app.test_client()
    execution_id = await seeded_execution(serving_app, 3)
    await runtime_of(serving_app).execution_store.append_lines(  # type: ignore[union-attr]
        {execution_id: [(4, "stdout", "done 50%_a!b", START + 1)]}
    )
    for text, expected in (("50%_a!b", [4]), ("5_%", []), ("%", [4]), ("!", [4])):
        _status, body = await search(client, execution_id, q=text)
        assert body["matches"] == expected, text


async def test_regex_search_finds_lines_by_pattern(seeded) -> None:
    client, execution_id = seeded
    status, body = await search(client, execution_id, q=r"^\d+ unique-marker\b", regex="true")
    assert status == 200
    assert body["matches"] == [marker_seq(LINES)]
    status, body = await search(
        client, execution_id, q=r"^\d+ unique-marker\b", regex="true", case_sensitive="true"
    )
    assert body["total"] == 0
    status, body = await search(client, execution_id, q=r"checkpoint.*builds/\d+000$", regex="true")
    assert body["total"] == LINES // 1000


async def test_an_invalid_regex_is_a_400_naming_q(seeded) -> None:
    client, execution_id = seeded
    status, body = await search(client, execution_id, q="(unclosed", regex="true")
    assert status == 400
    assert body["error"].startswith("q: not a valid regular expression")
    assert body["field"] == "q"
    status, body = await search(client, execution_id, q="")
    assert status == 400


async def test_a_catastrophic_regex_is_stopped_by_the_time_limit(serving_app: Quart) -> None:
    client = serving_app.test_client()
    execution_id = await seeded_execution(serving_app, 10)
    runtime = runtime_of(serving_app)
    assert runtime is not None
    await runtime.database.write(
        lambda connection: connection.execute(
            "UPDATE execution_logs SET content = ? WHERE execution_id = ? AND seq = 5",
            ("a" * 5000 + "!", execution_id),
        )
    )
    runtime.log_search._time_limit = 0.5  # a real limit is 10 s; the test need not wait that long
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    started = time.monotonic()
    status, body = await search(client, execution_id, q=r"(?:a|aa)+(?:a|aa)+$", regex="true")
    ticker.cancel()
    assert status == 400
    assert "took longer than 0.5 s" in body["error"]
    assert time.monotonic() - started < 5
    assert ticks >= 10, "the event loop stood still while the expression was matched"


async def test_search_of_an_unknown_execution_is_a_404(serving_app: Quart) -> None:
    status, body = await search(serving_app.test_client(), "nope", q="x")
    assert status == 404
    assert body["error"] == "execution nope not found"


async def test_search_jumps_through_a_large_log_quickly(serving_app: Quart) -> None:
    count = 200_000
    client = serving_app.test_client()
    execution_id = await seeded_execution(serving_app, count)
    started = time.monotonic()
    status, body = await search(client, execution_id, q=MARKER, lines="true")
    first = time.monotonic() - started
    assert status == 200
    assert body["matches"] == [marker_seq(count)]
    assert body["lines"][0]["content"].endswith("found here")
    assert first < 5, f"the first search of {count} lines took {first:.2f} s"
    started = time.monotonic()
    status, body = await search(client, execution_id, q=MARKER, at_seq=marker_seq(count) + 1)
    assert body["total"] == 1
    assert body["matches"] == []
    assert body["offset"] == 1
    assert time.monotonic() - started < first  # answered from the kept list of matches


async def test_search_of_a_growing_log_scans_only_new_lines(serving_app: Quart) -> None:
    client = serving_app.test_client()
    execution_id = await seeded_execution(serving_app, 1000)
    _status, body = await search(client, execution_id, q="checkpoint")
    assert body["total"] == 1
    assert body["searched_to"] == 1000
    await runtime_of(serving_app).execution_store.append_lines(  # type: ignore[union-attr]
        {execution_id: [(1001, "stdout", "late checkpoint", START + 2)]}
    )
    _status, body = await search(client, execution_id, q="checkpoint")
    assert body["total"] == 2
    assert body["matches"] == [1000, 1001]
    assert body["searched_to"] == 1001


async def first(client, execution_id: str, **query: Any) -> tuple[int, dict[str, Any]]:
    response = await client.get(
        f"/admin/executions/{execution_id}/log/search/first", query_string=query
    )
    return response.status_code, await response.get_json()


async def test_the_first_match_from_a_line_is_found_on_its_own_wrapping_to_the_start(
    seeded,
) -> None:
    client, execution_id = seeded
    assert await first(client, execution_id, q="CHECKPOINT", from_seq=1) == (
        200,
        {"seq": 1000, "wrapped": False, "lines": []},
    )
    assert await first(client, execution_id, q="checkpoint", from_seq=1000) == (
        200,
        {"seq": 1000, "wrapped": False, "lines": []},
    )
    assert await first(client, execution_id, q="checkpoint", from_seq=2001) == (
        200,
        {"seq": 3000, "wrapped": False, "lines": []},
    )
    # None from line 3001 on: the first of the log.
    assert await first(client, execution_id, q="checkpoint", from_seq=3001) == (
        200,
        {"seq": 1000, "wrapped": True, "lines": []},
    )
    assert await first(client, execution_id, q=r"^2\d{3} .*checkpoint", regex="true") == (
        200,
        {"seq": 2000, "wrapped": False, "lines": []},
    )
    assert await first(client, execution_id, q="nowhere to be found") == (
        200,
        {"seq": None, "wrapped": False, "lines": []},
    )


async def test_the_first_match_comes_with_the_lines_around_it_when_asked(seeded) -> None:
    client, execution_id = seeded
    status, body = await first(client, execution_id, q="checkpoint", from_seq=1500, around=10)
    assert status == 200
    assert body["seq"] == 2000
    assert [line["seq"] for line in body["lines"]] == list(range(1995, 2005))
    assert body["lines"][5]["content"] == seeded_line(2000, LINES)
    _status, body = await first(client, execution_id, q="step 1 compiling module m1 ok", around=10)
    assert [line["seq"] for line in body["lines"]] == list(range(1, 11))  # none before line 1


async def test_the_first_match_stops_at_it_and_starts_from_what_a_count_already_knows(
    serving_app: Quart,
) -> None:
    client = serving_app.test_client()
    execution_id = await seeded_execution(serving_app, 5000)
    runtime = runtime_of(serving_app)
    assert runtime is not None
    runtime.log_search._slice_rows = 1000
    scanned: list[tuple[int, int]] = []
    store = runtime.execution_store
    original = store.seqs_containing

    async def recorded(execution_id: str, after: int, until: int, *args: Any, **kw: Any) -> Any:
        scanned.append((after, until))
        return await original(execution_id, after, until, *args, **kw)

    store.seqs_containing = recorded  # type: ignore[method-assign]
    assert (await first(client, execution_id, q="checkpoint", from_seq=1500))[1]["seq"] == 2000
    assert scanned == [(1499, 2499)]  # one slice: the scan stopped at the match

    scanned.clear()
    _status, body = await search(client, execution_id, q="checkpoint")
    assert body["total"] == 5
    scanned.clear()
    assert (await first(client, execution_id, q="checkpoint", from_seq=4001))[1] == {
        "seq": 5000,
        "wrapped": False,
        "lines": [],
    }
    assert scanned == []  # answered from the kept list of matches


async def test_a_count_waits_between_its_slices_while_a_first_match_is_looked_for(
    serving_app: Quart,
) -> None:
    client = serving_app.test_client()
    execution_id = await seeded_execution(serving_app, 4000)
    runtime = runtime_of(serving_app)
    assert runtime is not None
    runtime.log_search._slice_rows = 1000
    order: list[str] = []
    store = runtime.execution_store
    original = store.seqs_containing
    count_started = asyncio.Event()
    first_started = asyncio.Event()
    count_may_go_on = asyncio.Event()

    async def recorded(execution_id: str, after: int, until: int, *args: Any, **kw: Any) -> Any:
        kind = "first" if kw.get("first_only") else "count"
        order.append(f"{kind} {after}")
        if kind == "count" and after == 0:
            count_started.set()
            await count_may_go_on.wait()  # the first match is asked for during this slice
        if kind == "first":
            first_started.set()
        return await original(execution_id, after, until, *args, **kw)

    store.seqs_containing = recorded  # type: ignore[method-assign]
    count = asyncio.create_task(search(client, execution_id, q="step 3 compiling"))
    await asyncio.wait_for(count_started.wait(), 5)  # its first slice is under way
    looked_for = asyncio.create_task(first(client, execution_id, q="unique-marker", from_seq=1))
    await asyncio.wait_for(first_started.wait(), 5)
    count_may_go_on.set()
    assert (await looked_for)[1]["seq"] == marker_seq(4000)
    assert (await count)[0] == 200
    # The count's first slice was under way; its next ones waited for the first match's scan.
    assert order == [
        *("count 0", "first 0", "first 1000", "first 2000", "first 3000"),
        *("count 1000", "count 2000", "count 3000"),
    ]


async def test_the_first_match_refuses_a_bad_expression_and_an_unknown_execution(
    seeded,
) -> None:
    client, execution_id = seeded
    status, body = await first(client, execution_id, q="(unclosed", regex="true")
    assert status == 400
    assert body["error"].startswith("q: not a valid regular expression")
    status, body = await first(client, execution_id, q="x", from_seq=0)
    assert status == 400
    assert "from_seq" in body["error"]
    status, body = await first(client, "nope", q="x")
    assert (status, body["error"]) == (404, "execution nope not found")


async def test_the_raw_log_downloads_as_text_in_order(seeded) -> None:
    client, execution_id = seeded
    response = await client.get(f"/admin/executions/{execution_id}/log.txt")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="bot_')
    assert disposition.endswith('.log"')
    assert execution_id in disposition
    text = (await response.get_data()).decode()
    assert text.splitlines() == [seeded_line(seq, LINES) for seq in range(1, LINES + 1)]
    assert "\x1b[32mcheckpoint" in text  # raw: escape codes kept


async def test_the_download_streams_page_by_page_and_can_carry_timestamps(
    serving_app: Quart,
) -> None:
    client = serving_app.test_client()
    execution_id = await seeded_execution(serving_app, 12_000)
    reads: list[int] = []
    store = runtime_of(serving_app).execution_store  # type: ignore[union-attr]
    original = store.read_lines

    async def counted(*args: Any, **kwargs: Any) -> Any:
        lines, more = await original(*args, **kwargs)
        reads.append(len(lines))
        return lines, more

    store.read_lines = counted  # type: ignore[method-assign]
    async with client.request(
        f"/admin/executions/{execution_id}/log.txt", query_string={"timestamps": "true"}
    ) as connection:
        await connection.send_complete()
        chunks = []
        while (chunk := await connection.receive()) != b"":
            chunks.append(chunk)
    assert reads == [5000, 5000, 2000]
    assert len(chunks) >= 3
    lines = b"".join(chunks).decode().splitlines()
    assert len(lines) == 12_000
    assert lines[0] == f"2026-09-21T14:13:20.001+00:00 {seeded_line(1, 12_000)}"


async def test_the_download_of_an_unknown_execution_is_a_404(serving_app: Quart) -> None:
    response = await serving_app.test_client().get("/admin/executions/nope/log.txt")
    assert response.status_code == 404
    assert (await response.get_json())["error"] == "execution nope not found"


async def test_the_log_routes_need_the_api_key(seeded) -> None:
    client, execution_id = seeded
    for path in ("log.txt", "log/search?q=x", "log/search/first?q=x"):
        response = await client.get(
            f"/admin/executions/{execution_id}/{path}", headers={"X-API-Key": ""}
        )
        assert response.status_code == 401


async def test_a_stream_token_opens_exactly_its_executions_raw_log_and_nothing_else(
    serving_app: Quart,
) -> None:
    client = serving_app.test_client()
    execution_id = await seeded_execution(serving_app, 3)
    log = f"/admin/executions/{execution_id}/log.txt"
    issued = await client.post("/admin/stream-tokens", json={"path": log})
    assert issued.status_code == 200
    token = (await issued.get_json())["token"]
    no_key = {"X-API-Key": ""}

    opened = await client.get(log, query_string={"token": token}, headers=no_key)
    assert opened.status_code == 200
    assert (await opened.get_data()).decode().splitlines() == [
        seeded_line(seq, 3) for seq in range(1, 4)
    ]
    timed = await client.get(
        log, query_string={"timestamps": "true", "token": token}, headers=no_key
    )
    assert timed.status_code == 200
    assert (await timed.get_data()).decode().startswith("2026-")

    # Refused before any lookup (401, not 404): another run's log, the same run's other routes.
    for other in (
        "/admin/executions/exe_other/log.txt",
        f"/admin/executions/{execution_id}",
        f"/admin/executions/{execution_id}/log/search",
        f"/admin/executions/{execution_id}/stream",
        BOTS,
    ):
        query = {"token": token, "q": "x"}
        answer = await client.get(other, query_string=query, headers=no_key)
        assert answer.status_code == 401, other


async def test_an_expired_or_stream_scoped_token_does_not_open_a_raw_log_but_the_key_does(
    serving_app: Quart,
) -> None:
    client = serving_app.test_client()
    execution_id = await seeded_execution(serving_app, 3)
    log = f"/admin/executions/{execution_id}/log.txt"
    tokens = serving_app.extensions[POLICY_KEY]
    assert isinstance(tokens, SecurityPolicy)
    expired, _ = tokens.stream_tokens.issue(log, now=time.time() - 3600)
    for_stream, _ = tokens.stream_tokens.issue(f"/admin/executions/{execution_id}/stream")
    for token in (expired, for_stream):
        answer = await client.get(log, query_string={"token": token}, headers={"X-API-Key": ""})
        assert answer.status_code == 401
    assert (await client.get(log)).status_code == 200  # the test client sends the API key
