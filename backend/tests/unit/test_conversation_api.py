"""A run's conversation on its stream (typed events, exact resume) and at its own route."""

from __future__ import annotations

from typing import Any

import pytest

from ..support.bots import BOTS, make_bot, put_fakes_on_path
from ..support.sse import Event, open_stream, stream_events

TOOLS = "fake: tools\nfake: result"


@pytest.fixture(autouse=True)
def fake_clis_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    put_fakes_on_path(monkeypatch)


async def run(client, prompt: str, **fields: Any) -> str:
    bot = await make_bot(client, prompt, **fields)
    response = await client.post(f"{BOTS}/{bot['id']}/run", json={"message": ""})
    assert response.status_code == 202
    return str((await response.get_json())["execution_id"])


def conversation(events: list[Event]) -> list[dict[str, Any]]:
    return [event.data for event in events if event.event == "conversation"]


async def conversation_pages(client, execution_id: str, **query: Any) -> list[dict[str, Any]]:
    pages, after = [], 0
    while True:
        response = await client.get(
            f"/admin/executions/{execution_id}/conversation",
            query_string={"after_seq": after, **query},
        )
        assert response.status_code == 200
        page = await response.get_json()
        pages.append(page)
        if not page["more"]:
            return pages
        after = page["last_seq"]


async def test_each_conversation_event_comes_right_before_its_line_and_carries_its_seq(
    client,
) -> None:
    execution_id = await run(client, TOOLS)
    events = await stream_events(client, execution_id)
    entries = conversation(events)
    assert [item["kind"] for entry in entries for item in entry["items"]] == [
        "session",
        "message",
        "usage",
        "tool_call",
        "usage",
        "tool_result",
        "tool_call",
        "usage",
        "tool_result",
        "message",
        "usage",
        "usage",
    ]
    for index, event in enumerate(events):
        if event.event == "conversation":
            # No id of its own: Last-Event-ID only ever names a line.
            assert event.id is None
            following = events[index + 1]
            assert (following.event, following.id) == ("log", event.data["seq"])
    assert events[-1].event == "complete"
    assert events[-1].data["usage"]["total_cost_usd"] == 0.0456


async def test_a_resumed_stream_gives_exactly_the_conversation_after_the_last_event_id(
    client,
) -> None:
    execution_id = await run(client, TOOLS)
    everything = conversation(await stream_events(client, execution_id))
    resumed = conversation(await stream_events(client, execution_id, last_event_id=4))
    assert resumed == [entry for entry in everything if entry["seq"] > 4]
    assert resumed[0]["seq"] == 5


async def test_the_conversation_route_gives_what_the_stream_gave_in_pages_of_any_size(
    client,
) -> None:
    execution_id = await run(client, TOOLS)
    streamed = conversation(await stream_events(client, execution_id))
    (whole,) = await conversation_pages(client, execution_id)
    assert whole["entries"] == streamed
    assert (whole["status"], whole["last_seq"], whole["more"]) == ("success", 8, False)
    assert whole["usage"]["total_cost_usd"] == 0.0456
    pages = await conversation_pages(client, execution_id, limit=3)
    assert [page["last_seq"] for page in pages] == [3, 6, 8]
    assert [entry for page in pages for entry in page["entries"]] == streamed


async def test_a_command_bot_has_an_empty_conversation(client) -> None:
    execution_id = await run(client, "hi", backend_type="command", command=["echo", "{prompt}"])
    await stream_events(client, execution_id)
    (page,) = await conversation_pages(client, execution_id)
    assert (page["entries"], page["last_seq"], page["more"]) == ([], 1, False)


async def test_the_conversation_of_an_unknown_execution_is_a_404(client) -> None:
    response = await client.get("/admin/executions/exe_nope/conversation")
    assert response.status_code == 404
    assert (await response.get_json()) == {"error": "execution exe_nope not found"}


async def test_a_bad_after_seq_is_a_400_naming_it(client) -> None:
    execution_id = await run(client, TOOLS)
    response = await client.get(
        f"/admin/executions/{execution_id}/conversation", query_string={"after_seq": "-1"}
    )
    assert response.status_code == 400
    assert "after_seq" in (await response.get_json())["error"]


async def test_the_conversation_arrives_live_while_the_run_goes_on(client, tmp_path) -> None:
    go_on = tmp_path / "go-on"
    execution_id = await run(client, f"fake: tools\nfake: wait-for {go_on}\nfake: result")
    async with open_stream(client, f"/admin/executions/{execution_id}/stream") as stream:
        seen: list[Event] = []
        while not any(e.event == "log" and e.id == 7 for e in seen):  # the last line of `tools`
            seen.extend(await stream.take(1))
        assert not any(e.event == "complete" for e in seen)
        assert conversation(seen)[-1]["items"][0]["text"].startswith("Done.")
        go_on.touch()
        rest = await stream.take(100)
    assert conversation(rest)[0]["items"][0]["scope"] == "run"
    assert rest[-1].event == "complete"
