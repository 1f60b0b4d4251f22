"""`GET /metrics`: the monitoring figures in the Prometheus text format.

Behind the API key like every route, unless AGENTED_METRICS_PUBLIC opens it
(security/routes.py decides, from the settings).
"""

from __future__ import annotations

from quart import Blueprint, Response

from ..monitoring.metrics import CONTENT_TYPE
from .services import runtime

blueprint = Blueprint("metrics", __name__)


@blueprint.get("/metrics")
async def metrics() -> Response:
    """Runs by status, running/queued/waiting, per-account use and limits, streams, log lines."""
    return Response(await runtime().monitoring.metrics(), content_type=CONTENT_TYPE)
