"""Health endpoints, JSON errors and request ids."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import io
import logging
import sys
from typing import Any

import pytest
from quart import Quart, request

from agented.log import build_handler
from agented.runtime import SWITCH_INTERVAL, runtime_of

from ..support.bots import BOTS, make_bot, put_fakes_on_path


async def test_liveness(client) -> None:
    response = await client.get("/health/liveness")
    assert response.status_code == 200
    assert (await response.get_json())["status"] == "alive"


async def test_readiness_when_the_database_answers(client) -> None:
    response = await client.get("/health/readiness")
    assert response.status_code == 200
    body = await response.get_json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"


async def test_readiness_is_503_when_the_database_fails(serving_app: Quart) -> None:
    await runtime_of(serving_app).database.close()
    response = await serving_app.test_client().get("/health/readiness")
    assert response.status_code == 503
    body = await response.get_json()
    assert body["status"] == "unavailable"
    assert body["error"].startswith("database unavailable")


async def test_readiness_is_503_when_the_database_hangs(
    serving_app: Quart, monkeypatch: pytest.MonkeyPatch
) -> None:
    never = asyncio.Event()

    async def hang() -> None:
        await never.wait()

    monkeypatch.setattr(runtime_of(serving_app).database, "ping", hang)
    monkeypatch.setattr("agented.api.health.READINESS_DB_TIMEOUT", 0.05)
    response = await serving_app.test_client().get("/health/readiness")
    assert response.status_code == 503
    assert "TimeoutError" in (await response.get_json())["error"]


async def test_readiness_is_503_before_serving(make_app) -> None:
    response = await make_app().test_client().get("/health/readiness")
    assert response.status_code == 503
    assert (await response.get_json())["error"] == "server is not serving"


async def test_database_threads_wait_briefly_for_the_gil_only_while_serving(make_app) -> None:
    before = sys.getswitchinterval()
    app = make_app()
    async with app.test_app():
        assert sys.getswitchinterval() == SWITCH_INTERVAL < before
    assert sys.getswitchinterval() == before, "the process's own setting is given back"


async def test_unknown_api_path_is_json_404(client) -> None:
    response = await client.get("/admin/no/such/thing")
    assert response.status_code == 404
    assert await response.get_json() == {"error": "not found: /admin/no/such/thing"}


async def test_wrong_method_is_json_405_with_allow(client) -> None:
    response = await client.delete("/health/liveness")
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]
    assert (await response.get_json())[
        "error"
    ] == "method DELETE is not allowed on /health/liveness"


def _add_probe_routes(app: Quart) -> None:
    @app.post("/probe/echo")
    async def echo() -> dict:
        return {"size": len(await request.get_data())}

    @app.get("/probe/crash")
    async def crash() -> dict:
        logging.getLogger("agented.probe").info("about to fail")
        raise RuntimeError("secret internals")


async def test_oversized_body_is_json_413(make_app) -> None:
    app = make_app(AGENTED_MAX_REQUEST_BYTES=16)
    _add_probe_routes(app)
    async with app.test_app():
        client = app.test_client()
        ok = await client.post("/probe/echo", data=b"x" * 16)
        assert (await ok.get_json()) == {"size": 16}
        response = await client.post("/probe/echo", data=b"x" * 17)
    assert response.status_code == 413
    assert await response.get_json() == {"error": "request body too large (limit 16 bytes)"}


async def test_crash_is_json_500_without_internals_and_logged_with_request_id(make_app) -> None:
    app = make_app()
    _add_probe_routes(app)
    stream = io.StringIO()
    handler = build_handler(stream)
    logger = logging.getLogger("agented")
    logger.addHandler(handler)
    previous_level = logger.level
    logger.setLevel(logging.INFO)
    try:
        async with app.test_app():
            response = await app.test_client().get(
                "/probe/crash", headers={"X-Request-ID": "trace-42"}
            )
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous_level)
    assert response.status_code == 500
    assert response.headers["X-Request-ID"] == "trace-42"
    body = await response.get_data(as_text=True)
    assert body.strip() == '{"error":"internal server error"}'
    lines = [line for line in stream.getvalue().splitlines() if "probe" in line]
    assert any("about to fail" in line and "[rid=trace-42]" in line for line in lines)
    assert any(
        "unhandled error on GET /probe/crash" in line and "[rid=trace-42]" in line for line in lines
    )
    assert "RuntimeError: secret internals" in stream.getvalue(), "the traceback goes to the log"


async def test_valid_incoming_request_id_is_echoed(client) -> None:
    response = await client.get("/health/liveness", headers={"X-Request-ID": "abc-123_x.y"})
    assert response.headers["X-Request-ID"] == "abc-123_x.y"


@pytest.mark.parametrize("incoming", ["", "bad id with spaces", "x" * 200, "<script>"])
async def test_invalid_request_id_is_replaced(client, incoming: str) -> None:
    response = await client.get("/health/liveness", headers={"X-Request-ID": incoming})
    generated = response.headers["X-Request-ID"]
    assert generated != incoming
    assert len(generated) == 32
    int(generated, 16)


async def test_each_request_gets_its_own_id_on_errors_too(client) -> None:
    first = await client.get("/admin/missing")
    second = await client.get("/admin/missing")
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]


async def test_dashboard_is_served_with_client_route_fallback(make_app, tmp_path) -> None:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<html>dashboard</html>")
    (dist / "assets" / "app-1234.js").write_text("console.log(1)")
    app = make_app(AGENTED_DASHBOARD_DIR=dist)
    async with app.test_app():
        client = app.test_client()
        for path in ("/", "/bots", "/executions/exe_1"):
            response = await client.get(path)
            assert response.status_code == 200
            assert await response.get_data(as_text=True) == "<html>dashboard</html>"
            assert response.headers["Cache-Control"] == "no-cache"
        asset = await client.get("/assets/app-1234.js")
        assert asset.status_code == 200
        assert "immutable" in asset.headers["Cache-Control"]
        for missing in ("/assets/gone.js", "/admin/nothing", "/api/nothing", "/health/x"):
            response = await client.get(missing)
            assert response.status_code == 404
            assert "error" in await response.get_json()


async def test_root_answers_probes_before_the_dashboard_is_built(make_app, tmp_path) -> None:
    app = make_app(AGENTED_DASHBOARD_DIR=tmp_path / "nothing")
    async with app.test_app():
        response = await app.test_client().get("/")
    assert response.status_code == 200
    assert (await response.get_json())["api_docs"] == "/docs"


DEEP_JSON = b"[" * 100_000 + b"]" * 100_000
NOT_UTF8 = b'{"name": "caf\xe9 \xff\xfe"}'
GITHUB_SECRET = "github-test-secret"


def _github_headers(body: bytes) -> dict[str, str]:
    digest = hmac.new(GITHUB_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return {
        "X-Hub-Signature-256": f"sha256={digest}",
        "X-GitHub-Event": "pull_request",
        "X-GitHub-Delivery": f"delivery-{hashlib.sha256(body).hexdigest()[:12]}",
    }


@pytest.fixture
def github_configured(app_overrides: dict[str, Any]) -> None:
    """The apps this test builds accept GitHub deliveries signed with GITHUB_SECRET."""
    app_overrides["GITHUB_WEBHOOK_SECRET"] = GITHUB_SECRET


@pytest.mark.parametrize(
    ("body", "message"),
    [(DEEP_JSON, "nested too deeply"), (NOT_UTF8, "not valid UTF-8")],
    ids=["nested-100000-deep", "invalid-utf8"],
)
async def test_unreadable_json_bodies_are_400_on_admin_and_webhook_routes(
    github_configured: None, client, monkeypatch: pytest.MonkeyPatch, body: bytes, message: str
) -> None:
    put_fakes_on_path(monkeypatch)
    bot = await make_bot(client, "echo {message}", backend_type="codex", trigger_source="webhook")
    json_type = {"Content-Type": "application/json"}
    routes = {
        BOTS: json_type,
        f"{BOTS}/{bot['id']}": json_type,
        "/": json_type,
        f"/api/webhooks/bots/{bot['id']}": json_type,
        "/api/webhooks/github": {**json_type, **_github_headers(body)},
    }
    for path, headers in routes.items():
        method = client.put if path == f"{BOTS}/{bot['id']}" else client.post
        response = await method(path, data=body, headers=headers)
        assert response.status_code == 400, (path, await response.get_data(as_text=True))
        error = (await response.get_json())["error"]
        expected = message if path.startswith("/admin") else "JSON"  # receivers say less
        assert expected in error, (path, error)


async def test_a_body_that_never_arrives_is_json_408_after_the_body_timeout(make_app) -> None:
    app = make_app(AGENTED_BODY_TIMEOUT_SECONDS=1)
    assert app.config["BODY_TIMEOUT"] == 1
    async with app.test_app():
        connection = app.test_client().request(
            BOTS,
            method="POST",
            headers={"Content-Type": "application/json", "Content-Length": "100"},
        )
        async with asyncio.timeout(30):  # generous: the server gives up after 1 s
            async with connection:
                await connection.send(b'{"name": ')  # ...and never the rest
            response = await connection.as_response()
    assert response.status_code == 408
    assert "error" in await response.get_json()


@pytest.mark.sqlite_only  # fills the disk by capping SQLite's page count
async def test_a_full_disk_answers_writes_with_503_and_fails_readiness(
    serving_app: Quart, monkeypatch: pytest.MonkeyPatch
) -> None:
    put_fakes_on_path(monkeypatch)
    client = serving_app.test_client()
    database = runtime_of(serving_app).database
    pages = await database.write(lambda c: c.execute("PRAGMA page_count").fetchone()[0])
    await database.write(lambda c: c.execute(f"PRAGMA max_page_count = {pages}"))
    bot = {"name": "big", "prompt_template": "x" * 100_000, "backend_type": "codex"}

    refused = await client.post(BOTS, json=bot)
    assert refused.status_code == 503
    assert await refused.get_json() == {"error": "disk full: database or disk is full"}
    readiness = await client.get("/health/readiness")
    assert readiness.status_code == 503
    assert (await readiness.get_json())["error"].startswith("database unavailable: disk full")
    anonymous = await client.get("/health/readiness", headers={"X-API-Key": ""})
    assert anonymous.status_code == 503
    assert (await client.get("/health/liveness")).status_code == 200, "alive, just not ready"

    await database.write(lambda c: c.execute("PRAGMA max_page_count = 1000000"))
    assert (await client.get("/health/readiness")).status_code == 200
    assert (await client.post(BOTS, json=bot)).status_code == 201
