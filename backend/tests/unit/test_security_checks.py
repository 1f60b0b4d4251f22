"""Each security check on its own: a policy and a screened request in, a refusal or None out.

No app, no server: these drive `agented.security.checks` directly, so a change
to one check shows up here by name. The app-level tests in test_security.py
cover the same rules end to end.
"""

from __future__ import annotations

from typing import Any

from agented.http.state import RequestState
from agented.run_tokens import RunTokens
from agented.security.checks import (
    CHECKS,
    JSON_ONLY,
    Answer,
    Screening,
    check_credentials,
    check_host,
    check_json_body,
    check_loopback_only,
    check_preflight,
    check_webhook_rate,
    read_headers,
)
from agented.security.policy import SecurityPolicy
from agented.security.rate_limit import RateLimiter
from agented.security.routes import RouteKind
from agented.security.stream_tokens import StreamTokens

KEY = "a-valid-key-of-16-or-more"
STREAM = "/admin/executions/exe_1/stream"
CORS_ORIGIN = ((b"access-control-allow-origin", b"https://dash.example"),)


def policy(**changes: Any) -> SecurityPolicy:
    """A policy with one key and roomy limits; tests tighten what they exercise."""
    values: dict[str, Any] = {
        "auth_enabled": True,
        "api_keys": (KEY,),
        "key_from_file": False,
        "stream_tokens": StreamTokens("x" * 32, 60),
        "run_tokens": RunTokens("x" * 32),
        "webhook_limit": RateLimiter(100, 60),
        "admin_limit": RateLimiter(100, 60),
        "failure_limit": RateLimiter(100, 60),
        **changes,
    }
    return SecurityPolicy(**values)


def screened(
    method: str = "GET",
    path: str = "/admin/triggers",
    kind: RouteKind = "admin",
    headers: dict[str, str] | None = None,
    *,
    query: bytes = b"",
    server: tuple[str, int] = ("127.0.0.1", 8000),
    response_headers: tuple[tuple[bytes, bytes], ...] = (),
) -> Screening:
    """A request as the middleware hands it to the checks, built from a raw ASGI scope."""
    scope: dict[str, Any] = {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": query,
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
        "server": server,
        "client": ("203.0.113.9", 50000),
    }
    found, forwarded = read_headers(scope)
    state = RequestState("rid", generated_request_id=False, response_headers=response_headers)
    return Screening(scope, state, method, path, kind, found, forwarded)


def refused(answer: Answer | None) -> Answer:
    assert answer is not None, "the check let the request through"
    return answer


def refusal(answer: Answer | None) -> tuple[int, str | None]:
    return refused(answer).status, refused(answer).message


def test_the_checks_run_in_the_documented_order() -> None:
    assert (
        check_host,
        check_loopback_only,
        check_preflight,
        check_webhook_rate,
        check_credentials,
        check_json_body,
    ) == CHECKS


def test_host_check_passes_an_allowed_host_with_a_port_and_refuses_any_other() -> None:
    assert check_host(policy(), screened(headers={"Host": "localhost:8000"})) is None
    status, message = refusal(check_host(policy(), screened(headers={"Host": "evil.example"})))
    assert status == 400
    assert message == "this Host is not served here (see AGENTED_ALLOWED_HOSTS)"
    assert check_host(policy(), screened()) is not None  # no Host at all


def test_loopback_check_refuses_other_addresses_only_when_authentication_is_off() -> None:
    public = ("192.0.2.1", 8000)
    assert check_loopback_only(policy(), screened(server=public)) is None
    open_policy = policy(auth_enabled=False)
    assert check_loopback_only(open_policy, screened(server=("127.0.0.1", 8000))) is None
    assert refusal(check_loopback_only(open_policy, screened(server=public))) == (
        403,
        "authentication is disabled, so only loopback is served",
    )


def test_preflight_check_answers_allowed_origins_and_refuses_the_rest() -> None:
    preflight = {"Access-Control-Request-Method": "POST"}
    allowed = refused(
        check_preflight(
            policy(), screened("OPTIONS", headers=preflight, response_headers=CORS_ORIGIN)
        )
    )
    assert (allowed.status, allowed.message) == (204, None)  # answered here: an empty 204
    assert (b"access-control-max-age", b"600") in allowed.headers
    assert refusal(check_preflight(policy(), screened("OPTIONS", headers=preflight))) == (
        403,
        "origin not allowed",
    )
    assert check_preflight(policy(), screened("OPTIONS")) is None  # not a CORS preflight


def test_webhook_rate_check_limits_webhooks_per_client_and_ignores_other_routes() -> None:
    limited = policy(webhook_limit=RateLimiter(1, 60))
    webhook = screened("POST", "/", "webhook")
    assert check_webhook_rate(limited, webhook) is None
    answer = check_webhook_rate(limited, webhook)
    assert refusal(answer) == (429, "too many webhook requests")
    assert (b"retry-after", b"60") in refused(answer).headers
    assert check_webhook_rate(limited, screened()) is None  # admin routes: not this limit


def test_credentials_check_passes_a_valid_key_and_marks_the_request_authenticated() -> None:
    for headers in ({"X-API-Key": KEY}, {"Authorization": f"Bearer {KEY}"}):
        request = screened(headers=headers)
        assert check_credentials(policy(), request) is None
        assert request.state.authenticated


def test_credentials_check_refuses_a_missing_or_wrong_key_with_a_bearer_challenge() -> None:
    for headers in ({}, {"X-API-Key": "wrong"}):
        request = screened(headers=headers)
        answer = check_credentials(policy(), request)
        assert refusal(answer) == (401, "missing or invalid API key")
        assert (b"www-authenticate", b"Bearer") in refused(answer).headers
        assert not request.state.authenticated


def test_credentials_check_limits_wrong_keys_but_never_a_right_one() -> None:
    limited = policy(failure_limit=RateLimiter(1, 60))
    wrong = {"X-API-Key": "wrong"}
    assert refused(check_credentials(limited, screened(headers=wrong))).status == 401
    assert refusal(check_credentials(limited, screened(headers=wrong))) == (
        429,
        "too many failed authentications",
    )
    assert check_credentials(limited, screened(headers={"X-API-Key": KEY})) is None


def test_credentials_check_accepts_a_stream_token_only_for_its_own_stream() -> None:
    tokens = StreamTokens("y" * 32, 60)
    token, _ = tokens.issue(STREAM)
    keyed = policy(stream_tokens=tokens)
    query = f"token={token}".encode()
    assert check_credentials(keyed, screened(path=STREAM, kind="stream", query=query)) is None
    other = screened(path="/admin/executions/exe_2/stream", kind="stream", query=query)
    assert refused(check_credentials(keyed, other)).status == 401
    # A token is no key: on an admin route it opens nothing.
    assert refused(check_credentials(keyed, screened(query=query))).status == 401


def test_credentials_check_lets_anonymous_readiness_and_public_routes_through() -> None:
    assert check_credentials(policy(), screened(path="/health/readiness", kind="readiness")) is None
    assert check_credentials(policy(), screened(path="/", kind="webhook")) is None
    assert check_credentials(policy(), screened(path="/docs", kind="public")) is None
    guessed = screened(path="/health/readiness", kind="readiness", headers={"X-API-Key": "no"})
    assert refused(check_credentials(policy(), guessed)).status == 401


def test_json_body_check_wants_json_on_webhooks_and_on_admin_writes_with_a_body() -> None:
    text = {"Content-Type": "text/plain", "Content-Length": "2"}
    assert refusal(check_json_body(policy(), screened("POST", "/", "webhook", text))) == (
        415,
        JSON_ONLY,
    )
    assert refused(check_json_body(policy(), screened("PUT", headers=text))).status == 415
    json_body = {"Content-Type": "Application/JSON; charset=utf-8", "Content-Length": "2"}
    assert check_json_body(policy(), screened("POST", headers=json_body)) is None
    assert check_json_body(policy(), screened("DELETE")) is None  # no body, nothing to check
    assert check_json_body(policy(), screened("GET", headers=text)) is None


# /mcp: the run token, and nothing else


def test_mcp_takes_a_valid_run_token_and_records_which_run_it_speaks_for() -> None:
    token = RunTokens("x" * 32).issue("exe_1", "agt_1")
    request = screened("POST", "/mcp", "mcp", {"Authorization": f"Bearer {token}"})
    assert check_credentials(policy(), request) is None
    assert request.state.run == ("exe_1", "agt_1")


def test_mcp_refuses_no_token_an_api_key_a_forged_token_even_with_authentication_off() -> None:
    forged = RunTokens("y" * 32).issue("exe_1", "agt_1")
    for headers in ({}, {"X-API-Key": KEY}, {"Authorization": f"Bearer {KEY}"}):
        answer = refused(check_credentials(policy(), screened("POST", "/mcp", "mcp", headers)))
        assert (answer.status, answer.message) == (401, "missing or invalid run token")
        assert (b"www-authenticate", b"Bearer") in answer.headers
    bearer = {"Authorization": f"Bearer {forged}"}
    for auth in (True, False):
        answer = check_credentials(
            policy(auth_enabled=auth), screened("POST", "/mcp", "mcp", bearer)
        )
        assert refusal(answer) == (401, "missing or invalid run token")


def test_mcp_token_guesses_count_as_failed_authentications() -> None:
    strict = policy(failure_limit=RateLimiter(1, 60))
    guess = screened("POST", "/mcp", "mcp", {"Authorization": "Bearer exe_1.agt_1.00"})
    assert refusal(check_credentials(strict, guess))[0] == 401
    assert refusal(check_credentials(strict, guess))[0] == 429
