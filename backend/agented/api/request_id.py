"""A request id on every response and every log line of a request Quart serves.

The id itself is chosen in `http.request_id`; these hooks set it for Quart's
request task and echo it on the response.
"""

from __future__ import annotations

from quart import Quart, Response, g, request

from ..http.request_id import HEADER, choose_request_id
from ..log import request_id_var


def install_request_ids(app: Quart) -> None:
    @app.before_request
    async def assign_request_id() -> None:
        g.request_id = choose_request_id(request.headers.get(HEADER, ""))

    @app.after_request
    async def echo_request_id(response: Response) -> Response:
        response.headers[HEADER] = g.get("request_id") or request_id_var.get()
        return response
