"""A request id on every response and every log line of that request.

A well-formed incoming `X-Request-ID` (from a proxy or a client) is kept so one
id follows a request across systems; anything else is replaced, so arbitrary
client text never reaches logs or headers.
"""

from __future__ import annotations

import re
import uuid

from quart import Quart, Response, g, request

from ..log import request_id_var

HEADER = "X-Request-ID"
_VALID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:+=/@-]{0,127}$")


def choose_request_id(incoming: str) -> str:
    """Keep a well-formed incoming id, else make a new one; sets it for this task's logs."""
    request_id = incoming if _VALID.match(incoming) else uuid.uuid4().hex
    request_id_var.set(request_id)
    return request_id


def install_request_ids(app: Quart) -> None:
    @app.before_request
    async def assign_request_id() -> None:
        g.request_id = choose_request_id(request.headers.get(HEADER, ""))

    @app.after_request
    async def echo_request_id(response: Response) -> Response:
        response.headers[HEADER] = g.get("request_id") or request_id_var.get()
        return response
