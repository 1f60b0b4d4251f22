"""Webhook receivers: the generic `POST /`, one URL per bot, GitHub; and PR review records.

Each checks its own signatures, so none needs the admin API key. A delivery
refused here, before a receiver decided on it, is recorded like the others
(`storage.delivery_records`). Bodies are
capped by MAX_CONTENT_LENGTH, which Quart enforces while reading (a declared
Content-Length over the cap is refused before the body is read).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any, cast

from quart import Blueprint, Response, jsonify, request
from quart_schema import document_response, validate_querystring
from werkzeug.datastructures import Headers

from ..errors import (
    AgentedError,
    MalformedDelivery,
    NotFound,
    SignatureRejected,
    WebhookDisabled,
)
from ..http.state import request_state
from ..models import Bot
from ..triggers.delivery_notes import DeliveryNotes
from ..triggers.github import GitHubOutcome
from ..triggers.webhooks import Outcome, delivery_id
from .responses import model_response
from .schemas import PullRequestReviewList, PullRequestReviewQuery, WebhookAccepted
from .services import runtime

blueprint = Blueprint("webhooks", __name__)

OBJECT_REQUIRED = "the body must be a JSON object"
NOT_JSON = "the body is not valid JSON"  # GitHub's receiver tells the two apart


def _sender_headers() -> Mapping[str, str]:
    """The request's headers as the sender sent them (without a request id we made up)."""
    if not request_state(request.scope).generated_request_id:
        return _as_mapping(request.headers)
    headers = request.headers.copy()
    del headers["X-Request-ID"]
    return _as_mapping(headers)


def _as_mapping(headers: Headers) -> Mapping[str, str]:
    """werkzeug's Headers: a case-insensitive mapping in behaviour, though not typed as one."""
    return cast(Mapping[str, str], headers)


async def _body() -> bytes:
    """The raw body: signatures and deduplication work on the bytes as sent."""
    return await request.get_data(cache=True, as_text=False, parse_form_data=False)


def json_object(body: bytes, not_json: str = OBJECT_REQUIRED) -> dict[str, Any]:
    """The body as a JSON object, else MalformedDelivery (`not_json` when it is no JSON at all)."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: nested too deeply
        raise MalformedDelivery(not_json) from None
    if not isinstance(payload, dict):
        raise MalformedDelivery(OBJECT_REQUIRED)
    return payload


async def _note_refusal(notes: DeliveryNotes, bot_id: str | None, error: AgentedError) -> None:
    notes.add(bot_id, "refused", str(error))
    await notes.save(runtime().delivery_records)


@asynccontextmanager
async def _refusal_noted(notes: DeliveryNotes, bot_id: str | None = None) -> AsyncIterator[None]:
    """Record a delivery refused before a receiver decided on it, then let the refusal answer."""
    try:
        yield
    except AgentedError as error:
        await _note_refusal(notes, bot_id, error)
        raise


async def _receive(only: Bot | None = None) -> tuple[Response, int]:
    """Hand the delivery to the webhook service (an unreadable signature header raises)."""
    headers = _sender_headers()
    notes = DeliveryNotes("bot" if only else "webhook", delivery_id(headers))
    async with _refusal_noted(notes, only.id if only else None):
        body = await _body()
        payload = json_object(body)
        if only is None and _is_url_verification(payload):
            return jsonify({"challenge": payload["challenge"]}), 200
        outcome = await runtime().webhooks.receive(payload, body, headers, only=only)
    return _answer(outcome)


def _is_url_verification(payload: dict[str, Any]) -> bool:
    """A Slack-style handshake on the generic URL: answered, not delivered."""
    return payload.get("type") == "url_verification" and isinstance(payload.get("challenge"), str)


def _answer(outcome: Outcome) -> tuple[Response, int]:
    if outcome.execution_ids:
        return jsonify({"execution_ids": outcome.execution_ids, "skipped": outcome.skipped}), 202
    if outcome.signature_failed and not outcome.duplicate:
        raise SignatureRejected("webhook signature missing or invalid")
    return jsonify(
        {"execution_ids": [], "duplicate": outcome.duplicate, "skipped": outcome.skipped}
    ), 200


@blueprint.post("/")
@document_response(WebhookAccepted, 202)
async def generic_webhook() -> tuple[Response, int]:
    return await _receive()


@blueprint.post("/api/webhooks/bots/<bot_id>")
@document_response(WebhookAccepted, 202)
async def bot_webhook(bot_id: str) -> tuple[Response, int]:
    services = runtime()
    bot = await services.bot_store.get(bot_id)
    if bot is None or bot.trigger_source != "webhook":
        raise NotFound(f"no webhook bot {bot_id}")
    if not bot.enabled:
        disabled = WebhookDisabled(f"bot {bot.name!r} is disabled")
        await _note_refusal(DeliveryNotes("bot", delivery_id(_sender_headers())), bot.id, disabled)
        raise disabled
    return await _receive(only=bot)


@blueprint.post("/api/webhooks/github")
async def github_webhook() -> tuple[Response, int]:
    headers = _as_mapping(request.headers)
    notes = DeliveryNotes(
        "github",
        headers.get("X-GitHub-Delivery", "").strip()[:200] or None,
        headers.get("X-GitHub-Event", "").strip()[:100] or None,
    )
    async with _refusal_noted(notes):
        body = await _body()
        github = runtime().github
        delivery = github.verify(body, headers)
        payload = json_object(body, NOT_JSON) if delivery.carries_payload else {}
        outcome = await github.receive(delivery, payload)
    return _github_answer(outcome)


def _github_answer(outcome: GitHubOutcome) -> tuple[Response, int]:
    if outcome.pong:
        return jsonify({"message": "pong"}), 200
    if outcome.execution_ids:
        return jsonify({"execution_ids": outcome.execution_ids, "skipped": outcome.skipped}), 202
    body: dict[str, Any] = {"message": "ignored", "reason": outcome.ignored}
    if outcome.skipped is not None:
        body["skipped"] = outcome.skipped
    return jsonify(body), 200


@blueprint.get("/api/pr-reviews")
@validate_querystring(PullRequestReviewQuery)
@document_response(PullRequestReviewList)
async def pr_reviews(query_args: PullRequestReviewQuery) -> Response:
    reviews = await runtime().pr_review_store.list(
        repo=query_args.repo,
        status=query_args.status,
        limit=query_args.limit,
        offset=query_args.offset,
    )
    return model_response(PullRequestReviewList(reviews=reviews))
