"""GitHub pull-request webhooks, with GitHub's real payloads."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from ..support.bots import make_bot, put_fakes_on_path
from ..support.sse import stream_events

# GitHub's own example deliveries (from the project's shared reference material).
PAYLOADS = Path(__file__).resolve().parent.parent / "fixtures" / "github-webhooks"
SECRET = "github-hook-secret"
URL = "/api/webhooks/github"


@pytest.fixture(autouse=True)
def configured(monkeypatch: pytest.MonkeyPatch, app_overrides: dict[str, Any]) -> None:
    put_fakes_on_path(monkeypatch)
    app_overrides["GITHUB_WEBHOOK_SECRET"] = SECRET


def payload(name: str, **changes: Any) -> dict[str, Any]:
    data = json.loads((PAYLOADS / f"{name}.json").read_text())
    data.update(changes)
    return data


async def deliver(
    client, event: str, data: Any, *, secret: str | None = SECRET, delivery: str | None = None
):
    """Post like GitHub; `delivery=""` leaves X-GitHub-Delivery out, None makes a fresh one."""
    body = data if isinstance(data, bytes) else json.dumps(data).encode()
    headers = {"X-GitHub-Event": event, "Content-Type": "application/json"}
    if delivery != "":
        headers["X-GitHub-Delivery"] = delivery or str(uuid.uuid4())
    if secret is not None:
        digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        headers["X-Hub-Signature-256"] = f"sha256={digest}"
    return await client.post(URL, data=body, headers=headers)


async def github_bot(client, **fields: Any) -> dict[str, Any]:
    return await make_bot(
        client,
        "Review {pr_url} #{pr_number} '{pr_title}' by {pr_author} in {repo_full_name} ({repo_url})",
        backend_type="codex",
        trigger_source="github",
        **fields,
    )


async def finished(client, response) -> list[dict[str, Any]]:
    executions = []
    for execution_id in (await response.get_json())["execution_ids"]:
        await stream_events(client, execution_id)
        executions.append(await (await client.get(f"/admin/executions/{execution_id}")).get_json())
    return executions


async def test_without_a_configured_secret_everything_is_refused(make_app) -> None:
    app = make_app(GITHUB_WEBHOOK_SECRET=None)
    async with app.test_app():
        response = await deliver(app.test_client(), "ping", payload("ping.payload"))
    assert response.status_code == 401
    assert "GITHUB_WEBHOOK_SECRET" in (await response.get_json())["error"]


@pytest.mark.parametrize("secret", [None, "wrong"])
async def test_bad_signatures_are_refused(client, secret: str | None) -> None:
    response = await deliver(client, "ping", payload("ping.payload"), secret=secret)
    assert response.status_code == 401


async def test_ping_answers_pong(client) -> None:
    response = await deliver(client, "ping", payload("ping.payload"))
    assert response.status_code == 200
    assert await response.get_json() == {"message": "pong"}


@pytest.mark.parametrize(
    "name",
    [
        "pull_request.opened.payload",
        "pull_request.synchronize.payload",
        "pull_request.reopened.payload",
        "pull_request.opened.with-null-body",
    ],
)
async def test_firing_actions_run_github_bots_with_the_pr_fields(client, name: str) -> None:
    await github_bot(client)
    await make_bot(client, "not for github", backend_type="codex")
    response = await deliver(client, "pull_request", payload(name))
    assert response.status_code == 202
    [execution] = await finished(client, response)
    assert execution["trigger_type"] == "github"
    assert execution["prompt"] == (
        "Review https://github.com/Codertocat/Hello-World/pull/2 #2 "
        "'Update the README with new information.' by Codertocat in Codertocat/Hello-World "
        "(https://github.com/Codertocat/Hello-World)"
    )


async def test_ready_for_review_fires(client) -> None:
    await github_bot(client)
    response = await deliver(
        client, "pull_request", payload("pull_request.opened.payload", action="ready_for_review")
    )
    assert response.status_code == 202
    await finished(client, response)


@pytest.mark.parametrize("name", ["pull_request.closed.payload", "pull_request.labeled.payload"])
async def test_other_actions_are_ignored_with_a_reason(client, name: str) -> None:
    await github_bot(client)
    response = await deliver(client, "pull_request", payload(name))
    assert response.status_code == 200
    body = await response.get_json()
    assert body["message"] == "ignored"
    assert "action" in body["reason"]


@pytest.mark.parametrize(
    ("event", "name"),
    [("issue_comment", "issue_comment.created.payload"), ("push", "push.payload")],
)
async def test_other_events_are_ignored(client, event: str, name: str) -> None:
    await github_bot(client)
    response = await deliver(client, event, payload(name))
    assert response.status_code == 200
    assert (await response.get_json())["reason"] == f"event {event!r}"


async def test_repository_filter_ignores_case_and_empty_means_all(client) -> None:
    await github_bot(client, repositories=["someone/else"])
    matching = await github_bot(client, repositories=["codertocat/hello-world"])
    everything = await github_bot(client)
    response = await deliver(client, "pull_request", payload("pull_request.opened.payload"))
    fired = {execution["trigger_id"] for execution in await finished(client, response)}
    assert fired == {matching["id"], everything["id"]}


async def test_drafts_are_skipped_unless_the_bot_opts_in(client) -> None:
    await github_bot(client)
    opted_in = await github_bot(client, include_drafts=True)
    draft = payload("pull_request.opened.payload")
    draft["pull_request"]["draft"] = True
    response = await deliver(client, "pull_request", draft)
    assert [e["trigger_id"] for e in await finished(client, response)] == [opted_in["id"]]


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda p: p["pull_request"].pop("number"), "pull_request.number"),
        (lambda p: p.pop("repository"), "repository.full_name"),
        (lambda p: p.update(pull_request="nope"), "pull_request.number"),
    ],
)
async def test_malformed_payloads_are_400(client, mutate, fragment: str) -> None:
    await github_bot(client)
    data = payload("pull_request.opened.payload")
    mutate(data)
    response = await deliver(client, "pull_request", data)
    assert response.status_code == 400
    assert fragment in (await response.get_json())["error"]


@pytest.mark.parametrize("body", [b"{not json", b"[1]"])
async def test_bodies_that_are_not_json_objects_are_400(client, body: bytes) -> None:
    assert (await deliver(client, "pull_request", body)).status_code == 400


async def test_a_redelivery_fires_nothing_even_after_a_restart(make_app) -> None:
    first = make_app()
    async with first.test_app():
        client = first.test_client()
        await github_bot(client)
        response = await deliver(
            client, "pull_request", payload("pull_request.opened.payload"), delivery="gh-1"
        )
        await finished(client, response)
    second = make_app()
    async with second.test_app():
        again = await deliver(
            second.test_client(),
            "pull_request",
            payload("pull_request.opened.payload"),
            delivery="gh-1",
        )
        assert (await again.get_json())["reason"] == "duplicate delivery"


async def test_fired_prs_are_recorded_as_reviews(client) -> None:
    bot = await github_bot(client)
    response = await deliver(client, "pull_request", payload("pull_request.opened.payload"))
    [execution] = await finished(client, response)
    reviews = (await (await client.get("/api/pr-reviews")).get_json())["reviews"]
    assert len(reviews) == 1
    review = reviews[0]
    assert review["trigger_id"] == bot["id"]
    assert review["execution_id"] == execution["id"]
    assert review["repo_full_name"] == "Codertocat/Hello-World"
    assert review["pr_number"] == 2
    assert review["status"] == execution["status"]
    for query, count in (
        ({"repo": "codertocat/hello-world"}, 1),
        ({"repo": "other/repo"}, 0),
        ({"status": execution["status"]}, 1),
        ({"status": "running"}, 0),
    ):
        listed = await (await client.get("/api/pr-reviews", query_string=query)).get_json()
        assert len(listed["reviews"]) == count


@pytest.mark.parametrize(
    ("event", "name"), [("ping", "ping.payload"), ("pull_request", "pull_request.opened.payload")]
)
async def test_a_signed_delivery_without_a_delivery_id_is_refused(
    client, event: str, name: str
) -> None:
    await github_bot(client)
    for delivery in ("", "   "):
        response = await deliver(client, event, payload(name), delivery=delivery)
        assert response.status_code == 400
        assert "X-GitHub-Delivery" in (await response.get_json())["error"]
    listed = await (await client.get("/admin/executions")).get_json()
    assert listed["executions"] == []


async def test_an_unsigned_delivery_without_an_id_is_still_a_signature_failure(client) -> None:
    response = await deliver(client, "ping", payload("ping.payload"), secret=None, delivery="")
    assert response.status_code == 401


async def test_a_replayed_body_with_a_fresh_delivery_id_fires_nothing(client) -> None:
    await github_bot(client)
    data = payload("pull_request.opened.payload")
    first = await deliver(client, "pull_request", data, delivery="gh-1")
    assert first.status_code == 202
    await finished(client, first)
    replay = await deliver(client, "pull_request", data, delivery="gh-2")
    assert replay.status_code == 200
    assert await replay.get_json() == {"message": "ignored", "reason": "duplicate delivery"}


async def test_a_redelivered_id_with_another_body_fires_nothing(client) -> None:
    await github_bot(client)
    first = await deliver(
        client, "pull_request", payload("pull_request.opened.payload"), delivery="gh-1"
    )
    await finished(client, first)
    changed = payload("pull_request.synchronize.payload")
    again = await deliver(client, "pull_request", changed, delivery="gh-1")
    assert (await again.get_json())["reason"] == "duplicate delivery"
    # The refused delivery recorded nothing: its body still fires under its own id.
    fresh = await deliver(client, "pull_request", changed, delivery="gh-2")
    assert fresh.status_code == 202
    await finished(client, fresh)
