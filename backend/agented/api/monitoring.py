"""Monitoring (`/admin/monitoring`): what runs now, the accounts and bots, and the history."""

from __future__ import annotations

from quart import Blueprint, Response
from quart_schema import document_response, validate_querystring

from ..monitoring.figures import History, MonitoringStatus
from .responses import model_response
from .schemas import ErrorOut, HistoryQuery
from .services import runtime

blueprint = Blueprint("monitoring", __name__, url_prefix="/admin/monitoring")


@blueprint.get("/status")
@document_response(MonitoringStatus)
async def monitoring_status() -> Response:
    """Running, queued and waiting runs; each account's state and use; each bot's success."""
    return model_response(await runtime().monitoring.status())


@blueprint.get("/history")
@validate_querystring(HistoryQuery)
@document_response(History)
@document_response(ErrorOut, 400)
async def monitoring_history(query_args: HistoryQuery) -> Response:
    """What ended per bucket over the last `hours`: runs, failures, rate limits, tokens, cost."""
    return model_response(await runtime().monitoring.history(query_args.hours, query_args.bucket))
