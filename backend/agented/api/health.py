"""Liveness (the process answers) and readiness (it can also reach its database)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from quart import Blueprint, Response, current_app, jsonify, request

from .. import __version__
from ..errors import StorageFull
from ..http.responses import error_response
from ..http.state import request_state
from ..runtime import runtime_of

blueprint = Blueprint("health", __name__, url_prefix="/health")

READINESS_DB_TIMEOUT = 2.0


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@blueprint.get("/liveness")
async def liveness() -> Response:
    return jsonify({"status": "alive", "timestamp": _now()})


@blueprint.get("/readiness")
async def readiness() -> Response:
    """Ready when serving with a database that answers; details only for a valid API key."""
    problem = await _readiness_problem()
    if not request_state(request.scope).authenticated:
        if problem is None:
            return jsonify({"status": "ok", "timestamp": _now()})
        return error_response(503, "not ready", status="unavailable", timestamp=_now())
    if problem is not None:
        return error_response(503, problem, status="unavailable", timestamp=_now())
    return jsonify({"status": "ok", "database": "ok", "version": __version__, "timestamp": _now()})


async def _readiness_problem() -> str | None:
    runtime = runtime_of(current_app)
    if runtime is None:
        return "server is not serving"
    if runtime.stopping.is_set():
        return "server is shutting down"
    if (lost := runtime.server_lock.problem) is not None:
        return lost
    try:
        async with asyncio.timeout(READINESS_DB_TIMEOUT):
            await runtime.database.ping()
    except StorageFull as error:  # answers, but cannot write: not ready for webhooks or runs
        return f"database unavailable: {error}"
    except Exception as error:  # any failure to answer means "not ready"
        return f"database unavailable: {type(error).__name__}"
    return None
