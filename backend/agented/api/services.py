"""Access to the serving runtime and the app's settings from a request, and a 404 helper."""

from __future__ import annotations

from typing import TypeVar

from quart import current_app

from ..config import SETTINGS_KEY, Settings
from ..errors import NotFound, NotServing
from ..runtime import Runtime, runtime_of


def runtime() -> Runtime:
    """The running services; NotServing while the server is not (or no longer) serving."""
    found = runtime_of(current_app)
    if found is None or found.stopping.is_set():
        raise NotServing("the server is not serving")
    return found


def settings() -> Settings:
    """The settings the app was built with (see `create_app`)."""
    found: Settings = current_app.extensions[SETTINGS_KEY]
    return found


T = TypeVar("T")


def found(record: T | None, kind: str, record_id: str) -> T:
    """`record`, or NotFound naming what was looked for (the API answers 404)."""
    if record is None:
        raise NotFound(f"{kind} {record_id} not found")
    return record
