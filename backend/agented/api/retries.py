"""Pending retries of rate-limited runs and parked (waiting) runs, and the scheduler's jobs."""

from __future__ import annotations

from quart import Blueprint, Response, jsonify
from quart_schema import document_response

from ..errors import NotFound, RetryNotPending
from .responses import model_response
from .schemas import RetryList, RetryOut
from .services import runtime

blueprint = Blueprint("retries", __name__, url_prefix="/admin")


@blueprint.get("/retries")
@document_response(RetryList)
async def list_retries() -> Response:
    services = runtime()
    names = {bot.id: bot.name for bot in await services.bot_store.list()}
    retries = [
        RetryOut.model_construct(**dict(retry), bot_name=names.get(retry.bot_id or ""))
        for retry in await services.retry_service.pending()
    ]
    return model_response(RetryList(retries=retries))


@blueprint.delete("/retries/<retry_id>")
async def cancel_retry(retry_id: str) -> Response:
    services = runtime()
    if await services.retry_service.cancel(retry_id):
        return Response(status=204)
    if await services.retry_service.get(retry_id) is None:
        raise NotFound(f"retry {retry_id} not found")
    raise RetryNotPending(f"retry {retry_id} is no longer pending")


@blueprint.get("/scheduler/jobs")
async def scheduler_jobs() -> Response:
    return jsonify({"jobs": runtime().scheduler.jobs()})


@blueprint.get("/scheduler/skips")
async def scheduler_skips() -> Response:
    """Scheduled runs skipped because the bot's previous run was still going (newest first)."""
    return jsonify({"skips": await runtime().scheduled_triggers.recent_skips()})
