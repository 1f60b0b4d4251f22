"""What Hypercorn gave the worker process this app runs in, when it runs in one.

Hypercorn passes its worker function the supervisor's shutdown event and the
already-bound listening sockets as keyword arguments, and offers no public way
to reach them from the app. They are read from the spawned process object;
anything else (`hypercorn -w 0`, `quart run`, tests) finds nothing here.
"""

from __future__ import annotations

import multiprocessing
from typing import Any, Protocol

from .listeners import Listener


class EventLike(Protocol):
    def is_set(self) -> bool: ...

    def set(self) -> None: ...


def _worker_arguments() -> dict[str, Any]:
    process = multiprocessing.current_process()
    target = getattr(process, "_target", None)
    kwargs = getattr(process, "_kwargs", None)
    if getattr(target, "__module__", "").startswith("hypercorn.") and isinstance(kwargs, dict):
        return kwargs
    return {}


def hypercorn_config() -> Any:
    """The worker's Hypercorn `Config` (untyped here: only its `log` is used), if any."""
    return _worker_arguments().get("config")


def shutdown_event() -> EventLike | None:
    """The supervisor's shutdown event, if this process is a Hypercorn worker."""
    event = _worker_arguments().get("shutdown_event")
    has_methods = callable(getattr(event, "is_set", None)) and callable(getattr(event, "set", None))
    return event if has_methods else None


def supervisor_pid() -> int | None:
    """The pid of the Hypercorn supervisor that started this worker, if this is a worker."""
    if not _worker_arguments():
        return None
    parent = multiprocessing.parent_process()
    return parent.pid if parent is not None else None


def bound_addresses() -> list[Listener] | None:
    """Every listening TCP socket (TLS ones first), if this process is a Hypercorn worker."""
    sockets = _worker_arguments().get("sockets")
    if sockets is None:
        return None
    addresses = []
    for secure, group in ((True, sockets.secure_sockets), (False, sockets.insecure_sockets)):
        for sock in group:
            name = sock.getsockname()
            if isinstance(name, tuple):  # not a Unix socket
                addresses.append(Listener(name[0], name[1], secure))
    return addresses
