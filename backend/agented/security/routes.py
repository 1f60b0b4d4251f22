"""Which rules guard a request, decided on the route the router will really dispatch it to.

Deny by default: a request needs an API key unless the endpoint it matches is on
the explicit public list below. The decision is made on the same path and the
same URL map that Quart matches with, after `canonical_path_problem` has refused
every request target that a prefix check and the router could read differently
(`//admin`, `/%2Fadmin`, `/./admin`, absolute-form `http://host/admin`, control
characters). A new route is therefore private until someone adds it here, and a
test walks every registered rule to hold that. `/mcp` is a kind of its own: it
takes no API key, only the token of a running agent's run (checks.check_run_token).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map

from ..http.paths import is_mcp_path, is_stream_path

RouteKind = Literal["public", "webhook", "readiness", "admin", "stream", "mcp"]

# Every endpoint reachable without an API key, and the rules that apply to it.
# Anything not listed (including paths no rule matches) is "admin": key required.
PUBLIC_ENDPOINTS: Mapping[str, RouteKind] = {
    "health.liveness": "public",
    "health.readiness": "readiness",  # a key is optional: it only adds details
    "webhooks.generic_webhook": "webhook",
    "webhooks.bot_webhook": "webhook",
    "webhooks.github_webhook": "webhook",
    "dashboard.root": "public",
    "dashboard.dashboard_path": "public",
    "docs.page": "public",
    "docs.asset": "public",
    "openapi": "public",
}

# `/metrics`, open only when AGENTED_METRICS_PUBLIC says so: a Prometheus inside a
# private network often cannot send a key, and the figures hold no secret.
METRICS_ENDPOINT = "metrics.metrics"


def public_endpoints(*, metrics_public: bool) -> Mapping[str, RouteKind]:
    """The public list for these settings: the fixed one, plus `/metrics` if it is made public."""
    if metrics_public:
        return {**PUBLIC_ENDPOINTS, METRICS_ENDPOINT: "public"}
    return PUBLIC_ENDPOINTS


_CONTROL = re.compile(r"[\x00-\x1f\x7f\\]")


def canonical_path_problem(scope: Mapping[str, Any]) -> str | None:
    """Why a request target is not in the one form we route, or None when it is.

    Refusing these outright (400) is simpler and safer than normalising them: no
    client we serve sends them, and every normaliser is one more place for the
    router and the checks to disagree.
    """
    path: str = scope["path"]
    raw: bytes = scope.get("raw_path") or path.encode()
    if not (path.startswith("/") and raw.startswith(b"/")):
        return "the request target must be a path starting with '/' (no absolute-form)"
    lowered = raw.lower()
    if b"%2f" in lowered or b"%5c" in lowered:
        return "encoded slashes are not allowed in the path"
    if "//" in path:
        return "repeated slashes are not allowed in the path"
    if _CONTROL.search(path):
        return "control characters and backslashes are not allowed in the path"
    if any(segment in {".", ".."} for segment in path.split("/")):
        return "'.' and '..' segments are not allowed in the path"
    return None


class RouteTable:
    """Classifies (method, path) by the endpoint Quart's URL map matches."""

    def __init__(self, url_map: Map, public: Mapping[str, RouteKind] = PUBLIC_ENDPOINTS) -> None:
        # The map is read at match time, so routes registered after this still count.
        self._adapter = url_map.bind("agented.invalid")
        self._public = public

    def kind(self, method: str, path: str, root_path: str = "") -> RouteKind:
        if is_stream_path(path):
            return "stream"
        if is_mcp_path(path):
            return "mcp"
        if root_path:  # Quart routes the path below the mount point, and so must we
            if path == root_path or not path.startswith(root_path + "/"):
                return "admin"  # Quart answers 404: nothing public to reach
            path = path[len(root_path) :]
        try:
            endpoint, _ = self._adapter.match(path, method)
        except HTTPException:  # not found, wrong method or a redirect: no public endpoint
            return "admin"
        return self._public.get(str(endpoint), "admin")
