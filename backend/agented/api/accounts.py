"""Accounts (`/admin/accounts`): CRUD, and clearing a limited state by hand."""

from __future__ import annotations

from pydantic import BaseModel
from quart import Blueprint, Response
from quart_schema import document_response, validate_request

from ..models import Account
from .responses import model_response
from .schemas import (
    ACCOUNT_DEFAULTS,
    ACCOUNT_NON_NULLABLE,
    AccountCreate,
    AccountList,
    AccountUpdate,
    ErrorOut,
)
from .services import found, runtime
from .validation import null_field

blueprint = Blueprint("accounts", __name__, url_prefix="/admin/accounts")


async def _account_or_404(account_id: str) -> Account:
    return found(await runtime().account_store.get(account_id), "account", account_id)


@blueprint.get("")
@document_response(AccountList)
async def list_accounts() -> Response:
    return model_response(AccountList(accounts=await runtime().account_store.list()))


@blueprint.post("")
@validate_request(AccountCreate)
@document_response(Account, 201)
@document_response(ErrorOut, 400)
async def create_account(data: BaseModel) -> Response:
    sent = data.model_dump(exclude_unset=True)
    if (null := null_field(sent, ACCOUNT_NON_NULLABLE)) is not None:
        return null
    account = await runtime().account_service.create({**ACCOUNT_DEFAULTS, **sent})
    return model_response(account, 201)


@blueprint.get("/<account_id>")
@document_response(Account)
async def get_account(account_id: str) -> Response:
    return model_response(await _account_or_404(account_id))


@blueprint.put("/<account_id>")
@validate_request(AccountUpdate)
@document_response(Account)
async def update_account(account_id: str, data: BaseModel) -> Response:
    changes = data.model_dump(exclude_unset=True)
    if (null := null_field(changes, ACCOUNT_NON_NULLABLE)) is not None:
        return null
    return model_response(await runtime().account_service.update(account_id, changes))


@blueprint.delete("/<account_id>")
async def delete_account(account_id: str) -> Response:
    await runtime().account_service.delete(account_id)
    return Response(status=204)


@blueprint.post("/<account_id>/clear")
@document_response(Account)
async def clear_account(account_id: str) -> Response:
    """Make a limited account available again before its reset time."""
    return model_response(await runtime().account_service.clear(account_id))
