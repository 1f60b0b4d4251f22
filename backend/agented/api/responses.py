"""Responses produced from the records' models, so a response has the shape its schema publishes."""

from __future__ import annotations

from pydantic import BaseModel
from quart import Response, jsonify


def model_response(body: BaseModel, status: int = 200) -> Response:
    """`body` dumped as the API shows it (fields marked `exclude` stay out), as JSON."""
    response = jsonify(body.model_dump(mode="json"))
    response.status_code = status
    return response
