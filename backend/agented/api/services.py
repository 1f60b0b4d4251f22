"""Access to the serving runtime from a request."""

from __future__ import annotations

from quart import abort, current_app

from ..runtime import Runtime, runtime_of


def runtime() -> Runtime:
    """The running services, or 503 while the server is not (or no longer) serving."""
    found = runtime_of(current_app)
    if found is None or found.stopping.is_set():
        abort(503, "the server is not serving")
    return found
