"""Webhook deliveries that concerned no bot: unmatched, refused before a bot was known, or
GitHub events that fire nothing. A bot's own are at `/admin/bots/{id}/deliveries`."""

from __future__ import annotations

from quart import Blueprint, Response
from quart_schema import document_response, validate_querystring

from .responses import model_response
from .schemas import DeliveryList, DeliveryQuery
from .services import runtime

blueprint = Blueprint("deliveries", __name__, url_prefix="/admin/deliveries")


@blueprint.get("")
@validate_querystring(DeliveryQuery)
@document_response(DeliveryList)
async def unmatched_deliveries(query_args: DeliveryQuery) -> Response:
    """The newest deliveries no bot was concerned by, with what became of each."""
    records = await runtime().delivery_records.list(None, limit=query_args.limit)
    return model_response(DeliveryList(deliveries=records))
