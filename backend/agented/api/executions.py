"""Executions: the filtered history, details with log lines and input, cancelling (waiting ones
too), re-run, and daily counts."""

from __future__ import annotations

from datetime import timedelta

from quart import Blueprint, Response, jsonify
from quart_schema import document_response, validate_querystring, validate_request

from ..errors import ExecutionNotRunning
from ..executions.inputs import redact
from ..models import utc_now
from ..storage.executions import Page
from .responses import model_response
from .schemas import (
    DailyStats,
    ErrorOut,
    ExecutionDetail,
    ExecutionPage,
    ExecutionQuery,
    LogLineOut,
    LogQuery,
    RerunRequest,
    RunAccepted,
    StatsQuery,
)
from .services import found, runtime

blueprint = Blueprint("executions", __name__, url_prefix="/admin/executions")


async def page_of(query: ExecutionQuery, bot_id: str | None = None) -> Page:
    return await runtime().execution_store.page(
        query.filters(bot_id), limit=query.limit, offset=query.offset
    )


def execution_page(page: Page, query: ExecutionQuery) -> Response:
    return model_response(
        ExecutionPage(
            executions=page.executions, total=page.total, limit=query.limit, offset=query.offset
        )
    )


@blueprint.get("")
@validate_querystring(ExecutionQuery)
@document_response(ExecutionPage)
async def list_executions(query_args: ExecutionQuery) -> Response:
    return execution_page(await page_of(query_args), query_args)


@blueprint.get("/stats")
@validate_querystring(StatsQuery)
@document_response(DailyStats)
async def daily_stats(query_args: StatsQuery) -> Response:
    today = utc_now().date()
    first = today - timedelta(days=query_args.days - 1)
    counts = {
        row["day"]: row for row in await runtime().execution_store.daily_counts(first.isoformat())
    }
    days = []
    for offset in range(query_args.days):
        day = (first + timedelta(days=offset)).isoformat()
        row = counts.get(day, {"total": 0, "failed": 0})
        days.append({"date": day, "total": row["total"], "failed": row["failed"]})
    return jsonify({"days": days})


@blueprint.get("/<execution_id>")
@validate_querystring(LogQuery)
@document_response(ExecutionDetail)
async def get_execution(execution_id: str, query_args: LogQuery) -> Response:
    services = runtime()
    execution = found(await services.execution_store.get(execution_id), "execution", execution_id)
    lines, more = await services.logs.read(
        execution_id,
        query_args.after_seq,
        query_args.limit,
        query_args.q,
        before_seq=query_args.before_seq,
    )
    logs = [LogLineOut.model_construct(**line.as_dict()) for line in lines]
    given = await services.execution_store.input_of(execution_id)
    return model_response(
        ExecutionDetail.model_construct(
            **dict(execution),
            logs=logs,
            logs_truncated=more,
            input=None if given is None else redact(given),
            lineage=await services.execution_store.lineage(execution),
        )
    )


@blueprint.post("/<execution_id>/rerun")
@validate_request(RerunRequest)
@document_response(RunAccepted, 202)
@document_response(ErrorOut, 409)
async def rerun_execution(execution_id: str, data: RerunRequest) -> tuple[Response, int]:
    """Run a finished execution again with its input; `message`/`payload` edit it first."""
    execution = await runtime().reruns.rerun(execution_id, data.model_dump(exclude_none=True))
    return jsonify({"execution_id": execution.id, "status": execution.status}), 202


@blueprint.post("/<execution_id>/cancel")
async def cancel_execution(execution_id: str) -> tuple[Response, int] | Response:
    services = runtime()
    execution = await services.execution_service.cancel(execution_id)
    if execution is not None:
        return jsonify({"execution_id": execution.id, "status": "cancelling"}), 202
    if (parked := await services.retry_service.cancel_waiting(execution_id)) is not None:
        return jsonify({"execution_id": parked.id, "status": parked.status}), 202
    stored = found(await services.execution_store.get(execution_id), "execution", execution_id)
    raise ExecutionNotRunning(f"execution {execution_id} is not running (it is {stored.status})")
