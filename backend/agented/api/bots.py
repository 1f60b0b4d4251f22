"""Bots (`/admin/bots`, also at `/admin/triggers`): CRUD, prompt preview, running by hand."""

from __future__ import annotations

from pydantic import BaseModel
from quart import Blueprint, Response, jsonify
from quart_schema import document_response, validate_querystring, validate_request

from ..executions.service import template_context
from ..executions.templates import render
from ..models import Bot, Execution
from ..triggers.schedules import cron_of
from .executions import execution_page, page_of
from .responses import model_response
from .schemas import (
    BOT_DEFAULTS,
    NON_NULLABLE,
    BotCreate,
    BotList,
    BotOut,
    BotUpdate,
    DeliveryList,
    DeliveryQuery,
    ErrorOut,
    ExecutionPage,
    ExecutionQuery,
    LastExecution,
    PreviewOut,
    RunAccepted,
    RunRequest,
)
from .services import found, runtime
from .validation import null_field

blueprint = Blueprint("bots", __name__, url_prefix="/admin/bots")
# The former prefix, from before "trigger" came to mean only what fires a bot. The
# same blueprint is registered there too (as "triggers"), so scripts and webhook
# senders written against it keep working; its routes are private like these.
ALIAS_PREFIX = "/admin/triggers"
ALIAS_NAME = "triggers"


def bot_out(bot: Bot, next_run_at: str | None, last: Execution | None = None) -> BotOut:
    """A bot as the API shows it: the webhook secret only as `has_webhook_secret`."""
    last_execution = (
        None if last is None else LastExecution.model_validate(last, from_attributes=True)
    )
    return BotOut.model_construct(
        **dict(bot),
        next_run_at=next_run_at,
        last_execution=last_execution,
        schedule_cron=cron_of(dict(bot)) if bot.trigger_source == "scheduled" else None,
    )


def _shown(bot: Bot, status: int = 200) -> Response:
    return model_response(bot_out(bot, runtime().bot_service.next_run_at(bot)), status)


async def _bot_or_404(bot_id: str) -> Bot:
    return found(await runtime().bot_store.get(bot_id), "bot", bot_id)


@blueprint.get("")
@document_response(BotList)
async def list_bots() -> Response:
    services = runtime()
    bots = await services.bot_store.list()
    latest = await services.execution_store.latest_per_bot()
    shown = [
        bot_out(bot, services.bot_service.next_run_at(bot), latest.get(bot.id)) for bot in bots
    ]
    return model_response(BotList(bots=shown, triggers=shown))


@blueprint.post("")
@validate_request(BotCreate)
@document_response(BotOut, 201)
@document_response(ErrorOut, 400)
async def create_bot(data: BaseModel) -> Response:
    sent = data.model_dump(exclude_unset=True)
    if (null := null_field(sent, NON_NULLABLE)) is not None:
        return null
    values = {**BOT_DEFAULTS, **sent}
    bot = await runtime().bot_service.create(values)
    return _shown(bot, 201)


@blueprint.get("/<bot_id>")
@document_response(BotOut)
async def get_bot(bot_id: str) -> Response:
    return _shown(await _bot_or_404(bot_id))


@blueprint.put("/<bot_id>")
@validate_request(BotUpdate)
@document_response(BotOut)
async def update_bot(bot_id: str, data: BaseModel) -> Response:
    bot = await _bot_or_404(bot_id)
    changes = data.model_dump(exclude_unset=True)
    if (null := null_field(changes, NON_NULLABLE)) is not None:
        return null
    updated = found(await runtime().bot_service.update(bot, changes), "bot", bot_id)
    return _shown(updated)


@blueprint.delete("/<bot_id>")
async def delete_bot(bot_id: str) -> Response:
    bot = await _bot_or_404(bot_id)
    await runtime().bot_service.delete(bot)
    return Response(status=204)


@blueprint.post("/<bot_id>/preview-prompt")
@validate_request(RunRequest)
@document_response(PreviewOut)
async def preview_prompt(bot_id: str, data: RunRequest) -> Response:
    bot = await _bot_or_404(bot_id)
    context = {"message": data.message}
    if bot.agent_id is not None:  # what a run would show now, delivering nothing
        context["messages"], _ = await runtime().message_service.for_prompt(bot.agent_id)
    rendered = render(bot.prompt_template, template_context(bot, context))
    return jsonify({"prompt": rendered.prompt, "unresolved": list(rendered.unresolved)})


@blueprint.post("/<bot_id>/run")
@validate_request(RunRequest)
@document_response(RunAccepted, 202)
async def run_bot(bot_id: str, data: RunRequest) -> tuple[Response, int] | Response:
    bot = await _bot_or_404(bot_id)
    execution = await runtime().execution_service.start(bot, "manual", {"message": data.message})
    return jsonify({"execution_id": execution.id, "status": execution.status}), 202


@blueprint.get("/<bot_id>/executions")
@validate_querystring(ExecutionQuery)
@document_response(ExecutionPage)
async def bot_executions(bot_id: str, query_args: ExecutionQuery) -> Response:
    bot = await _bot_or_404(bot_id)
    return execution_page(await page_of(query_args, bot.id), query_args)


@blueprint.get("/<bot_id>/deliveries")
@validate_querystring(DeliveryQuery)
@document_response(DeliveryList)
async def bot_deliveries(bot_id: str, query_args: DeliveryQuery) -> Response:
    """The webhook deliveries the bot received, newest first, with what became of each."""
    bot = await _bot_or_404(bot_id)
    records = await runtime().delivery_records.list(bot.id, limit=query_args.limit)
    return model_response(DeliveryList(deliveries=records))
