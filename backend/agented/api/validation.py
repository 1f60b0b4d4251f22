"""Turning schema validation failures into one clear `{"error", "field"}` answer."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError
from quart import Response, request
from quart_schema import RequestSchemaValidationError

from ..http.responses import error_response

_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "is not a known field",
}


def _describe(detail: Mapping[str, Any]) -> tuple[str | None, str]:
    location = [str(part) for part in detail.get("loc", ())]
    message = _MESSAGES.get(detail.get("type", ""), detail.get("msg", "is invalid"))
    message = message.removeprefix("Value error, ")
    if not location and ": " in message:  # a model-level check names its field itself
        field, message = message.split(": ", 1)
        return field, message
    return (location[0] if location else None), message


def validation_error_response(error: RequestSchemaValidationError) -> Response:
    cause = error.validation_error
    if request.method in {"POST", "PUT", "PATCH"} and not request.is_json:
        return error_response(415, "the request body must be JSON (Content-Type: application/json)")
    if not isinstance(cause, ValidationError) or not cause.errors():
        return error_response(400, "the request body must be a JSON object")
    field, message = _describe(cause.errors()[0])
    if field is None:
        return error_response(400, f"invalid request: {message}")
    location = ".".join(str(p) for p in cause.errors()[0].get("loc", ())) or field
    return error_response(400, f"{location}: {message}", field=field)


def null_field(values: Mapping[str, Any], non_nullable: Iterable[str]) -> Response | None:
    """A 400 for a field sent as null that must have a value (omit it to keep the default)."""
    for name in non_nullable:
        if name in values and values[name] is None:
            return error_response(400, f"{name}: cannot be null", field=name)
    return None
