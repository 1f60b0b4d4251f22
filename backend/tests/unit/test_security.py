"""Closed by default: keys, stream tokens, hosts, CORS, headers, rate limits, secrets at rest."""

from __future__ import annotations

import asyncio
import json
import re
import stat
from pathlib import Path

import pytest
from quart.testing.app import LifespanError

from agented.console import show
from agented.listeners import Listener
from agented.rekey import main as rekey_main
from agented.security.policy import SecurityPolicy, host_of
from agented.security.startup import AuthDisabledRefused, on_serving
from agented.security.stream_tokens import StreamTokens

from ..support.bots import BOTS, make_bot, put_fakes_on_path
from ..support.keys import TEST_API_KEY
from ..support.storage import use_the_apps_database

NO_KEY = {"X-API-Key": ""}
STREAM = "/admin/executions/exe_none/stream"


@pytest.fixture(autouse=True)
def fake_clis_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    put_fakes_on_path(monkeypatch)


async def test_a_fresh_server_generates_a_key_refuses_without_it_and_keeps_it(
    make_app, tmp_path: Path
) -> None:
    key_file = tmp_path / "api.key"
    app = make_app(AGENTED_API_KEY=(), AGENTED_API_KEY_FILE=key_file)
    generated = key_file.read_text().strip()
    assert len(generated) == 64
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    async with app.test_app():
        client = app.test_client()
        refused = await client.get(BOTS, headers=NO_KEY)
        assert refused.status_code == 401
        assert refused.headers["WWW-Authenticate"] == "Bearer"
        assert await refused.get_json() == {"error": "missing or invalid API key"}
        assert (await client.get(BOTS, headers={"X-API-Key": generated})).status_code == 200
        bearer = await client.get(BOTS, headers={"Authorization": f"Bearer {generated}"})
        assert bearer.status_code == 200
    again = make_app(AGENTED_API_KEY=(), AGENTED_API_KEY_FILE=key_file)
    async with again.test_app():
        response = await again.test_client().get(BOTS, headers={"X-API-Key": generated})
        assert response.status_code == 200


async def test_several_keys_allow_rotation(make_app) -> None:
    app = make_app(AGENTED_API_KEY=("new-key-1234", "old-key-5678"))
    async with app.test_app():
        client = app.test_client()
        for key in ("new-key-1234", "old-key-5678"):
            assert (await client.get(BOTS, headers={"X-API-Key": key})).status_code == 200
        assert (await client.get(BOTS, headers={"X-API-Key": "new-key-123"})).status_code == 401


async def test_failed_authentications_are_rate_limited_per_address(make_app) -> None:
    app = make_app(AGENTED_RATE_LIMIT_AUTH_FAILURES=(3, 60))
    async with app.test_app():
        client = app.test_client()
        for _ in range(3):
            assert (await client.get(BOTS, headers={"X-API-Key": "guess"})).status_code == 401
        blocked = await client.get(BOTS, headers={"X-API-Key": "guess"})
        assert blocked.status_code == 429
        assert int(blocked.headers["Retry-After"]) > 0
        assert await blocked.get_json() == {"error": "too many failed authentications"}
        token = await client.get(f"{STREAM}?token=forged", headers=NO_KEY)
        assert token.status_code == 429, "forged stream tokens count as guesses too"
        elsewhere = await client.get(
            BOTS, headers={"X-API-Key": "guess"}, scope_base={"client": ("192.0.2.9", 1)}
        )
        assert elsewhere.status_code == 401, "another address is not limited"


async def test_a_valid_key_always_passes_even_from_a_locked_out_address(make_app) -> None:
    app = make_app(AGENTED_RATE_LIMIT_AUTH_FAILURES=(2, 60))
    async with app.test_app():
        client = app.test_client()
        for _ in range(3):
            await client.get(BOTS, headers={"X-API-Key": "guess"})
        assert (await client.get(BOTS, headers={"X-API-Key": "guess"})).status_code == 429
        assert (await client.get(BOTS)).status_code == 200, "the dashboard is not locked out"
        assert (await client.get("/health/readiness")).status_code == 200
        path = f"{STREAM}"
        issued = await client.post("/admin/stream-tokens", json={"path": path})
        token = (await issued.get_json())["token"]
        assert await stream_status(client, f"{path}?token={token}", NO_KEY) == 404, "token ok"


async def test_readiness_counts_wrong_keys_like_every_route(make_app) -> None:
    app = make_app(AGENTED_RATE_LIMIT_AUTH_FAILURES=(2, 60))
    async with app.test_app():
        client = app.test_client()
        statuses = [
            (await client.get("/health/readiness", headers={"X-API-Key": "guess"})).status_code
            for _ in range(3)
        ]
        assert statuses == [401, 401, 429], "a wrong key is refused, not answered in short"
        anonymous = await client.get("/health/readiness", headers=NO_KEY)
        assert anonymous.status_code == 200, "no key at all is not a guess"
        assert set(await anonymous.get_json()) == {"status", "timestamp"}


async def test_requests_without_a_key_are_not_counted_as_guesses(make_app) -> None:
    app = make_app(AGENTED_RATE_LIMIT_AUTH_FAILURES=(2, 60))
    async with app.test_app():
        client = app.test_client()
        for _ in range(5):
            assert (await client.get(BOTS, headers=NO_KEY)).status_code == 401
        assert (await client.get(BOTS)).status_code == 200
        assert (await client.get("/health/liveness")).status_code == 200, "health never starved"


async def test_admin_requests_are_rate_limited_per_key(make_app) -> None:
    app = make_app(AGENTED_RATE_LIMIT_ADMIN=(2, 60))
    async with app.test_app():
        client = app.test_client()
        statuses = [(await client.get(BOTS)).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/health/liveness"),
        ("GET", "/"),
        ("GET", "/bots"),
        ("GET", "/openapi.json"),
        ("GET", "/docs"),
    ],
)
async def test_public_routes_need_no_key(client, method: str, path: str) -> None:
    response = await client.open(path, method=method, headers=NO_KEY)
    assert response.status_code == 200


async def test_webhook_receivers_need_no_key(client) -> None:
    response = await client.post("/", json={"text": "hi"}, headers=NO_KEY)
    assert response.status_code == 200
    github = await client.post("/api/webhooks/github", json={}, headers=NO_KEY)
    assert github.status_code == 401
    assert "GITHUB_WEBHOOK_SECRET" in (await github.get_json())["error"], "its own check, not ours"


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""],
)
@pytest.mark.parametrize("path", ["/", "/api/webhooks/bots/bot_x", "/api/webhooks/github"])
async def test_webhook_receivers_take_only_json(client, path: str, content_type: str) -> None:
    headers = {**NO_KEY, "Content-Type": content_type} if content_type else NO_KEY
    response = await client.post(path, data='{"text": "from a web page"}', headers=headers)
    assert response.status_code == 415
    assert "application/json" in (await response.get_json())["error"]
    executions = await client.get("/admin/executions")
    assert (await executions.get_json())["executions"] == [], "nothing fired"


@pytest.mark.parametrize(
    "content_type", ["application/json", "Application/JSON", "application/json; charset=utf-8"]
)
async def test_json_media_types_are_compared_case_insensitively(client, content_type) -> None:
    headers = {**NO_KEY, "Content-Type": content_type}
    assert (await client.post("/", data='{"text": "hi"}', headers=headers)).status_code == 200
    created = await client.post(
        BOTS,
        data=json.dumps({"name": "x", "prompt_template": "y"}),
        headers={"Content-Type": content_type},
    )
    assert created.status_code == 201


async def test_readiness_shows_details_only_with_a_key(client) -> None:
    anonymous = await client.get("/health/readiness", headers=NO_KEY)
    assert anonymous.status_code == 200
    assert set(await anonymous.get_json()) == {"status", "timestamp"}
    keyed = await client.get("/health/readiness")
    assert {"status", "database", "version", "timestamp"} <= set(await keyed.get_json())


async def stream_status(client, path: str, headers: dict[str, str] | None = None) -> int:
    async with client.request(path, headers=headers or {}) as connection:
        await connection.send_complete()
        await connection.receive()
        await connection.disconnect()
    return connection.status_code


async def test_streams_need_a_key_or_a_token_checked_before_any_lookup(client) -> None:
    assert await stream_status(client, "/admin/executions/exe_none/stream", NO_KEY) == 401
    assert await stream_status(client, "/admin/executions/exe_none/stream") == 404


async def test_stream_tokens_open_exactly_one_stream(client) -> None:
    bot = await make_bot(client, "fake: exit 0", backend_type="codex")
    execution_id = (await (await client.post(f"{BOTS}/{bot['id']}/run", json={})).get_json())[
        "execution_id"
    ]
    path = f"/admin/executions/{execution_id}/stream"
    issued = await client.post("/admin/stream-tokens", json={"path": path})
    assert issued.status_code == 200
    token = (await issued.get_json())["token"]
    assert await stream_status(client, f"{path}?token={token}", NO_KEY) == 200
    other = "/admin/executions/exe_other/stream"
    assert await stream_status(client, f"{other}?token={token}", NO_KEY) == 401
    tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    assert await stream_status(client, f"{path}?token={tampered}", NO_KEY) == 401
    assert (await client.get(f"{BOTS}?token={token}", headers=NO_KEY)).status_code == 401
    refused = await client.post("/admin/stream-tokens", json={"path": path}, headers=NO_KEY)
    assert refused.status_code == 401
    bad = await client.post("/admin/stream-tokens", json={"path": "/admin/triggers"})
    assert bad.status_code == 400


def test_stream_tokens_expire_and_carry_their_scope() -> None:
    tokens = StreamTokens("secret", lifetime_seconds=60)
    token, expires = tokens.issue("/admin/executions/x/stream", now=1000)
    assert expires == 1060
    assert tokens.allows(token, "/admin/executions/x/stream", now=1059)
    assert not tokens.allows(token, "/admin/executions/x/stream", now=1060)
    assert not StreamTokens("other", 60).allows(token, "/admin/executions/x/stream", now=1001)
    assert not tokens.allows("garbage", "/admin/executions/x/stream", now=1001)


@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("localhost", 200),
        ("127.0.0.1:20000", 200),
        ("[::1]:20000", 200),
        ("agented.example.com", 200),
        ("evil.example", 400),
        ("127.0.0.1.evil.example", 400),
        ("", 400),
        ("[::1]junk", 400),
        ("[::1]:20000junk", 400),
        ("[::1].evil.example", 400),
        ("localhost:http", 400),
        ("localhost:20000:1", 400),
        ("local host", 400),
        ("localhost\\@evil.example", 400),
    ],
)
async def test_only_allowed_hosts_are_served(make_app, host: str, status: int) -> None:
    app = make_app(AGENTED_ALLOWED_HOSTS=("agented.example.com",))
    async with app.test_app():
        response = await app.test_client().get("/health/liveness", headers={"Host": host})
    assert response.status_code == status
    if status == 400:
        assert "Host" in (await response.get_json())["error"]


async def test_the_public_urls_host_is_served_as_the_servers_own(make_app) -> None:
    app = make_app(AGENTED_PUBLIC_URL="https://Agented.Internal:8443/prefix")
    async with app.test_app():
        client = app.test_client()
        ok = await client.get("/health/liveness", headers={"Host": "agented.internal:8443"})
        other = await client.get("/health/liveness", headers={"Host": "other.internal"})
    assert (ok.status_code, other.status_code) == (200, 400)


def test_host_of_strips_ports_and_brackets() -> None:
    assert host_of("Example.COM:8080") == "example.com"
    assert host_of("[::1]:20000") == "::1"
    assert host_of("::1") == "::1"
    assert host_of("[::1]") == "::1"


@pytest.mark.parametrize(
    "header", ["[::1]junk", "[::1", "[127.0.0.1]", "a b", "x:", "x:99999999", ":80", "::zz"]
)
def test_host_of_refuses_what_is_not_a_host(header: str) -> None:
    assert host_of(header) is None


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
async def test_state_changing_admin_routes_take_only_json(client, content_type: str) -> None:
    body = json.dumps({"name": "x", "prompt_template": "y"})
    response = await client.post(BOTS, data=body, headers={"Content-Type": content_type})
    assert response.status_code == 415
    assert (await (await client.get(BOTS)).get_json())["triggers"] == []


async def test_cors_is_fail_closed(make_app) -> None:
    app = make_app(CORS_ALLOWED_ORIGINS=("https://ui.example",))
    async with app.test_app():
        client = app.test_client()
        allowed = await client.get(BOTS, headers={"Origin": "https://ui.example"})
        assert allowed.headers["Access-Control-Allow-Origin"] == "https://ui.example"
        foreign = await client.get(BOTS, headers={"Origin": "https://evil.example"})
        assert "Access-Control-Allow-Origin" not in foreign.headers
        preflight_headers = {
            "Origin": "https://ui.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "X-API-Key, Content-Type",
            "X-API-Key": "",
        }
        preflight = await client.options(BOTS, headers=preflight_headers)
        assert preflight.status_code == 204
        assert "X-API-Key" in preflight.headers["Access-Control-Allow-Headers"]
        assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
        refused = await client.options(
            BOTS, headers={**preflight_headers, "Origin": "https://evil.example"}
        )
        assert refused.status_code == 403
        assert "Access-Control-Allow-Origin" not in refused.headers


async def test_security_headers_on_every_kind_of_response(client) -> None:
    responses = [
        await client.get(BOTS),
        await client.get("/admin/nothing"),
        await client.get(BOTS, headers=NO_KEY),
        await client.get("/"),
        await client.get("/health/liveness"),
    ]
    for response in responses:
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
        assert "Strict-Transport-Security" not in response.headers
    docs = await client.get("/docs")
    assert (
        docs.headers["Content-Security-Policy"] == responses[0].headers["Content-Security-Policy"]
    ), "the docs page gets the same strict policy: no CDN, no inline script"


async def test_docs_are_served_from_an_installed_package_with_no_third_party_origin(
    client,
) -> None:
    page = await client.get("/docs", headers=NO_KEY)
    assert page.status_code == 200
    html = (await page.get_data()).decode()
    assert "http" not in html.replace('<html lang="en">', ""), "no absolute URL: same origin only"
    assert "<script>" not in html, "no inline script"
    for asset in re.findall(r'(?:src|href)="(/docs/assets/[^"]+)"', html):
        response = await client.get(asset, headers=NO_KEY)
        assert response.status_code == 200, asset
        assert len(await response.get_data()) > 0
    bundle = await client.get("/docs/assets/swagger-ui-bundle.js", headers=NO_KEY)
    assert b"SwaggerUIBundle" in await bundle.get_data()
    assert (await client.get("/docs/assets/..%2Fdocs.py", headers=NO_KEY)).status_code == 400
    assert (await client.get("/docs/assets/index.css", headers=NO_KEY)).status_code == 404


async def test_hsts_when_https_is_forced(make_app) -> None:
    app = make_app(FORCE_HTTPS=True)
    async with app.test_app():
        response = await app.test_client().get("/health/liveness")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


async def test_webhooks_are_rate_limited_per_client_ip(make_app) -> None:
    app = make_app(AGENTED_RATE_LIMIT_WEBHOOKS=(2, 60), AGENTED_TRUSTED_PROXIES=())
    async with app.test_app():
        client = app.test_client()
        peer = {"client": ("203.0.113.5", 5000)}
        statuses = [
            (await client.post("/", json={"n": n}, scope_base=peer)).status_code for n in range(3)
        ]
        assert statuses == [200, 200, 429]
        spoofed = await client.post(
            "/", json={"n": 9}, headers={"X-Forwarded-For": "198.51.100.1"}, scope_base=peer
        )
        assert spoofed.status_code == 429, "X-Forwarded-For from an untrusted peer is ignored"
        other = await client.post("/", json={"n": 10}, scope_base={"client": ("203.0.113.6", 1)})
        assert other.status_code == 200


async def test_forwarded_for_is_honoured_from_trusted_proxies(make_app) -> None:
    from ipaddress import ip_network

    app = make_app(
        AGENTED_RATE_LIMIT_WEBHOOKS=(1, 60), AGENTED_TRUSTED_PROXIES=(ip_network("10.0.0.0/8"),)
    )
    async with app.test_app():
        client = app.test_client()
        proxy = {"client": ("10.1.2.3", 443)}
        for address, expected in (
            ("198.51.100.1", 200),
            ("198.51.100.2", 200),
            ("198.51.100.1", 429),
        ):
            response = await client.post(
                "/",
                json={"a": address, "e": expected},
                headers={"X-Forwarded-For": f"{address}, 10.9.9.9"},
                scope_base=proxy,
            )
            assert response.status_code == expected


async def test_a_client_cannot_pick_its_address_with_its_own_forwarded_for_line(make_app) -> None:
    from ipaddress import ip_network

    app = make_app(
        AGENTED_RATE_LIMIT_WEBHOOKS=(1, 60), AGENTED_TRUSTED_PROXIES=(ip_network("127.0.0.1"),)
    )
    async with app.test_app():
        client = app.test_client()
        for forged in ("198.51.100.1", "198.51.100.2", "garbage, 198.51.100.3"):
            # The client's own line comes first; the proxy appends the real address after it.
            headers = [("X-Forwarded-For", forged), ("X-Forwarded-For", "203.0.113.7")]
            response = await client.post("/", json={"forged": forged}, headers=headers)
            expected = 200 if forged == "198.51.100.1" else 429
            assert response.status_code == expected, forged
        policy = app.extensions["agented.security"]
        assert policy.client_address("127.0.0.1", ["1.1.1.1, 203.0.113.7:4711"]) == "203.0.113.7"
        assert policy.client_address("127.0.0.1", ["1.1.1.1, forged, 127.0.0.1"]) == "127.0.0.1"
        assert policy.client_address("127.0.0.1", ["[2001:db8::1]:80"]) == "2001:db8::1"
        assert policy.client_address("203.0.113.9", ["1.1.1.1"]) == "203.0.113.9"


async def test_disabled_auth_opens_the_api_on_loopback_only(make_app) -> None:
    app = make_app(AGENTED_AUTH="disabled", AGENTED_API_KEY=())
    async with app.test_app():
        client = app.test_client()
        assert (await client.get(BOTS, headers=NO_KEY)).status_code == 200
        remote = await client.get(BOTS, headers=NO_KEY, scope_base={"server": ("192.0.2.1", 80)})
        assert remote.status_code == 403


def _policy(make_app, **overrides) -> SecurityPolicy:
    return make_app(**overrides).extensions["agented.security"]


def test_disabled_auth_is_refused_when_listening_beyond_loopback(
    make_app, caplog: pytest.LogCaptureFixture
) -> None:
    policy = _policy(make_app, AGENTED_AUTH="disabled", AGENTED_API_KEY=())
    with pytest.raises(AuthDisabledRefused, match=r"0\.0\.0\.0:20000"):
        on_serving(policy, [Listener("127.0.0.1", 20000), Listener("0.0.0.0", 20000)])
    on_serving(policy, [Listener("127.0.0.1", 20000), Listener("::1", 20000)])
    assert "AUTHENTICATION IS DISABLED" in caplog.text


def test_the_sign_in_url_is_printed_for_a_generated_key(
    make_app, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = _policy(make_app, AGENTED_API_KEY=(), AGENTED_API_KEY_FILE=tmp_path / "k")
    key = (tmp_path / "k").read_text().strip()
    show(on_serving(policy, [Listener("127.0.0.1", 20000), Listener("0.0.0.0", 8080)]) or "")
    printed = capsys.readouterr().err
    assert f"http://127.0.0.1:20000/?token={key}" in printed
    assert f"http://127.0.0.1:8080/?token={key}" in printed
    assert on_serving(_policy(make_app), [Listener("127.0.0.1", 20000)]) is None
    assert TEST_API_KEY not in capsys.readouterr().err, "a key from the environment is not echoed"
    for_collectors = on_serving(policy, [Listener("127.0.0.1", 20000)], "json") or ""
    assert key not in for_collectors, "JSON logs go to collectors: no key in them"
    assert json.loads(for_collectors)["message"].endswith("--sign-in-url` prints the link")


async def test_a_changed_secret_key_stops_startup_until_secrets_are_rekeyed(
    make_app, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, app_overrides
) -> None:
    first = make_app(SECRET_KEY="old-secret-key")
    async with first.test_app():
        await make_bot(
            first.test_client(),
            "x",
            backend_type="codex",
            trigger_source="webhook",
            webhook_secret="hook-secret-1",
        )
    with pytest.raises(LifespanError, match="cannot be decrypted with the current SECRET_KEY"):
        async with make_app(SECRET_KEY="new-secret-key").test_app():
            pass

    old_key_file = tmp_path / "old.key"
    old_key_file.write_text("old-secret-key\n")
    monkeypatch.setenv("AGENTED_ENV_FILE", str(tmp_path / "none.env"))
    use_the_apps_database(monkeypatch, app_overrides)
    monkeypatch.setenv("SECRET_KEY", "new-secret-key")
    # A command-line program: it runs its own event loop, so not on the test's.
    assert await asyncio.to_thread(rekey_main, ["--old-key-file", str(old_key_file)]) == 0
    twice = await asyncio.to_thread(rekey_main, ["--old-key-file", str(old_key_file)])
    assert twice == 0, "running it twice is harmless"

    rekeyed = make_app(SECRET_KEY="new-secret-key")
    async with rekeyed.test_app():
        client = rekeyed.test_client()
        import hashlib
        import hmac

        body = b'{"text": "still signed"}'
        signature = hmac.new(b"hook-secret-1", body, hashlib.sha256).hexdigest()
        response = await client.post(
            "/",
            data=body,
            headers={
                "X-Webhook-Signature-256": f"sha256={signature}",
                "Content-Type": "application/json",
            },
        )
        assert response.status_code == 202


async def test_rekey_refuses_while_a_server_holds_the_database(
    serving_app, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, app_overrides, capsys
) -> None:
    (tmp_path / "old.key").write_text("k")
    use_the_apps_database(monkeypatch, app_overrides)
    monkeypatch.setenv("SECRET_KEY", "new")
    monkeypatch.setenv("AGENTED_ENV_FILE", str(tmp_path / "none.env"))
    assert await asyncio.to_thread(rekey_main, ["--old-key-file", str(tmp_path / "old.key")]) == 1
    assert "already served" in capsys.readouterr().err
