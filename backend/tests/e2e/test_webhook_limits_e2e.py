"""Webhook body limits under a real Hypercorn server."""

from __future__ import annotations

import socket

from .conftest import StartServer


def test_an_oversized_webhook_is_refused_before_its_body_is_read(
    start_server: StartServer,
) -> None:
    _, port = start_server(AGENTED_MAX_REQUEST_BYTES="1024")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        client.sendall(
            b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 104857600\r\n\r\n" + b"{" + b" " * 1000
        )
        answer = b""
        while b"}" not in answer and (chunk := client.recv(4096)):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b'"error"' in answer
