"""The security middleware's checks: one small function per concern, each testable alone.

Every check takes the policy and the screened request and returns a refusal
(`Answer`) or None to let the next check look. `CHECKS` is their order, which
matters: the Host before anything else (DNS rebinding), loopback-only when
authentication is disabled, CORS preflights before credentials (a browser sends
none with them), the webhook rate limit, the API key (or a stream token on SSE
routes and a run's raw log download, checked before any lookup, so a 401 never
reveals whether something exists; on /mcp a run token and no API key, as only a running agent speaks
there) with failed guesses limited per address, and JSON-only bodies last.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs

from ..http.asgi import Headers, Scope
from ..http.paths import opens_with_stream_token
from ..http.state import RequestState
from .policy import SecurityPolicy, host_of, is_loopback
from .routes import RouteKind

CORS_ALLOW_HEADERS = "X-API-Key, Authorization, Content-Type, Last-Event-ID, X-Request-ID"
CORS_ALLOW_METHODS = "GET, POST, PUT, DELETE, OPTIONS"
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
KEYED_KINDS = frozenset({"admin", "stream", "readiness"})
JSON_ONLY = "the request body must be JSON (Content-Type: application/json)"


class Answer:
    """A response the middleware gives itself instead of passing the request on."""

    __slots__ = ("headers", "message", "status")

    def __init__(
        self,
        status: int,
        message: str | None,
        *,
        retry_after: int | None = None,
        bearer: bool = False,
        headers: Headers = (),
    ) -> None:
        self.status = status
        self.message = message
        self.headers = list(headers)
        if retry_after is not None:
            self.headers.append((b"retry-after", str(retry_after).encode()))
        if bearer:
            self.headers.append((b"www-authenticate", b"Bearer"))


@dataclass(slots=True)
class Screening:
    """What the checks know about one request: read once from the scope, passed to each."""

    scope: Scope
    state: RequestState
    method: str
    path: str
    kind: RouteKind
    headers: dict[str, str]
    forwarded_for: list[str]


def read_headers(scope: Scope) -> tuple[dict[str, str], list[str]]:
    """The first value of each header (lower-cased names), and every X-Forwarded-For line."""
    found: dict[str, str] = {}
    forwarded: list[str] = []
    for name, value in scope["headers"]:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        found.setdefault(key, text)
        if key == "x-forwarded-for":
            forwarded.append(text)
    return found, forwarded


def _has_body(headers: dict[str, str]) -> bool:
    return headers.get("content-length", "0") not in {"", "0"} or "transfer-encoding" in headers


def _is_json(headers: dict[str, str]) -> bool:
    """Content-Type is application/json, compared case-insensitively, parameters allowed."""
    media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return media_type == "application/json"


def _presented_key(headers: dict[str, str]) -> str:
    if key := headers.get("x-api-key", ""):
        return key
    scheme, _, credentials = headers.get("authorization", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else ""


def _stream_token(scope: Scope) -> str:
    raw: bytes = scope.get("query_string", b"")
    query = parse_qs(raw.decode("latin-1"))
    return (query.get("token") or [""])[0]


def _client(policy: SecurityPolicy, request: Screening) -> str:
    peer = (request.scope.get("client") or ("unknown", 0))[0]
    return policy.client_address(peer, request.forwarded_for)


def _token_may_open(request: Screening) -> bool:
    """A stream token is looked at only on an SSE stream or a raw log download (a link sends
    no headers either); anywhere else only the API key counts, whatever the token names."""
    return request.kind in {"stream", "admin"} and opens_with_stream_token(request.path)


def _authenticate(policy: SecurityPolicy, request: Screening) -> str | None:
    """The matching key (or a stand-in for a valid stream token or disabled auth), else None."""
    if not policy.auth_enabled:
        return "anonymous"
    presented = _presented_key(request.headers)
    if presented and (key := policy.key_matching(presented)):
        return key
    if _token_may_open(request):
        token = _stream_token(request.scope)
        if token and policy.stream_tokens.allows(token, request.path):
            return "stream-token"
    return None


def _check_run_token(policy: SecurityPolicy, request: Screening) -> Answer | None:
    """/mcp takes a run token as its Bearer, and nothing else: no API key, even with auth off.

    The token names the agent the caller speaks for, so there is no anonymous
    MCP. Whether its run still runs is checked by the MCP route (api/mcp.py).
    """
    presented = _presented_key(request.headers)
    claims = policy.run_tokens.read(presented) if presented else None
    if claims is not None:
        request.state.run = (claims.execution_id, claims.agent_id)
        return None
    if presented and (wait := policy.failure_limit.take(_client(policy, request))):
        return Answer(429, "too many failed authentications", retry_after=wait)
    return Answer(401, "missing or invalid run token", bearer=True)


# The checks, in the order they run. Each returns a refusal, or None to go on.


def check_host(policy: SecurityPolicy, request: Screening) -> Answer | None:
    if host_of(request.headers.get("host", "")) in policy.allowed_hosts:
        return None
    return Answer(400, "this Host is not served here (see AGENTED_ALLOWED_HOSTS)")


def check_loopback_only(policy: SecurityPolicy, request: Screening) -> Answer | None:
    server = request.scope.get("server") or ("", 0)
    if policy.auth_enabled or not server[0] or is_loopback(server[0]):
        return None
    return Answer(403, "authentication is disabled, so only loopback is served")


def check_preflight(policy: SecurityPolicy, request: Screening) -> Answer | None:
    if request.method != "OPTIONS" or "access-control-request-method" not in request.headers:
        return None
    cors = (name == b"access-control-allow-origin" for name, _ in request.state.response_headers)
    if not any(cors):  # the origin is not one CORS_ALLOWED_ORIGINS lets in
        return Answer(403, "origin not allowed")
    return Answer(
        204,
        None,
        headers=(
            (b"access-control-allow-methods", CORS_ALLOW_METHODS.encode()),
            (b"access-control-allow-headers", CORS_ALLOW_HEADERS.encode()),
            (b"access-control-max-age", b"600"),
        ),
    )


def check_webhook_rate(policy: SecurityPolicy, request: Screening) -> Answer | None:
    if request.kind != "webhook":
        return None
    if wait := policy.webhook_limit.take(_client(policy, request)):
        return Answer(429, "too many webhook requests", retry_after=wait)
    return None


def check_credentials(policy: SecurityPolicy, request: Screening) -> Answer | None:
    """A valid key (or stream token) always passes; wrong ones are limited per address.

    The failure limit never blocks a right key: all local clients share one
    address, and one bad script must not lock the dashboard out. Guessing is
    kept out by the keys themselves (256 random bits when generated).
    """
    if request.kind == "mcp":
        return _check_run_token(policy, request)
    if request.kind not in KEYED_KINDS:
        return None
    key = _authenticate(policy, request)
    if key is not None:
        request.state.authenticated = True
        # No keys configured: limited per address.
        bucket = key if policy.auth_enabled else _client(policy, request)
        if request.kind == "admin" and (wait := policy.admin_limit.take(bucket)):
            return Answer(429, "too many requests", retry_after=wait)
        return None
    guessed = bool(_presented_key(request.headers)) or (
        _token_may_open(request) and bool(_stream_token(request.scope))
    )
    if guessed and (wait := policy.failure_limit.take(_client(policy, request))):
        return Answer(429, "too many failed authentications", retry_after=wait)
    if request.kind == "readiness" and not guessed:
        return None  # anonymous readiness: the short answer, no details
    return Answer(401, "missing or invalid API key", bearer=True)


def check_json_body(policy: SecurityPolicy, request: Screening) -> Answer | None:
    """JSON only where a browser could otherwise post a form or text cross-site.

    Webhook receivers take JSON always (a cross-site `text/plain` POST needs no
    preflight, so without this any web page could fire a bot); admin routes
    whenever a state-changing request carries a body.
    """
    if request.method not in STATE_CHANGING or _is_json(request.headers):
        return None
    if request.kind == "webhook" or (request.kind == "admin" and _has_body(request.headers)):
        return Answer(415, JSON_ONLY)
    return None


Check = Callable[[SecurityPolicy, Screening], Answer | None]

CHECKS: tuple[Check, ...] = (
    check_host,
    check_loopback_only,
    check_preflight,
    check_webhook_rate,
    check_credentials,
    check_json_body,
)
