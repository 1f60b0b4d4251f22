"""Choosing the request id that goes on every response and every log line of a request.

A well-formed incoming `X-Request-ID` (from a proxy or a client) is kept so one
id follows a request across systems; anything else is replaced, so arbitrary
client text never reaches logs or headers.
"""

from __future__ import annotations

import re
import uuid

from ..log import request_id_var

HEADER = "X-Request-ID"
_VALID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:+=/@-]{0,127}$")


def choose_request_id(incoming: str) -> str:
    """Keep a well-formed incoming id, else make a new one; sets it for this task's logs."""
    request_id = incoming if _VALID.match(incoming) else uuid.uuid4().hex
    request_id_var.set(request_id)
    return request_id
