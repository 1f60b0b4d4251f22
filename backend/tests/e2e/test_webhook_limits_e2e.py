"""Webhook body and header limits under a real Hypercorn server."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket

import httpx

from .conftest import StartServer
from .server import AUTH


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


def test_hostile_signature_headers_are_400_under_a_real_server(
    start_server: StartServer,
) -> None:
    server, port = start_server(GITHUB_WEBHOOK_SECRET="github-hook-secret")
    base = f"http://127.0.0.1:{port}"
    bot = httpx.post(
        f"{base}/admin/triggers",
        json={
            "name": "signed",
            "prompt_template": "echo {message}",
            "backend_type": "codex",
            "trigger_source": "webhook",
            "webhook_secret": "s3cret-webhook-key",
        },
        headers=AUTH,
        timeout=10,
    ).json()
    body = json.dumps({"text": "x"}).encode()
    # Header bytes arrive decoded as latin-1, so \xb2 reaches the app as "²".
    for stamp in (b"\xb2", b"\xb9\xb2\xb3", b"-1", b"9" * 5000):
        for path in ("/", f"/api/webhooks/bots/{bot['id']}"):
            response = httpx.post(
                base + path,
                content=body,
                headers={
                    "Content-Type": "application/json",
                    "webhook-id": "msg_1",
                    "webhook-timestamp": stamp,
                    "webhook-signature": "v1,bm90LXRoaXMtb25l",
                },
                timeout=10,
            )
            assert response.status_code == 400, (stamp[:10], path, response.text)
            assert "webhook-timestamp" in response.json()["error"]
    digest = hmac.new(b"github-hook-secret", body, hashlib.sha256).hexdigest()
    no_id = httpx.post(
        f"{base}/api/webhooks/github",
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-GitHub-Event": "pull_request",
            "X-Hub-Signature-256": f"sha256={digest}",
        },
        timeout=10,
    )
    assert no_id.status_code == 400
    assert "X-GitHub-Delivery" in no_id.json()["error"]
    assert "Traceback" not in server.output
