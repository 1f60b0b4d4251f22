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


def current_request_id() -> str:
    return request_id_var.get()


def install_request_ids(app: Quart) -> None:
    @app.before_request
    async def assign_request_id() -> None:
        incoming = request.headers.get(HEADER, "")
        g.request_id = incoming if _VALID.match(incoming) else uuid.uuid4().hex
        request_id_var.set(g.request_id)

    @app.after_request
    async def echo_request_id(response: Response) -> Response:
        response.headers[HEADER] = g.get("request_id") or request_id_var.get()
        return response
