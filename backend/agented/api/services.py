"""Access to the serving runtime from a request."""

from __future__ import annotations

from quart import current_app

from ..errors import NotServing
from ..runtime import Runtime, runtime_of


def runtime() -> Runtime:
    """The running services; NotServing while the server is not (or no longer) serving."""
    found = runtime_of(current_app)
    if found is None or found.stopping.is_set():
        raise NotServing("the server is not serving")
    return found
