"""Every error leaves as JSON `{"error": ...}` with the right status, never as a traceback.

A full disk is not a crash: it answers 503 "disk full: ..." and is logged by
the storage layer once a minute, not here once per request.
"""

from __future__ import annotations

import logging

from quart import Quart, Response, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound, RequestEntityTooLarge

from ..http.responses import error_response
from ..storage.disk_full import StorageFull
from .json_body import JsonRequest

logger = logging.getLogger(__name__)


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

    @app.errorhandler(StorageFull)
    async def storage_full(error: StorageFull) -> Response:
        response = error_response(503, str(error))
        response.headers["Retry-After"] = "60"
        return response

    @app.errorhandler(Exception)
    async def unexpected_error(error: Exception) -> Response:
        logger.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal server error")
