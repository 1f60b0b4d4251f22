"""A run's conversation (see executions/conversation.py), page by page, for finished runs
and for the part of a live run that came before a viewer opened its stream."""

from __future__ import annotations

import json

from quart import Blueprint, Response
from quart_schema import document_response, validate_querystring

from ..executions.conversation import has_conversation
from .schemas import ConversationPage, ConversationQuery
from .services import found, runtime

blueprint = Blueprint("conversation", __name__, url_prefix="/admin/executions")


@blueprint.get("/<execution_id>/conversation")
@validate_querystring(ConversationQuery)
@document_response(ConversationPage)
async def get_conversation(execution_id: str, query_args: ConversationQuery) -> Response:
    """The conversation entries of the stored lines after `after_seq`, oldest first."""
    services = runtime()
    execution = found(await services.execution_store.get(execution_id), "execution", execution_id)
    after = query_args.after_seq
    if has_conversation(execution.backend_type):
        entries, last = await services.logs.read_conversation(
            execution_id, execution.backend_type, after, query_args.limit
        )
    else:  # a command bot's output is plain text: no conversation to look for
        entries, last = b"", max(after, execution.log_lines)
    head = {
        "execution_id": execution.id,
        "status": execution.status,
        "last_seq": last,
        "more": last < execution.log_lines,
        "usage": execution.usage,
    }
    # The entries are JSON already (encoded on the database's reader thread): spliced in.
    body = json.dumps(head, separators=(",", ":"), ensure_ascii=False).encode()
    return Response(body[:-1] + b',"entries":[' + entries + b"]}", content_type="application/json")
