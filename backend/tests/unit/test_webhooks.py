"""The generic webhook receiver and per-bot webhook URLs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from types import SimpleNamespace
from typing import Any

import pytest

from agented.runtime import runtime_of
from agented.triggers import webhooks as webhooks_module

from ..support.bots import BOTS, make_bot, put_fakes_on_path
from ..support.sse import stream_events

SECRET = "s3cret-webhook-key"


@pytest.fixture(autouse=True)
def fake_clis_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    put_fakes_on_path(monkeypatch)


class Clock:
    """The webhook service's view of the time, moved forward by `offset` seconds."""

    def __init__(self) -> None:
        self.offset = 0.0

    def time(self) -> float:
        return time.time() + self.offset


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(webhooks_module, "time", SimpleNamespace(time=fake.time))
    return fake


def hex_signature(body: bytes, secret: str = SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Webhook-Signature-256": f"sha256={digest}"}


def standard_signature(
    body: bytes, secret: str, message_id: str = "msg_1", timestamp: int | str | None = None
) -> dict[str, str]:
    stamp = str(int(time.time())) if timestamp is None else str(timestamp)
    key = (
        base64.b64decode(secret.removeprefix("whsec_"))
        if secret.startswith("whsec_")
        else secret.encode()
    )
    signed = hmac.new(key, f"{message_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    return {
        "webhook-id": message_id,
        "webhook-timestamp": stamp,
        "webhook-signature": f"v1,bm90LXRoaXMtb25l v1,{base64.b64encode(signed).decode()}",
    }


async def post(client, payload: Any, path: str = "/", headers: dict[str, str] | None = None):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return await client.post(
        path, data=body, headers={"Content-Type": "application/json", **(headers or {})}
    )


async def webhook_bot(client, prompt: str = "echo {message}", **fields: Any) -> dict[str, Any]:
    return await make_bot(client, prompt, backend_type="codex", trigger_source="webhook", **fields)


async def prompts_of(client, response) -> list[str]:
    prompts = []
    for execution_id in (await response.get_json())["execution_ids"]:
        await stream_events(client, execution_id)
        details = await (await client.get(f"/admin/executions/{execution_id}")).get_json()
        assert details["trigger_type"] == "webhook"
        prompts.append(details["prompt"])
    return prompts


@pytest.mark.parametrize("body", [b"[1, 2]", b"not json", b'"text"', b""])
async def test_body_must_be_a_json_object(client, body: bytes) -> None:
    response = await post(client, body)
    assert response.status_code == 400
    assert await response.get_json() == {"error": "the body must be a JSON object"}


async def test_slack_url_verification_is_answered(client) -> None:
    response = await post(client, {"type": "url_verification", "challenge": "abc123"})
    assert response.status_code == 200
    assert await response.get_json() == {"challenge": "abc123"}


async def test_get_root_is_not_an_error_for_probes(client) -> None:
    assert (await client.get("/")).status_code == 200


async def test_nothing_matching_answers_200_with_no_executions(client) -> None:
    await make_bot(client, "manual bot", backend_type="codex")
    response = await post(client, {"text": "hello"})
    assert response.status_code == 200
    assert (await response.get_json())["execution_ids"] == []


async def test_fields_match_as_strings_and_text_becomes_the_message(client) -> None:
    await webhook_bot(
        client,
        "kind={payload.event.items.0.kind} user={payload.event.user}: {message}",
        match_field_path="event.items.0.id",
        match_field_value="42",
        text_field_path="event.body",
    )
    miss = await post(client, {"event": {"items": [{"id": 41}], "body": "no"}})
    assert (await miss.get_json())["execution_ids"] == []
    hit = await post(
        client, {"event": {"items": [{"id": 42, "kind": "bug"}], "user": "ada", "body": "Fix it"}}
    )
    assert hit.status_code == 202
    assert await prompts_of(client, hit) == ["kind=bug user=ada: Fix it"]


async def test_detection_keyword_must_appear_in_the_text(client) -> None:
    await webhook_bot(client, detection_keyword="@agent")
    assert (await (await post(client, {"text": "hello team"})).get_json())["execution_ids"] == []
    hit = await post(client, {"text": "hey @Agent please look"})
    assert await prompts_of(client, hit) == ["echo hey @Agent please look"]


async def test_every_matching_bot_fires(client) -> None:
    await webhook_bot(client, "first {message}")
    await webhook_bot(client, "second {message}")
    await make_bot(
        client, "disabled", backend_type="codex", trigger_source="webhook", enabled=False
    )
    response = await post(client, {"text": "x"})
    assert sorted(await prompts_of(client, response)) == ["first x", "second x"]


async def test_signed_bot_fires_only_with_a_valid_hex_signature(client) -> None:
    bot = await webhook_bot(client, webhook_secret=SECRET)
    assert bot["has_webhook_secret"] is True
    body = json.dumps({"text": "signed"}).encode()
    unsigned = await post(client, body)
    assert unsigned.status_code == 401
    forged = await post(client, body, headers=hex_signature(body, "wrong-secret"))
    assert forged.status_code == 401
    tampered = await post(client, body + b" ", headers=hex_signature(body))
    assert tampered.status_code == 401
    good = await post(client, body, headers=hex_signature(body))
    assert good.status_code == 202
    assert await prompts_of(client, good) == ["echo signed"]


@pytest.mark.parametrize("secret", [SECRET, "whsec_" + base64.b64encode(b"k" * 24).decode()])
async def test_standard_webhooks_signatures_are_accepted(client, secret: str) -> None:
    await webhook_bot(client, webhook_secret=secret)
    body = json.dumps({"text": "std"}).encode()
    response = await post(client, body, headers=standard_signature(body, secret))
    assert response.status_code == 202


async def test_standard_webhooks_replays_outside_the_window_are_refused(client) -> None:
    await webhook_bot(client, webhook_secret=SECRET)
    body = json.dumps({"text": "old"}).encode()
    stale = standard_signature(body, SECRET, timestamp=int(time.time()) - 3600)
    assert (await post(client, body, headers=stale)).status_code == 401
    future = standard_signature(body, SECRET, timestamp=int(time.time()) + 3600)
    assert (await post(client, body, headers=future)).status_code == 401


async def test_the_secret_is_never_returned_and_is_encrypted_at_rest(
    serving_app, client, app_overrides
) -> None:
    bot = await webhook_bot(client, webhook_secret=SECRET)
    for response in (await client.get(BOTS), await client.get(f"{BOTS}/{bot['id']}")):
        assert SECRET not in await response.get_data(as_text=True)
    (sealed,) = await runtime_of(serving_app).database.read(
        lambda connection: connection.execute(
            "SELECT webhook_secret_sealed FROM bots WHERE id = ?", (bot["id"],)
        ).fetchone()
    )
    assert sealed
    assert SECRET not in sealed
    cleared = await client.put(f"{BOTS}/{bot['id']}", json={"webhook_secret": None})
    assert (await cleared.get_json())["has_webhook_secret"] is False
    kept = await client.put(f"{BOTS}/{bot['id']}", json={"webhook_secret": SECRET})
    assert (await kept.get_json())["has_webhook_secret"] is True
    renamed = await client.put(f"{BOTS}/{bot['id']}", json={"name": "renamed"})
    assert (await renamed.get_json())["has_webhook_secret"] is True, "omitted keeps the secret"


async def test_a_repeated_delivery_id_fires_nothing(client) -> None:
    await webhook_bot(client)
    headers = {"webhook-id": "delivery-1"}
    first = await post(client, {"text": "once"}, headers=headers)
    assert first.status_code == 202
    again = await post(client, {"text": "different body"}, headers=headers)
    assert await again.get_json() == {"execution_ids": [], "duplicate": True, "skipped": []}
    await prompts_of(client, first)
    other = await post(client, {"text": "once"}, headers={"webhook-id": "delivery-2"})
    assert other.status_code == 202
    await prompts_of(client, other)


async def test_without_a_delivery_id_the_body_hash_dedupes(client) -> None:
    await webhook_bot(client)
    first = await post(client, {"text": "same"})
    assert first.status_code == 202
    assert (await (await post(client, {"text": "same"})).get_json())["duplicate"] is True
    await prompts_of(client, first)


async def test_a_forged_request_does_not_burn_the_delivery_id(client) -> None:
    await webhook_bot(client, webhook_secret=SECRET)
    body = json.dumps({"text": "real"}).encode()
    forged = await post(client, body, headers={"webhook-id": "d-9", **hex_signature(body, "bad")})
    assert forged.status_code == 401
    real = await post(client, body, headers={"webhook-id": "d-9", **hex_signature(body)})
    assert real.status_code == 202
    await prompts_of(client, real)


async def test_dedup_survives_a_restart(make_app) -> None:
    first = make_app()
    async with first.test_app():
        client = first.test_client()
        await webhook_bot(client)
        response = await post(client, {"text": "x"}, headers={"webhook-id": "persisted"})
        await prompts_of(client, response)
    second = make_app()
    async with second.test_app():
        again = await post(second.test_client(), {"text": "x"}, headers={"webhook-id": "persisted"})
        assert (await again.get_json())["duplicate"] is True


async def test_per_bot_url_fires_exactly_that_bot(client) -> None:
    target = await webhook_bot(client, "target {message}", detection_keyword="go")
    await webhook_bot(client, "other {message}")
    path = f"/api/webhooks/bots/{target['id']}"
    assert (await (await post(client, {"text": "stop"}, path)).get_json())["execution_ids"] == []
    response = await post(client, {"text": "go now"}, path)
    assert await prompts_of(client, response) == ["target go now"]


async def test_per_bot_url_rules(client) -> None:
    manual = await make_bot(client, "m", backend_type="codex")
    assert (await post(client, {}, f"/api/webhooks/bots/{manual['id']}")).status_code == 404
    assert (await post(client, {}, "/api/webhooks/bots/bot_missing")).status_code == 404
    off = await webhook_bot(client, enabled=False)
    assert (await post(client, {}, f"/api/webhooks/bots/{off['id']}")).status_code == 409
    signed = await webhook_bot(client, webhook_secret=SECRET)
    body = json.dumps({"text": "x"}).encode()
    path = f"/api/webhooks/bots/{signed['id']}"
    assert (await post(client, body, path, hex_signature(body, "nope"))).status_code == 401


async def test_oversized_body_is_413(make_app) -> None:
    app = make_app(AGENTED_MAX_REQUEST_BYTES=64)
    async with app.test_app():
        response = await post(app.test_client(), {"text": "x" * 100})
    assert response.status_code == 413


DUPLICATE = {"execution_ids": [], "duplicate": True, "skipped": []}


async def test_a_replayed_signed_body_with_a_fresh_delivery_id_is_a_duplicate(client) -> None:
    await webhook_bot(client, webhook_secret=SECRET)
    body = json.dumps({"text": "deploy"}).encode()
    first = await post(client, body, headers={"X-Delivery-Id": "d-1", **hex_signature(body)})
    assert first.status_code == 202
    for fresh_id in ({"X-Delivery-Id": "d-2"}, {"webhook-id": "d-3"}, {}):
        replay = await post(client, body, headers={**fresh_id, **hex_signature(body)})
        assert await replay.get_json() == DUPLICATE, fresh_id
    await prompts_of(client, first)


async def test_a_signed_delivery_id_seen_before_is_a_duplicate_and_records_nothing(
    client,
) -> None:
    await webhook_bot(client, webhook_secret=SECRET)
    first_body = json.dumps({"text": "one"}).encode()
    first = await post(
        client, first_body, headers={"X-Delivery-Id": "d-1", **hex_signature(first_body)}
    )
    await prompts_of(client, first)
    other_body = json.dumps({"text": "two"}).encode()
    reused_id = await post(
        client, other_body, headers={"X-Delivery-Id": "d-1", **hex_signature(other_body)}
    )
    assert await reused_id.get_json() == DUPLICATE
    # The refused delivery recorded none of its keys, so its body still fires under a new id.
    fresh = await post(
        client, other_body, headers={"X-Delivery-Id": "d-2", **hex_signature(other_body)}
    )
    assert await prompts_of(client, fresh) == ["echo two"]


async def test_a_signed_body_replayed_to_the_bots_own_url_is_a_duplicate(client) -> None:
    bot = await webhook_bot(client, webhook_secret=SECRET)
    body = json.dumps({"text": "once"}).encode()
    first = await post(client, body, headers=hex_signature(body))
    await prompts_of(client, first)
    replay = await post(client, body, f"/api/webhooks/bots/{bot['id']}", hex_signature(body))
    assert await replay.get_json() == DUPLICATE


async def test_standard_webhooks_dedupe_on_the_signed_id_not_on_the_body(client) -> None:
    await webhook_bot(client, webhook_secret=SECRET)
    body = json.dumps({"text": "tick"}).encode()
    signed = standard_signature(body, SECRET, message_id="msg_a")
    first = await post(client, body, headers=signed)
    await prompts_of(client, first)
    for extra in ({}, {"X-Delivery-Id": "fresh"}):
        assert await (await post(client, body, headers={**signed, **extra})).get_json() == DUPLICATE
    # Another message may have the same body; the spec makes the id the idempotency key.
    second = await post(client, body, headers=standard_signature(body, SECRET, message_id="msg_b"))
    assert await prompts_of(client, second) == ["echo tick"]


async def test_an_unsigned_request_cannot_use_up_a_signed_bots_delivery(client) -> None:
    await webhook_bot(client, "open {message}")
    signed_bot = await webhook_bot(client, "signed {message}", webhook_secret=SECRET)
    body = json.dumps({"text": "release"}).encode()
    squatter = await post(client, body, headers={"X-Delivery-Id": "d-7"})
    assert await prompts_of(client, squatter) == ["open release"]
    genuine = await post(client, body, headers={"X-Delivery-Id": "d-7", **hex_signature(body)})
    assert genuine.status_code == 202
    [execution_id] = (await genuine.get_json())["execution_ids"]
    details = await (await client.get(f"/admin/executions/{execution_id}")).get_json()
    assert details["trigger_id"] == signed_bot["id"]
    await prompts_of(client, genuine)


async def test_a_standard_webhooks_replay_is_remembered_while_its_signature_verifies(
    make_app, clock: Clock
) -> None:
    app = make_app(AGENTED_WEBHOOK_DEDUP_SECONDS=1)
    async with app.test_app():
        client = app.test_client()
        await webhook_bot(client, webhook_secret=SECRET)
        body = json.dumps({"text": "std"}).encode()
        signed = standard_signature(body, SECRET)
        first = await post(client, body, headers=signed)
        await prompts_of(client, first)
        # Past the configured 1 s window, but the signature is still inside its 5 minutes.
        clock.offset = 240
        assert await (await post(client, body, headers=signed)).get_json() == DUPLICATE


async def test_a_body_signed_replay_fires_again_once_the_window_has_passed(
    make_app, clock: Clock
) -> None:
    app = make_app(AGENTED_WEBHOOK_DEDUP_SECONDS=3600)
    async with app.test_app():
        client = app.test_client()
        await webhook_bot(client, webhook_secret=SECRET)
        body = json.dumps({"text": "hourly"}).encode()
        first = await post(client, body, headers=hex_signature(body))
        await prompts_of(client, first)
        clock.offset = 3599
        assert await (await post(client, body, headers=hex_signature(body))).get_json() == DUPLICATE
        # A body-only signature carries no time: the window is all that stops a replay.
        clock.offset = 3601
        again = await post(client, body, headers=hex_signature(body))
        assert await prompts_of(client, again) == ["echo hourly"]


MALFORMED_TIMESTAMPS = [
    "\u00b2",
    "1\u00b2",
    "\u00b9\u00b2\u00b3",
    "-5",
    "+5",
    "1e9",
    "",
    "12 34",
    "1" * 16,
    "9" * 5000,
]


@pytest.mark.parametrize("stamp", MALFORMED_TIMESTAMPS)
async def test_an_unreadable_webhook_timestamp_is_400(client, stamp: str) -> None:
    signed_bot = await webhook_bot(client, webhook_secret=SECRET)
    body = json.dumps({"text": "x"}).encode()
    headers = {**standard_signature(body, SECRET), "webhook-timestamp": stamp}
    for path in ("/", f"/api/webhooks/bots/{signed_bot['id']}"):
        response = await post(client, body, path, headers)
        assert response.status_code == 400, path
        assert await response.get_json() == {
            "error": "webhook-timestamp must be Unix time in seconds (1 to 15 ASCII digits)"
        }


async def test_an_unreadable_webhook_timestamp_is_400_even_without_signed_bots(client) -> None:
    await webhook_bot(client)
    response = await post(client, {"text": "x"}, headers={"webhook-timestamp": "\u00b2"})
    assert response.status_code == 400
    assert "webhook-timestamp" in (await response.get_json())["error"]


@pytest.mark.parametrize("stamp", ["0", "999999999999999"])
async def test_a_readable_timestamp_far_from_now_is_a_signature_failure(client, stamp: str) -> None:
    await webhook_bot(client, webhook_secret=SECRET)
    body = json.dumps({"text": "x"}).encode()
    response = await post(client, body, headers=standard_signature(body, SECRET, timestamp=stamp))
    assert response.status_code == 401


async def test_the_timestamp_is_verified_as_sent_including_leading_zeros(client) -> None:
    await webhook_bot(client, webhook_secret=SECRET)
    body = json.dumps({"text": "zeros"}).encode()
    padded = f"00{int(time.time())}"
    response = await post(client, body, headers=standard_signature(body, SECRET, timestamp=padded))
    assert await prompts_of(client, response) == ["echo zeros"]
