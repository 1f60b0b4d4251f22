"""Webhook receivers: the generic `POST /`, one URL per bot, GitHub; and PR review records.

Each checks its own signatures, so none needs the admin API key. Bodies are
capped by MAX_CONTENT_LENGTH, which Quart enforces while reading (a declared
Content-Length over the cap is refused before the body is read).
"""

from __future__ import annotations

import json
from typing import Any

from quart import Blueprint, Response, abort, jsonify, request
from quart_schema import document_response, validate_querystring
from werkzeug.datastructures import Headers

from ..models import Bot
from ..security.middleware import GENERATED_REQUEST_ID
from ..triggers.github import GitHubRejected
from ..triggers.signatures import MalformedHeader
from ..triggers.webhooks import Outcome
from .errors import error_response
from .responses import model_response
from .schemas import PullRequestReviewList, PullRequestReviewQuery, WebhookAccepted
from .services import runtime

blueprint = Blueprint("webhooks", __name__)


def _sender_headers() -> Headers:
    """The request's headers as the sender sent them (without a request id we made up)."""
    if not request.scope.get(GENERATED_REQUEST_ID):
        return request.headers
    headers = request.headers.copy()
    del headers["X-Request-ID"]
    return headers


async def _json_object() -> tuple[bytes, dict[str, Any]]:
    body = await request.get_data()
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: nested too deeply
        abort(400, "the body must be a JSON object")
    if not isinstance(payload, dict):
        abort(400, "the body must be a JSON object")
    return body, payload


async def _receive(
    payload: dict[str, Any], body: bytes, only: Bot | None = None
) -> tuple[Response, int]:
    """Hand the delivery to the webhook service; an unreadable signature header is a 400."""
    try:
        outcome = await runtime().webhooks.receive(payload, body, _sender_headers(), only=only)
    except MalformedHeader as malformed:
        return error_response(400, str(malformed)), 400
    return _answer(outcome)


def _answer(outcome: Outcome) -> tuple[Response, int]:
    if outcome.execution_ids:
        return jsonify({"execution_ids": outcome.execution_ids, "skipped": outcome.skipped}), 202
    if outcome.signature_failed and not outcome.duplicate:
        return error_response(401, "webhook signature missing or invalid"), 401
    return jsonify(
        {"execution_ids": [], "duplicate": outcome.duplicate, "skipped": outcome.skipped}
    ), 200


@blueprint.post("/")
@document_response(WebhookAccepted, 202)
async def generic_webhook() -> tuple[Response, int]:
    body, payload = await _json_object()
    if payload.get("type") == "url_verification" and isinstance(payload.get("challenge"), str):
        return jsonify({"challenge": payload["challenge"]}), 200
    return await _receive(payload, body)


@blueprint.post("/api/webhooks/bots/<bot_id>")
@document_response(WebhookAccepted, 202)
async def bot_webhook(bot_id: str) -> tuple[Response, int]:
    services = runtime()
    bot = await services.bot_store.get(bot_id)
    if bot is None or bot.trigger_source != "webhook":
        abort(404, f"no webhook bot {bot_id}")
    if not bot.enabled:
        return error_response(409, f"bot {bot.name!r} is disabled"), 409
    body, payload = await _json_object()
    return await _receive(payload, body, only=bot)


@blueprint.post("/api/webhooks/github")
async def github_webhook() -> tuple[Response, int]:
    body = await request.get_data()
    try:
        outcome = await runtime().github.receive(body, request.headers)
    except GitHubRejected as rejected:
        return error_response(rejected.status, str(rejected)), rejected.status
    return jsonify(outcome.body), outcome.status


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
