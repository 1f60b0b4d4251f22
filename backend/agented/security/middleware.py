"""One ASGI layer in front of everything (Quart and the raw SSE routes) that enforces the policy.

It reads like Hypercorn's own middlewares: a request target must first be in
canonical form (so the checks and the router see one path), then the request is
screened by an ordered list of small checks (`checks.CHECKS`: Host, loopback-only,
CORS preflight, webhook rate, credentials, JSON bodies); the first that refuses
answers with a JSON error, and security headers go on every response. The
middleware builds the request's `RequestState` that the routes behind it read.
Which routes are public is decided by `routes.RouteTable` on the endpoint the
router will dispatch to: deny by default.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from ..http.asgi import ASGIApp, Headers
from ..http.request_id import choose_request_id
from ..http.responses import send_json
from ..http.state import STATE_KEY, RequestState
from .checks import CHECKS, KEYED_KINDS, Answer, Screening, read_headers
from .policy import SecurityPolicy
from .routes import RouteKind, RouteTable, canonical_path_problem

BASE_CSP = (
    "default-src 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'; "
    "form-action 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'"
)


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

    def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Awaitable[None]:
        # Not a coroutine itself, so that a request passed on (an open SSE stream among
        # them, for hours) holds no frame of this layer; the checks run in a plain function,
        # so nothing they looked at stays alive either.
        if scope["type"] != "http":
            return self._inner(scope, receive, send)
        request_id, extra, kind, answer = self._screen(scope)
        if answer is not None:
            return self._answer(send, request_id, extra, answer)
        if kind == "stream":
            # Streams add the headers themselves: no extra call on every chunk they write.
            return self._inner(scope, receive, send)

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        return self._inner(scope, receive, send_with_headers)

    def _screen(self, scope: dict[str, Any]) -> tuple[str, Headers, RouteKind, Answer | None]:
        """The request id, the response headers, the route's kind, and a refusal if any."""
        headers, forwarded_for = read_headers(scope)
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
        screening = Screening(scope, state, method, path, kind, headers, forwarded_for)
        for check in CHECKS:
            if (answer := check(self.policy, screening)) is not None:
                return request_id, extra, kind, answer
        return request_id, extra, kind, None

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
