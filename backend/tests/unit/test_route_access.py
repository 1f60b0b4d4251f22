"""Deny by default: every route the app registers needs a key unless it is on the public list.

The walk covers whatever routes exist, so a route added tomorrow is checked too;
each protected route is also tried through every spelling of its path that a
prefix check and the router could read differently.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping

import pytest
from quart import Quart

from agented.security.policy import POLICY_KEY
from agented.security.routes import (
    PUBLIC_ENDPOINTS,
    RouteKind,
    RouteTable,
    public_endpoints,
)

from ..support.asgi import RawResponse, call_asgi
from ..support.keys import TEST_API_KEY

JSON = {"content-type": "application/json"}
ARGUMENT = re.compile(r"<(?:[^:<>]+:)?[^<>]+>")
STREAM = "/admin/executions/exe_1/stream"
INBOX_STREAM = "/admin/agents/agt_1/messages/stream"


def registered_routes(app: Quart) -> list[tuple[str, str, str]]:
    """(method, path, endpoint) for every rule, with arguments filled in."""
    routes = []
    for rule in app.url_map.iter_rules():
        path = ARGUMENT.sub("x1", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            routes.append((method, path, rule.endpoint))
    return routes


def refused_for_the_key(response: RawResponse) -> bool:
    """Our 401 (a route's own 401, like GitHub's signature check, names its reason)."""
    return response.status == 401 and response.json() == {"error": "missing or invalid API key"}


async def send(app: Quart, method: str, path: str, **kwargs) -> RawResponse:
    body = b"{}" if method in {"POST", "PUT"} else b""
    return await call_asgi(app, method, path, headers=JSON, body=body, **kwargs)


Walked = tuple[Quart, Mapping[str, RouteKind]]


@pytest.fixture(params=[False, True], ids=["metrics private", "metrics public"])
async def walked(request: pytest.FixtureRequest, make_app) -> AsyncIterator[Walked]:
    """A serving app, with /metrics private (the default) or made public, and its public list."""
    app = make_app(AGENTED_METRICS_PUBLIC=request.param)
    async with app.test_app():
        yield app, public_endpoints(metrics_public=request.param)


async def test_every_route_refuses_a_request_without_a_key_unless_it_is_public(
    walked: Walked,
) -> None:
    serving_app, public = walked
    routes = registered_routes(serving_app)
    assert {endpoint for _, _, endpoint in routes} >= set(public), "list is current"
    assert len(routes) > len(public), "the walk found the private routes"
    for method, path, endpoint in routes:
        response = await send(serving_app, method, path)
        if endpoint in public:
            assert not refused_for_the_key(response), (method, path)
        else:
            assert refused_for_the_key(response), (method, path, response.status)
    assert refused_for_the_key(await send(serving_app, "GET", STREAM))
    assert refused_for_the_key(await send(serving_app, "GET", INBOX_STREAM))


async def test_unknown_paths_and_methods_need_a_key_too(serving_app: Quart) -> None:
    for method, path in [
        ("POST", "/nothing/here"),
        ("DELETE", "/"),
        ("PUT", "/api/webhooks/github"),
    ]:
        assert refused_for_the_key(await send(serving_app, method, path)), (method, path)


def spellings(path: str) -> list[tuple[str, bytes]]:
    """(decoded path, raw path) pairs that name `path` in other ways."""
    rest = path[1:]
    return [
        (f"/{path}", f"/{path}".encode()),  # //admin/...
        (f"/{path}", f"/%2F{rest}".encode()),  # /%2Fadmin/...
        (f"/{path}", f"/%2f{rest}".encode()),
        (f"/./{rest}", f"/./{rest}".encode()),
        (f"/admin/../{rest}", f"/admin/../{rest}".encode()),
        (f"http://anything{path}", f"http://anything{path}".encode()),  # absolute-form
        (f"{path}\x00", f"{path}%00".encode()),
        (f"{path}/", f"{path}/".encode()),  # trailing slash
        (path.upper(), path.upper().encode()),  # case
    ]


async def test_no_spelling_of_a_private_path_reaches_its_route_without_a_key(
    walked: Walked,
) -> None:
    serving_app, public = walked
    private = [
        (method, path)
        for method, path, endpoint in registered_routes(serving_app)
        if endpoint not in public
    ]
    private += [("GET", STREAM), ("GET", INBOX_STREAM)]
    for method, path in private:
        for decoded, raw in spellings(path):
            response = await send(serving_app, method, decoded, raw_path=raw)
            assert response.status in {400, 401, 404}, (method, raw, response.status)
            assert "error" in response.json(), (method, raw)


@pytest.mark.parametrize(
    ("decoded", "raw", "reason"),
    [
        ("//admin/triggers", b"//admin/triggers", "repeated slashes"),
        ("//admin/triggers", b"/%2Fadmin/triggers", "encoded slashes"),
        ("/admin/./triggers", b"/admin/./triggers", "segments"),
        ("/admin/triggers/..", b"/admin/triggers/..", "segments"),
        ("http://x/admin/triggers", b"http://x/admin/triggers", "absolute-form"),
        ("/bots\x00.js", b"/bots%00.js", "control characters"),
        ("/admin\\triggers", b"/admin%5Ctriggers", "encoded slashes"),
    ],
)
async def test_non_canonical_targets_are_refused_with_the_reason_even_with_a_key(
    serving_app: Quart, decoded: str, raw: bytes, reason: str
) -> None:
    response = await call_asgi(
        serving_app, "GET", decoded, raw_path=raw, headers={"X-API-Key": TEST_API_KEY}
    )
    assert response.status == 400
    assert reason in response.json()["error"]
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_a_key_still_opens_every_private_route_by_its_canonical_path(
    serving_app: Quart,
) -> None:
    for method, path, endpoint in registered_routes(serving_app):
        if endpoint in PUBLIC_ENDPOINTS:
            continue
        response = await call_asgi(
            serving_app,
            method,
            path,
            headers={**JSON, "X-API-Key": TEST_API_KEY},
            body=b"{}" if method in {"POST", "PUT"} else b"",
        )
        assert response.status not in {401, 403}, (method, path, response.body)
        if response.status == 400:  # the route's own validation, not a refused path
            assert "not allowed in the path" not in response.json()["error"], (method, path)


def test_routes_below_a_mount_point_are_classified_as_quart_routes_them(
    serving_app: Quart,
) -> None:
    routes = RouteTable(serving_app.url_map)
    assert routes.kind("GET", "/agented/health/liveness", "/agented") == "public"
    assert routes.kind("POST", "/agented/api/webhooks/github", "/agented") == "webhook"
    assert routes.kind("GET", "/agented/admin/triggers", "/agented") == "admin"
    assert routes.kind("GET", "/health/liveness", "/agented") == "admin", "outside the mount"
    assert routes.kind("GET", "/agentedx/health/liveness", "/agented") == "admin"


async def test_mcp_is_its_own_kind_opened_only_by_the_token_of_a_running_run(
    serving_app: Quart,
) -> None:
    routes = RouteTable(serving_app.url_map)
    assert routes.kind("POST", "/mcp") == "mcp"
    assert routes.kind("GET", "/mcp/") == "mcp"
    assert routes.kind("POST", "/mcp/x") == "admin", "nothing below it is open"
    key = {**JSON, "x-api-key": TEST_API_KEY}
    for headers in (JSON, key):
        response = await call_asgi(serving_app, "POST", "/mcp", headers=headers, body=b"{}")
        assert (response.status, response.json()) == (
            401,
            {"error": "missing or invalid run token"},
        )
    token = serving_app.extensions[POLICY_KEY].run_tokens.issue("exe_gone", "agt_1")
    bearer = {**JSON, "authorization": f"Bearer {token}"}
    response = await call_asgi(serving_app, "POST", "/mcp", headers=bearer, body=b"{}")
    assert response.status == 401
    assert response.json() == {"error": "the run this token belongs to is not running"}


async def test_metrics_is_private_unless_the_setting_makes_it_public(walked: Walked) -> None:
    serving_app, public = walked
    made_public = "metrics.metrics" in public
    assert RouteTable(serving_app.url_map, public).kind("GET", "/metrics") == (
        "public" if made_public else "admin"
    )
    assert refused_for_the_key(await send(serving_app, "GET", "/metrics")) != made_public
    for decoded, raw in spellings("/metrics"):
        response = await send(serving_app, "GET", decoded, raw_path=raw)
        assert response.status in {200, 400, 401, 404}, (raw, response.status)
        assert b"agented_executions" not in response.body, raw
