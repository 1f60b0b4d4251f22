"""Pending retries of rate-limited executions, and the scheduler's jobs."""

from __future__ import annotations

from quart import Blueprint, Response, jsonify
from quart_schema import document_response

from ..errors import NotFound, RetryNotPending
from .schemas import RetryList
from .services import runtime

blueprint = Blueprint("retries", __name__, url_prefix="/admin")


@blueprint.get("/retries")
@document_response(RetryList)
async def list_retries() -> Response:
    services = runtime()
    names = {bot.id: bot.name for bot in await services.bots.list()}
    retries = [
        {
            "id": retry.id,
            "trigger_id": retry.trigger_id,
            "trigger_name": names.get(retry.trigger_id or ""),
            "execution_id": retry.execution_id,
            "attempt": retry.attempt,
            "due_at": retry.due_at,
            "reason": retry.reason,
            "status": retry.status,
        }
        for retry in await services.retries.pending()
    ]
    return jsonify({"retries": retries})


@blueprint.delete("/retries/<retry_id>")
async def cancel_retry(retry_id: str) -> Response:
    services = runtime()
    if await services.retries.cancel(retry_id):
        return Response(status=204)
    if await services.retries.get(retry_id) is None:
        raise NotFound(f"retry {retry_id} not found")
    raise RetryNotPending(f"retry {retry_id} is no longer pending")


@blueprint.get("/scheduler/jobs")
async def scheduler_jobs() -> Response:
    return jsonify({"jobs": runtime().scheduler.jobs()})


@blueprint.get("/scheduler/skips")
async def scheduler_skips() -> Response:
    """Scheduled runs skipped because the bot's previous run was still going (newest first)."""
    return jsonify({"skips": await runtime().schedules.recent_skips()})
