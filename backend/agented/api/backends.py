"""Which backends the server can run, for the dashboard's guided first bot and the bot form."""

from __future__ import annotations

from quart import Blueprint, Response
from quart_schema import document_response

from .responses import model_response
from .schemas import BackendList
from .services import runtime

blueprint = Blueprint("backends", __name__, url_prefix="/admin")


@blueprint.get("/backends")
@document_response(BackendList)
async def list_backends() -> Response:
    """Each backend type, whether its CLI is on the server's PATH, where, and its version."""
    return model_response(BackendList(backends=await runtime().backends.backends()))
