"""One ASGI layer in front of everything (Quart and the raw SSE routes) that enforces the policy.

It reads like Hypercorn's own middlewares: a request is screened by an ordered
list of small checks (`CHECKS`), the first that refuses answers with a JSON
error, and security headers go on every response. In order: a canonical request
target (so the checks and the router see one path), the Host (DNS rebinding),
loopback-only when authentication is disabled, CORS preflights, the webhook rate
limit, the API key (or a stream token on SSE routes, checked before any lookup,
so a 401 never reveals whether something exists) with failed guesses limited per
address, and JSON-only bodies. Which routes are public is decided by
`routes.RouteTable` on the endpoint the router will dispatch to: deny by default.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from ..http.asgi import ASGIApp, Headers
from ..http.request_id import choose_request_id
from ..http.responses import send_json
from ..http.state import STATE_KEY, RequestState
from .policy import SecurityPolicy, host_of, is_loopback
from .routes import RouteKind, RouteTable, canonical_path_problem

BASE_CSP = (
    "default-src 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'; "
    "form-action 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'"
)
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

    scope: dict[str, Any]
    state: RequestState
    method: str
    path: str
    kind: RouteKind
    headers: dict[str, str]
    forwarded_for: list[str]
    response_headers: Headers


def _read_headers(scope: dict[str, Any]) -> tuple[dict[str, str], list[str]]:
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


def _stream_token(scope: dict[str, Any]) -> str:
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return (query.get("token") or [""])[0]


class SecurityMiddleware:
    def __init__(self, inner: ASGIApp, policy: SecurityPolicy, routes: RouteTable) -> None:
        self._inner = inner
        self.policy = policy
        self._routes = routes
        hsts = (
            ((b"strict-transport-security", b"max-age=63072000; includeSubDomains"),)
            if policy.force_https
            else ()
        )
        self._headers: Headers = (
            (b"content-security-policy", BASE_CSP.encode()),
            (b"x-frame-options", b"DENY"),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            *hsts,
        )
        self._checks: tuple[Callable[[Screening], Answer | None], ...] = (
            self._check_host,
            self._check_loopback_only,
            self._check_preflight,
            self._check_webhook_rate,
            self._check_credentials,
            self._check_json_body,
        )

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self._inner(scope, receive, send)
            return
        # The checks run in a plain function, so nothing they looked at stays alive for as
        # long as a (possibly hours-long) stream does.
        request_id, extra, kind, answer = self._screen(scope)
        if answer is not None:
            await self._answer(send, request_id, extra, answer)
            return
        if kind == "stream":
            # Streams add the headers themselves: no extra call on every chunk they write.
            await self._inner(scope, receive, send)
            return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        await self._inner(scope, receive, send_with_headers)

    def _screen(self, scope: dict[str, Any]) -> tuple[str, Headers, RouteKind, Answer | None]:
        """The request id, the response headers, the route's kind, and a refusal if any."""
        headers, forwarded_for = _read_headers(scope)
        request_id = choose_request_id(headers.get("x-request-id", ""))
        state = RequestState(request_id, request_id != headers.get("x-request-id"))
        scope[STATE_KEY] = state
        scope["headers"] = [
            *(h for h in scope["headers"] if h[0].lower() != b"x-request-id"),
            (b"x-request-id", request_id.encode()),
        ]
        if problem := canonical_path_problem(scope):
            return request_id, self._headers, "admin", Answer(400, problem)
        method, path = scope["method"], scope["path"]
        kind = self._routes.kind(method, path, scope.get("root_path", ""))
        extra = state.response_headers = self._response_headers(kind, headers.get("origin", ""))
        screening = Screening(scope, state, method, path, kind, headers, forwarded_for, extra)
        for check in self._checks:
            if (answer := check(screening)) is not None:
                return request_id, extra, kind, answer
        return request_id, extra, kind, None

    # The checks, in the order they run. Each returns a refusal, or None to go on.

    def _check_host(self, request: Screening) -> Answer | None:
        if host_of(request.headers.get("host", "")) in self.policy.allowed_hosts:
            return None
        return Answer(400, "this Host is not served here (see AGENTED_ALLOWED_HOSTS)")

    def _check_loopback_only(self, request: Screening) -> Answer | None:
        server = request.scope.get("server") or ("", 0)
        if self.policy.auth_enabled or not server[0] or is_loopback(server[0]):
            return None
        return Answer(403, "authentication is disabled, so only loopback is served")

    def _check_preflight(self, request: Screening) -> Answer | None:
        if request.method != "OPTIONS" or "access-control-request-method" not in request.headers:
            return None
        if not any(name == b"access-control-allow-origin" for name, _ in request.response_headers):
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

    def _check_webhook_rate(self, request: Screening) -> Answer | None:
        if request.kind != "webhook":
            return None
        if wait := self.policy.webhook_limit.take(self._client(request)):
            return Answer(429, "too many webhook requests", retry_after=wait)
        return None

    def _check_credentials(self, request: Screening) -> Answer | None:
        """A valid key (or stream token) always passes; wrong ones are limited per address.

        The failure limit never blocks a right key: all local clients share one
        address, and one bad script must not lock the dashboard out. Guessing is
        kept out by the keys themselves (256 random bits when generated).
        """
        if request.kind not in KEYED_KINDS:
            return None
        policy = self.policy
        key = self._authenticate(request)
        if key is not None:
            request.state.authenticated = True
            bucket = key if policy.auth_enabled else self._client(request)  # no keys: per address
            if request.kind == "admin" and (wait := policy.admin_limit.take(bucket)):
                return Answer(429, "too many requests", retry_after=wait)
            return None
        guessed = bool(_presented_key(request.headers)) or (
            request.kind == "stream" and bool(_stream_token(request.scope))
        )
        if guessed and (wait := policy.failure_limit.take(self._client(request))):
            return Answer(429, "too many failed authentications", retry_after=wait)
        if request.kind == "readiness" and not guessed:
            return None  # anonymous readiness: the short answer, no details
        return Answer(401, "missing or invalid API key", bearer=True)

    def _check_json_body(self, request: Screening) -> Answer | None:
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

    def _client(self, request: Screening) -> str:
        peer = (request.scope.get("client") or ("unknown", 0))[0]
        return self.policy.client_address(peer, request.forwarded_for)

    def _authenticate(self, request: Screening) -> str | None:
        """The matching key (or a stand-in for a valid stream token or disabled auth), else None."""
        policy = self.policy
        if not policy.auth_enabled:
            return "anonymous"
        presented = _presented_key(request.headers)
        if presented and (key := policy.key_matching(presented)):
            return key
        if request.kind == "stream":
            token = _stream_token(request.scope)
            if token and policy.stream_tokens.allows(token, request.path):
                return "stream-token"
        return None

    def _response_headers(self, kind: RouteKind, origin: str) -> Headers:
        """The security headers (shared, built once) plus CORS headers for allowed origins."""
        if not (origin and kind in KEYED_KINDS and origin in self.policy.cors_origins):
            return self._headers
        return (
            *self._headers,
            (b"access-control-allow-origin", origin.encode()),
            (b"access-control-expose-headers", b"X-Request-ID"),
            (b"vary", b"Origin"),
        )

    @staticmethod
    async def _answer(send: Any, request_id: str, extra: Headers, answer: Answer) -> None:
        if answer.message is None:  # an accepted CORS preflight
            headers = [*extra, *answer.headers, (b"x-request-id", request_id.encode())]
            await send({"type": "http.response.start", "status": answer.status, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        await send_json(
            send,
            answer.status,
            {"error": answer.message},
            request_id,
            extra=[*extra, *answer.headers],
        )
