"""The API documentation at /docs: Swagger UI from an installed package, never from a CDN.

The docs page shares its origin with the dashboard, which holds the API key in
the browser; a script from a third-party CDN there could read it. So Swagger UI's
files come from the `swagger-ui-py` package in our own environment, and the page
starts it with a script file of ours, which lets the usual strict
Content-Security-Policy (`script-src 'self'`, no inline scripts) apply here too.
Only the few files the page needs are served, from a fixed list.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from quart import Blueprint, Response, abort, send_from_directory
from quart_schema import hide

blueprint = Blueprint("docs", __name__)

PAGE_DIR = Path(__file__).with_name("docs_page")
ASSET_CACHE = "public, max-age=86400"


def _swagger_ui_dir() -> Path:
    """swagger-ui-py's static files, found without importing it (its import pulls in YAML)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the swagger-ui-py package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


ASSETS: dict[str, Path] = {
    "swagger-ui-bundle.js": _swagger_ui_dir(),
    "swagger-ui.css": _swagger_ui_dir(),
    "favicon-32x32.png": _swagger_ui_dir(),
    "docs.js": PAGE_DIR,
}


@blueprint.get("/docs")
@hide
async def page() -> Response:
    response = await send_from_directory(PAGE_DIR, "index.html")
    response.headers["Cache-Control"] = "no-cache"
    return response


@blueprint.get("/docs/assets/<name>")
@hide
async def asset(name: str) -> Response:
    directory = ASSETS.get(name)
    if directory is None:
        abort(404)
    response = await send_from_directory(directory, name)
    response.headers["Cache-Control"] = ASSET_CACHE
    return response
