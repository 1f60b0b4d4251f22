"""Agents (`/admin/agents`) and their messages: CRUD, send, inbox, outbox, read, threads.

The live inbox (`/admin/agents/{id}/messages/stream`) is an SSE route: see api/streams.py.
"""

from __future__ import annotations

from pydantic import BaseModel
from quart import Blueprint, Response
from quart_schema import document_response, validate_querystring, validate_request

from ..errors import NotFound
from ..models import Agent, AgentMessage, utc_now
from .responses import model_response
from .schemas import (
    AGENT_DEFAULTS,
    AGENT_NON_NULLABLE,
    MESSAGE_DEFAULTS,
    MESSAGE_NON_NULLABLE,
    AgentBot,
    AgentCreate,
    AgentList,
    AgentOut,
    AgentUpdate,
    ErrorOut,
    InboxQuery,
    MessageList,
    MessageSend,
    MessagesSent,
    OutboxQuery,
)
from .services import found, runtime
from .validation import null_field

blueprint = Blueprint("agents", __name__, url_prefix="/admin/agents")


async def _agent_or_404(agent_id: str) -> Agent:
    return found(await runtime().agent_store.get(agent_id), "agent", agent_id)


async def _agents_out(agents: list[Agent]) -> list[AgentOut]:
    services = runtime()
    bots = await services.agent_store.bots_by_agent()
    unread = await services.message_store.unread_counts(utc_now())
    return [
        AgentOut.model_construct(
            **dict(agent),
            bots=[AgentBot(id=bot_id, name=name) for bot_id, name in bots.get(agent.id, [])],
            unread=unread.get(agent.id, 0),
        )
        for agent in agents
    ]


async def _shown(agent: Agent, status: int = 200) -> Response:
    (shown,) = await _agents_out([agent])
    return model_response(shown, status)


@blueprint.get("")
@document_response(AgentList)
async def list_agents() -> Response:
    agents = await runtime().agent_store.list()
    return model_response(AgentList(agents=await _agents_out(agents)))


@blueprint.post("")
@validate_request(AgentCreate)
@document_response(AgentOut, 201)
@document_response(ErrorOut, 400)
async def create_agent(data: BaseModel) -> Response:
    sent = data.model_dump(exclude_unset=True)
    if (null := null_field(sent, AGENT_NON_NULLABLE)) is not None:
        return null
    agent = await runtime().agent_service.create({**AGENT_DEFAULTS, **sent})
    return await _shown(agent, 201)


@blueprint.get("/<agent_id>")
@document_response(AgentOut)
async def get_agent(agent_id: str) -> Response:
    return await _shown(await _agent_or_404(agent_id))


@blueprint.put("/<agent_id>")
@validate_request(AgentUpdate)
@document_response(AgentOut)
async def update_agent(agent_id: str, data: BaseModel) -> Response:
    await _agent_or_404(agent_id)
    changes = data.model_dump(exclude_unset=True)
    if (null := null_field(changes, AGENT_NON_NULLABLE)) is not None:
        return null
    return await _shown(await runtime().agent_service.update(agent_id, changes))


@blueprint.delete("/<agent_id>")
async def delete_agent(agent_id: str) -> Response:
    await runtime().agent_service.delete(agent_id)
    return Response(status=204)


@blueprint.post("/<agent_id>/messages")
@validate_request(MessageSend)
@document_response(MessagesSent, 201)
@document_response(ErrorOut, 400)
async def send_message(agent_id: str, data: BaseModel) -> Response:
    # No look-up first: the store's write checks the sender (404) in the same transaction,
    # which saves a database round trip on the bus's busiest route.
    sent = data.model_dump(exclude_unset=True)
    if (null := null_field(sent, MESSAGE_NON_NULLABLE)) is not None:
        return null
    to_agent_id = sent.pop("to_agent_id", None)
    messages = await runtime().message_service.send(
        agent_id, to_agent_id, {**MESSAGE_DEFAULTS, **sent}
    )
    body = MessagesSent(message_ids=[message.id for message in messages], messages=messages)
    return model_response(body, 201)


@blueprint.get("/<agent_id>/messages/inbox")
@validate_querystring(InboxQuery)
@document_response(MessageList)
async def inbox(agent_id: str, query_args: InboxQuery) -> Response:
    """Messages to the agent, high priority first, then oldest first; expired ones never."""
    await _agent_or_404(agent_id)
    messages = await runtime().message_store.inbox(
        agent_id, query_args.status, utc_now(), query_args.limit
    )
    return model_response(MessageList(messages=messages))


@blueprint.get("/<agent_id>/messages/outbox")
@validate_querystring(OutboxQuery)
@document_response(MessageList)
async def outbox(agent_id: str, query_args: OutboxQuery) -> Response:
    """Messages the agent sent, newest first, each with its recipient's state of it."""
    await _agent_or_404(agent_id)
    messages = await runtime().message_store.outbox(agent_id, query_args.limit)
    return model_response(MessageList(messages=messages))


@blueprint.post("/<agent_id>/messages/<message_id>/read")
@document_response(AgentMessage)
async def mark_read(agent_id: str, message_id: str) -> Response:
    await _agent_or_404(agent_id)
    return model_response(await runtime().message_service.mark_read(agent_id, message_id))


@blueprint.get("/<agent_id>/messages/<message_id>/thread")
@document_response(MessageList)
async def thread(agent_id: str, message_id: str) -> Response:
    """The conversation of a message to or from the agent (by `in_reply_to`), oldest first."""
    await _agent_or_404(agent_id)
    message = await runtime().message_store.get(message_id)
    if message is None or agent_id not in (message.from_agent_id, message.to_agent_id):
        raise NotFound(f"message {message_id} not found for agent {agent_id}")
    messages = await runtime().message_store.thread(message_id)
    return model_response(MessageList(messages=messages))
