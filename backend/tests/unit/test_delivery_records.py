"""Every webhook delivery is recorded with what became of it, listed per bot, and pruned."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta
from typing import Any

import pytest

from agented.models import iso, utc_now
from agented.runtime import runtime_of
from agented.storage.delivery_records import KEEP_DAYS

from ..support.bots import BOTS, make_bot, put_fakes_on_path
from ..support.sse import stream_events

SECRET = "a-webhook-secret"
GITHUB_SECRET = "github-hook-secret"


@pytest.fixture(autouse=True)
def configured(monkeypatch: pytest.MonkeyPatch, app_overrides: dict[str, Any]) -> None:
    put_fakes_on_path(monkeypatch)
    app_overrides["GITHUB_WEBHOOK_SECRET"] = GITHUB_SECRET


async def webhook_bot(client, **fields: Any) -> dict[str, Any]:
    return await make_bot(
        client,
        "got {message}",
        backend_type="command",
        command=["echo", "{prompt}"],
        trigger_source="webhook",
        **fields,
    )


async def deliveries(client, bot: dict[str, Any]) -> list[dict[str, Any]]:
    response = await client.get(f"{BOTS}/{bot['id']}/deliveries")
    assert response.status_code == 200
    return (await response.get_json())["deliveries"]


def signed(body: bytes, secret: str, header: str = "X-Webhook-Signature-256") -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {header: f"sha256={digest}", "Content-Type": "application/json"}


async def test_an_accepted_delivery_is_recorded_with_its_run_and_id(client) -> None:
    bot = await webhook_bot(client)
    response = await client.post(
        f"/api/webhooks/bots/{bot['id']}", json={"text": "hi"}, headers={"X-Delivery-Id": "d-1"}
    )
    [execution_id] = (await response.get_json())["execution_ids"]
    await stream_events(client, execution_id)
    [record] = await deliveries(client, bot)
    assert record["outcome"] == "accepted"
    assert (record["delivery_id"], record["execution_id"], record["source"]) == (
        "d-1",
        execution_id,
        "bot",
    )


async def test_a_repeated_delivery_is_recorded_as_a_duplicate(client) -> None:
    bot = await webhook_bot(client)
    for _ in range(2):
        response = await client.post(
            f"/api/webhooks/bots/{bot['id']}", json={"text": "x"}, headers={"X-Delivery-Id": "d"}
        )
    assert (await response.get_json())["duplicate"] is True
    outcomes = [record["outcome"] for record in await deliveries(client, bot)]
    assert outcomes == ["duplicate", "accepted"]


async def test_a_bad_signature_is_recorded_refused_with_its_reason_but_never_the_header(
    client,
) -> None:
    bot = await webhook_bot(client, webhook_secret=SECRET)
    body = json.dumps({"text": "x"}).encode()
    response = await client.post(
        f"/api/webhooks/bots/{bot['id']}", data=body, headers=signed(body, "wrong-secret")
    )
    assert response.status_code == 401
    [record] = await deliveries(client, bot)
    assert (record["outcome"], record["reason"]) == ("refused", "signature missing or invalid")

    def everything(connection) -> str:
        return repr(connection.execute("SELECT * FROM delivery_records").fetchall())

    stored = await runtime_of(client.app).database.read(everything)
    digest = signed(body, "wrong-secret")["X-Webhook-Signature-256"]
    assert digest not in stored
    assert "sha256=" not in stored


async def test_a_delivery_refused_at_the_door_is_recorded_too(client) -> None:
    bot = await webhook_bot(client)
    await client.put(f"{BOTS}/{bot['id']}", json={"enabled": False})
    disabled = await client.post(f"/api/webhooks/bots/{bot['id']}", json={"text": "x"})
    assert disabled.status_code == 409
    await client.put(f"{BOTS}/{bot['id']}", json={"enabled": True})
    malformed = await client.post(
        f"/api/webhooks/bots/{bot['id']}",
        data=b"[1, 2]",
        headers={"Content-Type": "application/json"},
    )
    assert malformed.status_code == 400
    records = await deliveries(client, bot)
    assert [(r["outcome"], r["reason"]) for r in records] == [
        ("refused", "the body must be a JSON object"),
        ("refused", f"bot {bot['name']!r} is disabled"),
    ]


async def test_a_payload_the_bot_filters_out_is_recorded_as_ignored(client) -> None:
    bot = await webhook_bot(client, match_field_path="kind", match_field_value="deploy")
    response = await client.post(f"/api/webhooks/bots/{bot['id']}", json={"kind": "other"})
    assert response.status_code == 200
    [record] = await deliveries(client, bot)
    assert record["outcome"] == "ignored"


async def test_a_busy_bot_records_the_delivery_refused_with_the_reason(client) -> None:
    bot = await make_bot(client, "fake: sleep 30", backend_type="codex", trigger_source="webhook")
    started = await client.post(f"{BOTS}/{bot['id']}/run", json={"message": ""})
    running = (await started.get_json())["execution_id"]
    await client.post(f"/api/webhooks/bots/{bot['id']}", json={"text": "x"})
    [record] = await deliveries(client, bot)
    assert record["outcome"] == "refused"
    assert "already running" in record["reason"]
    await client.post(f"/admin/executions/{running}/cancel")
    await stream_events(client, running)


async def test_github_deliveries_are_recorded_for_the_bots_they_concern(client) -> None:
    bot = await make_bot(client, "review {pr_url}", backend_type="codex", trigger_source="github")
    payload = {
        "action": "opened",
        "pull_request": {
            "number": 3,
            "title": "t",
            "html_url": "https://github.com/o/r/pull/3",
            "user": {"login": "u"},
            "head": {"sha": "abc"},
        },
        "repository": {"full_name": "o/r", "html_url": "https://github.com/o/r"},
    }
    body = json.dumps(payload).encode()
    headers = {
        **signed(body, GITHUB_SECRET, "X-Hub-Signature-256"),
        "X-GitHub-Event": "pull_request",
        "X-GitHub-Delivery": "gh-1",
    }
    first = await client.post("/api/webhooks/github", data=body, headers=headers)
    [execution_id] = (await first.get_json())["execution_ids"]
    await client.post("/api/webhooks/github", data=body, headers=headers)
    await stream_events(client, execution_id)
    records = await deliveries(client, bot)
    assert [(r["outcome"], r["event"], r["delivery_id"]) for r in records] == [
        ("duplicate", "pull_request", "gh-1"),
        ("accepted", "pull_request", "gh-1"),
    ]
    shown = await (await client.get(f"/admin/executions/{execution_id}")).get_json()
    assert shown["trigger_details"]["pr_url"] == "https://github.com/o/r/pull/3"


async def test_retention_keeps_a_bounded_number_per_bot_and_drops_old_records(client) -> None:
    bot, other = await webhook_bot(client), await webhook_bot(client)
    records = runtime_of(client.app).delivery_records
    entry = {"source": "bot", "delivery_id": None, "event": None, "outcome": "ignored"}
    await records.record([{**entry, "bot_id": bot["id"], "reason": str(n)} for n in range(5)])
    await records.record([{**entry, "bot_id": other["id"], "reason": "other"}])
    assert await records.prune(iso(utc_now() - timedelta(days=KEEP_DAYS)), keep_per_bot=2) == 3
    assert [r["reason"] for r in await deliveries(client, bot)] == ["4", "3"]
    assert len(await deliveries(client, other)) == 1
    assert await records.prune(iso(utc_now() + timedelta(seconds=1))) == 3
    assert await deliveries(client, bot) == []


async def test_the_deliveries_of_an_unknown_bot_are_a_404(client) -> None:
    response = await client.get(f"{BOTS}/bot_missing/deliveries")
    assert response.status_code == 404


async def test_deliveries_no_bot_was_concerned_by_are_listed_apart(client) -> None:
    unmatched = await client.post("/", json={"text": "for nobody"})
    assert unmatched.status_code == 200
    body = json.dumps({"zen": "hi"}).encode()
    headers = {
        **signed(body, GITHUB_SECRET, "X-Hub-Signature-256"),
        "X-GitHub-Event": "ping",
        "X-GitHub-Delivery": "gh-ping",
    }
    await client.post("/api/webhooks/github", data=body, headers=headers)
    forged = {**headers, "X-Hub-Signature-256": "sha256=00"}
    assert (await client.post("/api/webhooks/github", data=body, headers=forged)).status_code == 401
    response = await client.get("/admin/deliveries")
    assert response.status_code == 200
    records = (await response.get_json())["deliveries"]
    assert [(r["source"], r["outcome"], r["reason"]) for r in records] == [
        ("github", "refused", "invalid or missing X-Hub-Signature-256"),
        ("github", "ignored", "ping"),
        ("webhook", "ignored", "no webhook bot matched this payload"),
    ]
    assert all(r["bot_id"] is None for r in records)
