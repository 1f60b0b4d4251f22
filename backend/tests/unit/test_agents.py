"""Agents and the message bus: CRUD, sending, inboxes, threads, expiry, and the live inbox."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from agented.models import MAX_MESSAGE_CHARS, utc_now
from agented.runtime import runtime_of

from ..support.sse import open_stream, stream_events

AGENTS = "/admin/agents"
NO_KEY = {"X-API-Key": ""}


async def make_agent(client, name: str, **fields: Any) -> dict[str, Any]:
    response = await client.post(AGENTS, json={"name": name, **fields})
    assert response.status_code == 201, await response.get_json()
    agent: dict[str, Any] = await response.get_json()
    return agent


async def send(client, sender: dict[str, Any], to: dict[str, Any] | None = None, **fields: Any):
    body = {"content": "hello", **fields}
    if to is not None:
        body["to_agent_id"] = to["id"]
    return await client.post(f"{AGENTS}/{sender['id']}/messages", json=body)


async def sent_id(client, sender: dict[str, Any], to: dict[str, Any], **fields: Any) -> str:
    response = await send(client, sender, to, **fields)
    assert response.status_code == 201, await response.get_json()
    (message_id,) = (await response.get_json())["message_ids"]
    return str(message_id)


async def inbox(client, agent: dict[str, Any], query: str = "") -> list[dict[str, Any]]:
    response = await client.get(f"{AGENTS}/{agent['id']}/messages/inbox{query}")
    assert response.status_code == 200
    messages: list[dict[str, Any]] = (await response.get_json())["messages"]
    return messages


def stream_path(agent: dict[str, Any]) -> str:
    return f"{AGENTS}/{agent['id']}/messages/stream"


# Agents


async def test_an_agent_is_created_read_listed_updated_and_deleted(client) -> None:
    response = await client.post(AGENTS, json={"name": "Reviewer", "role": "reviews PRs"})
    assert response.status_code == 201
    agent = await response.get_json()
    assert agent["id"].startswith("agt_")
    assert agent["role"] == "reviews PRs"
    assert agent["description"] is None
    assert agent["bots"] == []
    assert agent["unread"] == 0
    assert await (await client.get(f"{AGENTS}/{agent['id']}")).get_json() == agent
    listed = await (await client.get(AGENTS)).get_json()
    assert [a["id"] for a in listed["agents"]] == [agent["id"]]
    changed = await client.put(f"{AGENTS}/{agent['id']}", json={"description": "Strict."})
    assert changed.status_code == 200
    assert (await changed.get_json())["description"] == "Strict."
    assert (await changed.get_json())["role"] == "reviews PRs", "fields not sent are kept"
    assert (await client.delete(f"{AGENTS}/{agent['id']}")).status_code == 204
    assert (await client.get(f"{AGENTS}/{agent['id']}")).status_code == 404


async def test_agent_names_are_unique_ignoring_case(client) -> None:
    first = await make_agent(client, "Reviewer")
    clash = await client.post(AGENTS, json={"name": "  REVIEWER "})
    assert clash.status_code == 409
    assert (await clash.get_json())["field"] == "name"
    other = await make_agent(client, "Fixer")
    renamed = await client.put(f"{AGENTS}/{other['id']}", json={"name": "reviewer"})
    assert renamed.status_code == 409
    same = await client.put(f"{AGENTS}/{first['id']}", json={"name": "reviewer"})
    assert same.status_code == 200, "an agent may change the case of its own name"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "A", "colour": "red"}, "colour"),
        ({"name": "A", "role": 3}, "role"),
        ({"name": None}, "name"),
    ],
)
async def test_invalid_agents_are_refused_naming_the_field(client, body, field) -> None:
    response = await client.post(AGENTS, json=body)
    assert response.status_code == 400
    assert (await response.get_json())["field"] == field


async def test_unknown_agents_are_404(client) -> None:
    assert (await client.get(f"{AGENTS}/agt_none")).status_code == 404
    assert (await client.put(f"{AGENTS}/agt_none", json={"role": "x"})).status_code == 404
    assert (await client.delete(f"{AGENTS}/agt_none")).status_code == 404
    for suffix in ("messages/inbox", "messages/outbox"):
        assert (await client.get(f"{AGENTS}/agt_none/{suffix}")).status_code == 404


async def test_a_bot_acts_as_at_most_one_agent_and_the_agent_lists_its_bots(client) -> None:
    agent = await make_agent(client, "Reviewer")
    body = {"name": "review-bot", "prompt_template": "Review"}
    bot = await (await client.post("/admin/bots", json=body)).get_json()
    assert bot["agent_id"] is None, "a bot acts as no agent by default"
    acting = await client.put(f"/admin/bots/{bot['id']}", json={"agent_id": agent["id"]})
    assert (await acting.get_json())["agent_id"] == agent["id"]
    shown = await (await client.get(f"{AGENTS}/{agent['id']}")).get_json()
    assert shown["bots"] == [{"id": bot["id"], "name": "review-bot"}]
    unknown = await client.put(f"/admin/bots/{bot['id']}", json={"agent_id": "agt_none"})
    assert unknown.status_code == 400
    assert (await unknown.get_json())["field"] == "agent_id"
    await client.delete(f"{AGENTS}/{agent['id']}")
    after = await (await client.get(f"/admin/bots/{bot['id']}")).get_json()
    assert after["agent_id"] is None, "deleting the agent frees its bots"


# Messages


async def test_a_message_goes_to_the_inbox_and_the_outbox_and_is_marked_read(client) -> None:
    alice, bob = await make_agent(client, "Alice"), await make_agent(client, "Bob")
    response = await send(client, alice, bob, subject="Review", content="Please look at #12")
    assert response.status_code == 201
    sent = await response.get_json()
    (message_id,) = sent["message_ids"]
    assert message_id.startswith("msg_")
    (message,) = await inbox(client, bob)
    assert message["id"] == message_id
    assert {k: message[k] for k in ("status", "message_type", "priority", "inbox_seq")} == {
        "status": "pending",
        "message_type": "message",
        "priority": "normal",
        "inbox_seq": 1,
    }
    assert (message["from_agent_id"], message["from_agent_name"]) == (alice["id"], "Alice")
    assert (message["subject"], message["content"]) == ("Review", "Please look at #12")
    assert await inbox(client, alice) == []
    outbox = await (await client.get(f"{AGENTS}/{alice['id']}/messages/outbox")).get_json()
    assert [m["id"] for m in outbox["messages"]] == [message_id]
    assert (await (await client.get(f"{AGENTS}/{bob['id']}")).get_json())["unread"] == 1

    read = await client.post(f"{AGENTS}/{bob['id']}/messages/{message_id}/read")
    assert read.status_code == 200
    assert (await read.get_json())["status"] == "read"
    assert (await read.get_json())["read_at"] is not None
    assert [m["id"] for m in await inbox(client, bob, "?status=read")] == [message_id]
    assert await inbox(client, bob, "?status=pending") == []
    assert (await (await client.get(f"{AGENTS}/{bob['id']}")).get_json())["unread"] == 0
    wrong_inbox = await client.post(f"{AGENTS}/{alice['id']}/messages/{message_id}/read")
    assert wrong_inbox.status_code == 404, "only the recipient marks a message read"


async def test_a_broadcast_reaches_every_other_agent(client) -> None:
    alice, bob, carol = [await make_agent(client, name) for name in ("Alice", "Bob", "Carol")]
    response = await send(client, alice, message_type="broadcast", content="release at 5")
    assert response.status_code == 201
    ids = (await response.get_json())["message_ids"]
    assert len(ids) == 2
    assert [m["content"] for m in await inbox(client, bob)] == ["release at 5"]
    assert [m["content"] for m in await inbox(client, carol)] == ["release at 5"]
    assert await inbox(client, alice) == [], "not to the sender"


@pytest.mark.parametrize(
    ("fields", "status", "field"),
    [
        ({"to_agent_id": "agt_none"}, 404, None),
        ({"to": "self"}, 400, "to_agent_id"),
        ({"to": None}, 400, "to_agent_id"),
        ({"message_type": "broadcast"}, 400, "to_agent_id"),
        ({"content": "x" * (MAX_MESSAGE_CHARS + 1)}, 400, "content"),
        ({"content": ""}, 400, "content"),
        ({"content": None}, 400, "content"),
        ({"priority": "urgent"}, 400, "priority"),
        ({"message_type": "note"}, 400, "message_type"),
        ({"ttl_seconds": 0}, 400, "ttl_seconds"),
        ({"in_reply_to": "msg_none"}, 400, "in_reply_to"),
        ({"from": "nobody"}, 404, None),
    ],
)
async def test_bad_messages_are_refused(client, fields, status, field) -> None:
    alice, bob = await make_agent(client, "Alice"), await make_agent(client, "Bob")
    fields = dict(fields)
    sender = {"id": "agt_none"} if fields.pop("from", None) else alice
    body: dict[str, Any] = {"content": "hello", "to_agent_id": bob["id"]}
    to = fields.pop("to", "bob")
    if to == "self":
        body["to_agent_id"] = alice["id"]
    elif to is None:
        del body["to_agent_id"]
    response = await client.post(f"{AGENTS}/{sender['id']}/messages", json={**body, **fields})
    assert response.status_code == status
    if field is not None:
        assert (await response.get_json())["field"] == field
    assert await inbox(client, bob) == []


async def test_an_inbox_lists_high_priority_first_then_oldest_first(client) -> None:
    alice, bob = await make_agent(client, "Alice"), await make_agent(client, "Bob")
    for content, priority in [("a", "low"), ("b", "normal"), ("c", "high"), ("d", "normal")]:
        await sent_id(client, alice, bob, content=content, priority=priority)
    assert [m["content"] for m in await inbox(client, bob)] == ["c", "b", "d", "a"]


async def test_a_thread_follows_in_reply_to_from_any_of_its_messages(client) -> None:
    alice, bob = await make_agent(client, "Alice"), await make_agent(client, "Bob")
    question = await sent_id(client, alice, bob, message_type="request", content="why?")
    answer = await sent_id(
        client, bob, alice, message_type="response", content="because", in_reply_to=question
    )
    thanks = await sent_id(client, alice, bob, content="thanks", in_reply_to=answer)
    await sent_id(client, alice, bob, content="unrelated")
    for agent, message_id in [(alice, question), (bob, answer), (bob, thanks)]:
        response = await client.get(f"{AGENTS}/{agent['id']}/messages/{message_id}/thread")
        assert response.status_code == 200
        ids = [m["id"] for m in (await response.get_json())["messages"]]
        assert ids == [question, answer, thanks]
    carol = await make_agent(client, "Carol")
    outsider = await client.get(f"{AGENTS}/{carol['id']}/messages/{question}/thread")
    assert outsider.status_code == 404


async def test_an_unread_message_expires_after_its_ttl_and_leaves_the_inbox(
    serving_app, client
) -> None:
    alice, bob = await make_agent(client, "Alice"), await make_agent(client, "Bob")
    short = await sent_id(client, alice, bob, content="soon stale", ttl_seconds=60)
    kept = await sent_id(client, alice, bob, content="no ttl")
    read = await sent_id(client, alice, bob, content="read in time", ttl_seconds=60)
    await client.post(f"{AGENTS}/{bob['id']}/messages/{read}/read")
    assert short in [m["id"] for m in await inbox(client, bob)]

    services = runtime_of(serving_app)
    assert services is not None
    changed = await services.message_service.expire_due(utc_now() + timedelta(seconds=61))
    assert changed == {bob["id"]}
    assert [m["id"] for m in await inbox(client, bob)] == [kept, read]
    assert await inbox(client, bob, "?status=expired") == []
    marking = await client.post(f"{AGENTS}/{bob['id']}/messages/{short}/read")
    assert marking.status_code == 404, "an expired message cannot be read any more"
    outbox = await (await client.get(f"{AGENTS}/{alice['id']}/messages/outbox")).get_json()
    assert {m["id"]: m["status"] for m in outbox["messages"]}[short] == "expired"
    async with open_stream(client, stream_path(bob)) as stream:
        events = await stream.take(1)
    assert [e.data["id"] for e in events] == [kept], "nor does it reach a stream"
    jobs = (await (await client.get("/admin/scheduler/jobs")).get_json())["jobs"]
    assert "messages:expire" in [job["id"] for job in jobs], "a scheduler job sweeps"


async def test_a_sweep_is_due_when_the_soonest_ttl_ends(serving_app, client) -> None:
    alice, bob = await make_agent(client, "Alice"), await make_agent(client, "Bob")
    await sent_id(client, alice, bob, ttl_seconds=600)
    await sent_id(client, alice, bob, ttl_seconds=300)
    await sent_id(client, alice, bob, ttl_seconds=900)
    soonest = min(m["expires_at"] for m in await inbox(client, bob))
    jobs = (await (await client.get("/admin/scheduler/jobs")).get_json())["jobs"]
    (sweep,) = [job for job in jobs if job["id"] == "messages:expire-next"]
    assert datetime.fromisoformat(sweep["next_run_time"]) - datetime.fromisoformat(
        soonest
    ) < timedelta(milliseconds=1), "at the soonest expiry, not the first sent"


async def test_deleting_an_agent_keeps_the_history_of_its_messages(client) -> None:
    alice, bob = await make_agent(client, "Alice"), await make_agent(client, "Bob")
    message_id = await sent_id(client, alice, bob, content="from Alice")
    reply = await sent_id(client, bob, alice, content="to Alice", in_reply_to=message_id)
    assert (await client.delete(f"{AGENTS}/{alice['id']}")).status_code == 204
    (kept,) = await inbox(client, bob)
    assert kept["id"] == message_id
    assert (kept["from_agent_id"], kept["from_agent_name"]) == (None, "Alice")
    outbox = await (await client.get(f"{AGENTS}/{bob['id']}/messages/outbox")).get_json()
    assert [(m["id"], m["to_agent_id"], m["to_agent_name"]) for m in outbox["messages"]] == [
        (reply, None, "Alice")
    ]
    thread = await client.get(f"{AGENTS}/{bob['id']}/messages/{reply}/thread")
    assert [m["id"] for m in (await thread.get_json())["messages"]] == [message_id, reply]


async def test_messages_and_inbox_numbering_survive_a_restart(make_app) -> None:
    first = make_app()
    async with first.test_app():
        client = first.test_client()
        alice, bob = await make_agent(client, "Alice"), await make_agent(client, "Bob")
        message_id = await sent_id(client, alice, bob, content="before")
    second = make_app()
    async with second.test_app():
        client = second.test_client()
        assert [m["id"] for m in await inbox(client, bob)] == [message_id]
        later = await sent_id(client, alice, bob, content="after")
        async with open_stream(client, stream_path(bob), last_event_id=1) as stream:
            (event,) = await stream.take(1)
        assert (event.id, event.data["id"]) == (2, later), "the inbox numbering carries on"


# The live inbox


async def test_the_inbox_stream_sends_what_is_pending_then_each_new_message(client) -> None:
    alice, bob = await make_agent(client, "Alice"), await make_agent(client, "Bob")
    waiting = await sent_id(client, alice, bob, content="waiting")
    async with open_stream(client, stream_path(bob)) as stream:
        (first,) = await stream.take(1)
        assert (first.event, first.id, first.data["id"]) == ("message", 1, waiting)
        assert first.data["status"] == "pending"
        live = await sent_id(client, alice, bob, content="live", priority="high")
        (second,) = await stream.take(1)
        assert (second.id, second.data["id"], second.data["content"]) == (2, live, "live")
    statuses = {m["id"]: m["status"] for m in await inbox(client, bob)}
    assert statuses == {waiting: "pending", live: "pending"}, "watching delivers nothing"


async def test_last_event_id_resumes_with_no_loss_and_no_duplicate(client) -> None:
    alice, bob = await make_agent(client, "Alice"), await make_agent(client, "Bob")
    ids = [await sent_id(client, alice, bob, content=f"m{n}") for n in range(3)]
    async with open_stream(client, stream_path(bob)) as stream:
        seen = await stream.take(3)
        ids.append(await sent_id(client, alice, bob, content="m3"))
        seen += await stream.take(1)
    assert [e.data["id"] for e in seen] == ids
    ids += [await sent_id(client, alice, bob, content=f"m{n}") for n in (4, 5)]
    await sent_id(client, alice, await make_agent(client, "Carol"), content="not Bob's")
    async with open_stream(client, stream_path(bob), last_event_id=seen[-1].id) as stream:
        resumed = await stream.take(2)
        ids.append(await sent_id(client, alice, bob, content="m6"))
        resumed += await stream.take(1)
    assert [e.id for e in resumed] == [5, 6, 7]
    assert [e.data["id"] for e in resumed] == ids[4:]
    async with open_stream(client, f"{stream_path(bob)}?last_event_id=6") as stream:
        (again,) = await stream.take(1)
    assert again.data["id"] == ids[-1], "the query parameter resumes too"


async def test_read_and_expired_messages_leave_the_stream_even_from_its_tail(
    serving_app, client
) -> None:
    alice, bob = await make_agent(client, "Alice"), await make_agent(client, "Bob")
    async with open_stream(client, stream_path(bob)) as stream:
        read = await sent_id(client, alice, bob, content="read elsewhere")
        stale = await sent_id(client, alice, bob, content="stale", ttl_seconds=60)
        kept = await sent_id(client, alice, bob, content="kept")
        assert [e.data["id"] for e in await stream.take(3)] == [read, stale, kept]
    await client.post(f"{AGENTS}/{bob['id']}/messages/{read}/read")
    services = runtime_of(serving_app)
    assert services is not None
    await services.message_service.expire_due(utc_now() + timedelta(seconds=61))
    async with open_stream(client, stream_path(bob), last_event_id=0) as stream:
        (only,) = await stream.take(1)
    assert only.data["id"] == kept


async def test_the_inbox_stream_of_a_deleted_agent_ends_with_a_final_event(client) -> None:
    alice, bob = await make_agent(client, "Alice"), await make_agent(client, "Bob")
    await sent_id(client, alice, bob)
    async with open_stream(client, stream_path(bob)) as stream:
        await stream.take(1)
        assert (await client.delete(f"{AGENTS}/{bob['id']}")).status_code == 204
        (final,) = await stream.take(1)
        assert stream.ended
    assert (final.event, final.data) == (
        "complete",
        {"agent_id": bob["id"], "reason": "agent deleted"},
    )
    async with client.request(stream_path(bob)) as connection:
        await connection.send_complete()
    assert connection.status_code == 404


async def test_a_stream_token_opens_one_inbox_stream_without_a_key(client) -> None:
    bob, carol = await make_agent(client, "Bob"), await make_agent(client, "Carol")
    path = stream_path(bob)
    issued = await client.post("/admin/stream-tokens", json={"path": path})
    assert issued.status_code == 200
    token = (await issued.get_json())["token"]
    await sent_id(client, carol, bob, content="for Bob")
    async with open_stream(client, f"{path}?token={token}", headers=NO_KEY) as stream:
        (event,) = await stream.take(1)
    assert event.data["content"] == "for Bob"
    for other in (f"{stream_path(carol)}?token={token}", path):
        async with client.request(other, headers=NO_KEY) as connection:
            await connection.send_complete()
        assert connection.status_code == 401


async def test_inbox_streams_end_with_shutdown_when_the_server_stops(serving_app, client) -> None:
    alice, bob = await make_agent(client, "Alice"), await make_agent(client, "Bob")
    await sent_id(client, alice, bob)
    services = runtime_of(serving_app)
    assert services is not None
    async with open_stream(client, stream_path(bob)) as stream:
        await stream.take(1)
        services.begin_stopping()
        (last,) = await stream.take(1)
    assert last.event == "shutdown"
    assert stream.ended


# The {messages} placeholder


async def agent_bot(client, agent: dict[str, Any], template: str) -> dict[str, Any]:
    body = {
        "name": f"bot of {agent['name']}",
        "prompt_template": template,
        "backend_type": "command",
        "command": ["true"],
        "agent_id": agent["id"],
    }
    response = await client.post("/admin/bots", json=body)
    assert response.status_code == 201, await response.get_json()
    bot: dict[str, Any] = await response.get_json()
    return bot


async def run_prompt(client, bot: dict[str, Any]) -> str:
    started = await client.post(f"/admin/bots/{bot['id']}/run", json={})
    assert started.status_code == 202
    execution_id = (await started.get_json())["execution_id"]
    await stream_events(client, execution_id)
    execution = await (await client.get(f"/admin/executions/{execution_id}")).get_json()
    prompt: str = execution["prompt"]
    return prompt


async def test_a_run_of_an_agents_bot_shows_its_pending_messages_and_delivers_them(
    client,
) -> None:
    alice, bob = await make_agent(client, "Alice"), await make_agent(client, "Bob")
    bot = await agent_bot(client, bob, "Inbox:\n{messages}\nEnd")
    low = await sent_id(client, alice, bob, content="tidy up", priority="low")
    urgent = await sent_id(
        client, alice, bob, content="fix the build", priority="high", subject="CI red"
    )
    preview = await client.post(f"/admin/bots/{bot['id']}/preview-prompt", json={})
    previewed = (await preview.get_json())["prompt"]
    assert previewed.index("fix the build") < previewed.index("tidy up"), "urgent first"
    assert {m["status"] for m in await inbox(client, bob)} == {"pending"}, "a preview delivers none"

    prompt = await run_prompt(client, bot)
    assert prompt == previewed
    assert f"[high] message {urgent} from Alice at " in prompt
    assert ": CI red\nfix the build" in prompt
    assert {m["id"]: m["status"] for m in await inbox(client, bob)} == {
        urgent: "delivered",
        low: "delivered",
    }
    assert await run_prompt(client, bot) == "Inbox:\n\nEnd", "delivered ones are not shown again"


async def test_a_watched_inbox_still_reaches_the_agents_bot(client) -> None:
    alice, bob = await make_agent(client, "Alice"), await make_agent(client, "Bob")
    bot = await agent_bot(client, bob, "Inbox:\n{messages}\nEnd")
    async with open_stream(client, stream_path(bob)) as stream:
        before = await sent_id(client, alice, bob, content="sent before the run")
        (shown,) = await stream.take(1)
        assert shown.data["id"] == before, "the dashboard sees it live"
        prompt = await run_prompt(client, bot)
    assert "sent before the run" in prompt, "a person watching does not take it from the bot"
    assert {m["id"]: m["status"] for m in await inbox(client, bob)} == {before: "delivered"}


async def test_a_prompt_without_the_placeholder_delivers_nothing(client) -> None:
    alice, bob = await make_agent(client, "Alice"), await make_agent(client, "Bob")
    bot = await agent_bot(client, bob, "Just work")
    await sent_id(client, alice, bob)
    assert await run_prompt(client, bot) == "Just work"
    assert [m["status"] for m in await inbox(client, bob)] == ["pending"]
