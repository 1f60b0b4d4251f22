"""The server's HTTP API as the client needs it: JSON requests, errors, and resumable SSE.

Every failure becomes a CliError with a message that says what to do and an
exit code of its own (see exits.py). Following a stream survives dropped
connections and server restarts: it reconnects with `Last-Event-ID` set to the
last line it received, so no line is lost or printed twice.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
from httpx_sse import ServerSentEvent, connect_sse

from .config import ClientConfig
from .exits import CliError, Exit

REQUEST_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
# The server sends a heartbeat every 15 s, so a minute of silence is a dead connection.
STREAM_TIMEOUT = httpx.Timeout(30.0, connect=10.0, read=60.0)
# How long to keep trying to reconnect a followed stream, e.g. while the server restarts.
RECONNECT_WINDOW = 120.0
RECONNECT_DELAYS = (0.2, 0.5, 1.0, 2.0, 5.0)

Handler = Callable[[str, dict[str, Any]], None]


class ApiClient:
    def __init__(self, config: ClientConfig, transport: httpx.BaseTransport | None = None) -> None:
        self.config = config
        headers = {"X-API-Key": config.api_key} if config.api_key else {}
        self._http = httpx.Client(
            base_url=config.url, headers=headers, timeout=REQUEST_TIMEOUT, transport=transport
        )

    def close(self) -> None:
        self._http.close()

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self._request("GET", path, params=params)

    def post(self, path: str, body: Any = None) -> Any:
        return self._request("POST", path, json={} if body is None else body)

    def _request(self, method: str, path: str, **options: Any) -> Any:
        try:
            response = self._http.request(method, path, **options)
        except httpx.TransportError as error:
            raise self._unreachable(error) from None
        if response.is_error:
            raise self._refused(response)
        return response.json()

    def follow(self, execution_id: str, handle: Handler, after: int = 0) -> dict[str, Any]:
        """Pass each event to `handle` until `complete`, whose data is returned.

        Reconnects after a dropped connection, a `shutdown` event or a 503 (the
        server is starting or stopping) for up to RECONNECT_WINDOW seconds.
        """
        path = f"/admin/executions/{execution_id}/stream"
        last_seq, failures, failing_since = after, 0, None
        while True:
            try:
                with connect_sse(
                    self._http,
                    "GET",
                    path,
                    headers={"Last-Event-ID": str(last_seq)},
                    timeout=STREAM_TIMEOUT,
                ) as source:
                    response = source.response
                    if response.status_code != 503 and response.is_error:
                        response.read()
                        raise self._refused(response)
                    reason = "the server is starting or stopping (503)"
                    if response.status_code == 200:
                        reason = "the server closed the stream"
                        for event in source.iter_sse():
                            # Only a connection that delivers counts as reconnected.
                            failures, failing_since = 0, None
                            data = _data(event)
                            if event.event == "log":
                                last_seq = int(data["seq"])
                            if event.event == "shutdown":
                                break
                            handle(event.event, data)
                            if event.event == "complete":
                                return data
            except httpx.TransportError as error:
                reason = _describe(error)
            failing_since = failing_since or time.monotonic()
            if time.monotonic() - failing_since > RECONNECT_WINDOW:
                raise CliError(
                    f"lost the stream of {execution_id} and could not reconnect to "
                    f"{self.config.url} within {RECONNECT_WINDOW:.0f} s ({reason})",
                    Exit.UNREACHABLE,
                )
            handle("reconnecting", {"reason": reason, "last_event_id": last_seq})
            time.sleep(RECONNECT_DELAYS[min(failures, len(RECONNECT_DELAYS) - 1)])
            failures += 1

    def _unreachable(self, error: httpx.TransportError) -> CliError:
        return CliError(
            f"cannot reach the server at {self.config.url} ({_describe(error)}); "
            "is it running? Set AGENTED_URL to its address",
            Exit.UNREACHABLE,
        )

    def _refused(self, response: httpx.Response) -> CliError:
        status = response.status_code
        body = _json_or_none(response)
        message = body.get("error") if isinstance(body, dict) else None
        message = message or response.text.strip()[:200] or response.reason_phrase
        if status == 401:
            return CliError(self._unauthorized(message), Exit.UNAUTHORIZED)
        if status == 404:
            return CliError(f"not found: {message}", Exit.NOT_FOUND)
        if status == 409:
            running = body.get("execution_id") if isinstance(body, dict) else None
            extra = f" (execution {running})" if running else ""
            return CliError(f"conflict: {message}{extra}", Exit.CONFLICT)
        if status == 429:
            wait = response.headers.get("Retry-After")
            after = f"; retry after {wait} s" if wait else ""
            return CliError(f"rate limited by the server: {message}{after}", Exit.RATE_LIMITED)
        return CliError(f"the server answered {status}: {message}", Exit.HTTP_ERROR)

    def _unauthorized(self, message: str) -> str:
        how = (
            "set AGENTED_API_KEY (the server's key is in backend/.api_key unless it was "
            f'given one) or put api_key = "..." in {self.config.path} (mode 0600)'
        )
        if self.config.api_key is None:
            return f"the server wants an API key ({message}): {how}"
        return f"the server refused the API key ({message}): {how}"


def _data(event: ServerSentEvent) -> dict[str, Any]:
    try:
        data = json.loads(event.data) if event.data else {}
    except ValueError:
        raise CliError(
            f"the server sent an unreadable {event.event} event", Exit.HTTP_ERROR
        ) from None
    return data if isinstance(data, dict) else {"value": data}


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _describe(error: httpx.TransportError) -> str:
    return str(error) or type(error).__name__
