"""The built dashboard (frontend/dist), served next to the API so one process is the product.

The dashboard routes in the browser (history mode), so any GET for a path that
is not a file and not an API route returns index.html. Vite fingerprints files
under assets/, so those may be cached for good; index.html never is.
"""

from __future__ import annotations

from pathlib import Path

from quart import Blueprint, Response, abort, jsonify, send_from_directory

from .. import __version__
from .services import settings

blueprint = Blueprint("dashboard", __name__)

API_PREFIXES = ("admin/", "api/", "health/", "docs", "openapi.json", "metrics")
IMMUTABLE = "public, max-age=31536000, immutable"


def _dist() -> Path:
    return settings().dashboard_dir


async def _index() -> Response:
    index = _dist() / "index.html"
    if not index.is_file():
        return jsonify(
            {
                "name": "Agented",
                "version": __version__,
                "dashboard": "not built (run scripts/serve, or npm run build in frontend/)",
                "api_docs": "/docs",
            }
        )
    response = await send_from_directory(_dist(), "index.html")
    response.headers["Cache-Control"] = "no-cache"
    return response


@blueprint.get("/")
async def root() -> Response:
    return await _index()


@blueprint.get("/<path:path>")
async def dashboard_path(path: str) -> Response:
    if path.lower().startswith(API_PREFIXES):  # any case: never the dashboard for an API path
        abort(404)
    candidate = (_dist() / path).resolve()
    if candidate.is_file() and candidate.is_relative_to(_dist().resolve()):
        response = await send_from_directory(_dist(), path)
        if path.startswith("assets/"):
            response.headers["Cache-Control"] = IMMUTABLE
        return response
    if "." in path.rsplit("/", 1)[-1]:
        abort(404)  # a missing file, not a client route
    return await _index()
