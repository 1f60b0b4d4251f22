"""One ASGI layer in front of everything (Quart and the raw SSE routes) that enforces the policy.

In order: a request id; the Host check (DNS rebinding); loopback-only when
authentication is disabled; CORS preflights; rate limits; the API key (or a
stream token on SSE routes, checked before any lookup, so a 401 never reveals
whether something exists); JSON-only bodies on state-changing API routes; and
security headers on every response.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

from ..api.request_id import choose_request_id
from ..events.sse import send_json
from .policy import STREAM_PATH, SecurityPolicy, classify, host_of, is_loopback

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]
Headers = tuple[tuple[bytes, bytes], ...]

BASE_CSP = (
    "default-src 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'; "
    "form-action 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'"
)
DOCS_CDN = "https://cdnjs.cloudflare.com"
DOCS_CSP = (
    "default-src 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'; "
    f"img-src 'self' data: {DOCS_CDN}; style-src 'self' 'unsafe-inline' {DOCS_CDN}; "
    f"script-src 'self' 'unsafe-inline' {DOCS_CDN}"
)
CORS_ALLOW_HEADERS = "X-API-Key, Authorization, Content-Type, Last-Event-ID, X-Request-ID"
CORS_ALLOW_METHODS = "GET, POST, PUT, DELETE, OPTIONS"
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
GENERATED_REQUEST_ID = "agented.generated_request_id"
RESPONSE_HEADERS = "agented.response_headers"


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


def _headers(scope: dict[str, Any]) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in scope["headers"]:
        found.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
    return found


def _has_body(headers: dict[str, str]) -> bool:
    return headers.get("content-length", "0") not in {"", "0"} or "transfer-encoding" in headers


def _presented_key(headers: dict[str, str]) -> str:
    if key := headers.get("x-api-key", ""):
        return key
    scheme, _, credentials = headers.get("authorization", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else ""


class SecurityMiddleware:
    def __init__(self, inner: ASGIApp, policy: SecurityPolicy) -> None:
        self._inner = inner
        self.policy = policy
        hsts = (
            ((b"strict-transport-security", b"max-age=63072000; includeSubDomains"),)
            if policy.force_https
            else ()
        )
        fixed = (
            (b"x-frame-options", b"DENY"),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            *hsts,
        )
        self._headers: Headers = ((b"content-security-policy", BASE_CSP.encode()), *fixed)
        self._docs_headers: Headers = ((b"content-security-policy", DOCS_CSP.encode()), *fixed)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self._inner(scope, receive, send)
            return
        # The checks run in a plain function, so nothing they looked at stays alive for as
        # long as a (possibly hours-long) stream does.
        request_id, extra, answer = self._screen(scope)
        if answer is not None:
            await self._answer(send, request_id, extra, answer)
            return
        if STREAM_PATH.match(scope["path"]):
            # Streams add the headers themselves: no extra call on every chunk they write.
            scope[RESPONSE_HEADERS] = extra
            await self._inner(scope, receive, send)
            return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        await self._inner(scope, receive, send_with_headers)

    def _screen(self, scope: dict[str, Any]) -> tuple[str, Headers, Answer | None]:
        """Apply the policy: the request id, the response headers, and a refusal if any."""
        policy = self.policy
        headers = _headers(scope)
        request_id = choose_request_id(headers.get("x-request-id", ""))
        scope[GENERATED_REQUEST_ID] = request_id != headers.get("x-request-id")
        scope["headers"] = [
            *(h for h in scope["headers"] if h[0].lower() != b"x-request-id"),
            (b"x-request-id", request_id.encode()),
        ]
        method, path = scope["method"], scope["path"]
        kind = classify(method, path)
        extra = self._response_headers(path, kind, headers.get("origin", ""))
        if host_of(headers.get("host", "")) not in policy.allowed_hosts:
            return (
                request_id,
                extra,
                Answer(400, "this Host is not served here (see AGENTED_ALLOWED_HOSTS)"),
            )
        server = scope.get("server") or ("", 0)
        if not policy.auth_enabled and server[0] and not is_loopback(server[0]):
            return (
                request_id,
                extra,
                Answer(403, "authentication is disabled, so only loopback is served"),
            )
        if method == "OPTIONS" and "access-control-request-method" in headers:
            return request_id, extra, self._preflight(extra)
        peer = (scope.get("client") or ("unknown", 0))[0]
        client = policy.client_address(peer, headers.get("x-forwarded-for", ""))
        if kind == "webhook" and (wait := policy.webhook_limit.take(client)):
            return request_id, extra, Answer(429, "too many webhook requests", retry_after=wait)
        if kind in {"admin", "stream"} and (wait := policy.failure_limit.retry_after(client)):
            return (
                request_id,
                extra,
                Answer(429, "too many failed authentications", retry_after=wait),
            )
        if kind in {"admin", "stream", "readiness"}:
            key = self._authenticate(scope, headers, kind)
            scope["agented.authenticated"] = key is not None
            if key is None and kind != "readiness":
                if _presented_key(headers) or b"token=" in scope.get("query_string", b""):
                    policy.failure_limit.take(client)  # a guess; a missing key is not one
                return request_id, extra, Answer(401, "missing or invalid API key", bearer=True)
            bucket = key if policy.auth_enabled else client  # without keys, per address
            if kind == "admin" and (wait := policy.admin_limit.take(bucket or "")):
                return request_id, extra, Answer(429, "too many requests", retry_after=wait)
        content_type = headers.get("content-type", "").split(";")[0].strip()
        if (
            kind == "admin"
            and method in STATE_CHANGING
            and _has_body(headers)
            and content_type != "application/json"
        ):
            return (
                request_id,
                extra,
                Answer(415, "the request body must be JSON (Content-Type: application/json)"),
            )
        return request_id, extra, None

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

    def _authenticate(
        self, scope: dict[str, Any], headers: dict[str, str], kind: str
    ) -> str | None:
        """The matching key (or a stand-in for a valid stream token or disabled auth), else None."""
        policy = self.policy
        if not policy.auth_enabled:
            return "anonymous"
        presented = _presented_key(headers)
        if presented and (key := policy.key_matching(presented)):
            return key
        if kind == "stream":
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            token = (query.get("token") or [""])[0]
            if token and policy.stream_tokens.allows(token, scope["path"]):
                return "stream-token"
        return None

    def _response_headers(self, path: str, kind: str, origin: str) -> Headers:
        """The security headers (shared, built once) plus CORS headers for allowed origins."""
        shared = self._docs_headers if path == "/docs" else self._headers
        api = kind in {"admin", "stream", "readiness"}
        if not (origin and api and origin in self.policy.cors_origins):
            return shared
        return (
            *shared,
            (b"access-control-allow-origin", origin.encode()),
            (b"access-control-expose-headers", b"X-Request-ID"),
            (b"vary", b"Origin"),
        )

    @staticmethod
    def _preflight(extra: Headers) -> Answer:
        if not any(name == b"access-control-allow-origin" for name, _ in extra):
            return Answer(403, "origin not allowed")
        return Answer(
            204,
            None,
            headers=[
                (b"access-control-allow-methods", CORS_ALLOW_METHODS.encode()),
                (b"access-control-allow-headers", CORS_ALLOW_HEADERS.encode()),
                (b"access-control-max-age", b"600"),
            ],
        )
