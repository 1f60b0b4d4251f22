"""Every error leaves as JSON `{"error": ...}` with the right status, never as a traceback.

This is the one place where the domain's errors (`agented.errors`) become HTTP:
`STATUS` gives each its status code, and the body is the error's message plus
its `details`. A full disk is not a crash: it answers 503 "disk full: ..." and
is logged by the storage layer once a minute, not here once per request.
"""

from __future__ import annotations

import logging

from quart import Quart, Response, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound, RequestEntityTooLarge

from .. import errors as domain
from ..http.responses import error_response
from .json_body import JsonRequest

logger = logging.getLogger(__name__)

# Each domain error's status; a subclass not listed takes its nearest listed base's.
STATUS: dict[type[domain.AgentedError], int] = {
    domain.NotFound: 404,
    domain.NotServing: 503,
    domain.ExecutionNotRunning: 409,
    domain.ExecutionActive: 409,
    domain.InputNotKept: 409,
    domain.RetryNotPending: 409,
    domain.SearchInvalid: 400,
    domain.ShuttingDown: 503,
    domain.BotDisabled: 400,
    domain.BotBusy: 409,
    domain.InvalidCommand: 400,
    domain.BotInvalid: 400,
    domain.DuplicateBotName: 409,
    domain.DuplicateAgentName: 409,
    domain.MessageInvalid: 400,
    domain.DuplicateAccountName: 409,
    domain.WebhookDisabled: 409,
    domain.SignatureRejected: 401,
    domain.MalformedDelivery: 400,
    domain.StorageFull: 503,
}
# Headers an answer adds: after a full disk, when to try again.
HEADERS: dict[type[domain.AgentedError], dict[str, str]] = {
    domain.StorageFull: {"Retry-After": "60"}
}


def status_of(error: domain.AgentedError) -> int:
    """The status for `error`: its class's in STATUS, else its nearest base's, else 500."""
    return next((STATUS[kind] for kind in type(error).__mro__ if kind in STATUS), 500)


def _message(error: HTTPException) -> str:
    if error.description and error.description != type(error).description:
        return error.description
    if isinstance(error, NotFound):
        return f"not found: {request.path}"
    if isinstance(error, MethodNotAllowed):
        return f"method {request.method} is not allowed on {request.path}"
    if isinstance(error, RequestEntityTooLarge):
        limit = request.max_content_length
        return (
            f"request body too large (limit {limit} bytes)" if limit else "request body too large"
        )
    return (error.name or "error").lower()


def install_error_handlers(app: Quart) -> None:
    """JSON answers for every error, and a 400 (not a crash) for every unreadable JSON body."""
    app.request_class = JsonRequest

    @app.errorhandler(HTTPException)
    async def http_error(error: HTTPException) -> Response:
        response = error_response(error.code or 500, _message(error))
        for name, value in error.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(domain.AgentedError)
    async def domain_error(error: domain.AgentedError) -> Response:
        response = error_response(status_of(error), str(error), **error.details)
        response.headers.update(HEADERS.get(type(error), {}))
        return response

    @app.errorhandler(Exception)
    async def unexpected_error(error: Exception) -> Response:
        logger.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal server error")
