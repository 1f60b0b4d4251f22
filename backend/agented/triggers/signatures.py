"""Webhook signatures: HMAC-SHA256 of the raw body, and the Standard Webhooks scheme.

All comparisons are constant-time. Standard Webhooks (webhook-id,
webhook-timestamp, webhook-signature) signs `id.timestamp.body` and carries a
timestamp, so a replayed request outside the tolerance window is refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping

REPLAY_TOLERANCE_SECONDS = 300


def _hmac(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def verify_hex_signature(secret: str, body: bytes, header: str | None) -> bool:
    """`sha256=<hex HMAC-SHA256 of body>`, as GitHub's X-Hub-Signature-256 and ours."""
    if not header or not header.startswith("sha256="):
        return False
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.strip().lower().encode())


def _standard_key(secret: str) -> bytes:
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        except binascii.Error:
            pass
    return secret.encode()


def verify_standard_webhook(
    secret: str, body: bytes, headers: Mapping[str, str], now: float
) -> bool:
    """The Standard Webhooks scheme: any `v1,<base64>` in webhook-signature may match."""
    message_id = headers.get("webhook-id", "")
    timestamp = headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature", "")
    if not (message_id and timestamp.isdigit() and signatures):
        return False
    if abs(now - int(timestamp)) > REPLAY_TOLERANCE_SECONDS:
        return False
    signed = _hmac(_standard_key(secret), f"{message_id}.{timestamp}.".encode() + body)
    expected = base64.b64encode(signed)
    matched = False
    for candidate in signatures.split():
        version, _, value = candidate.partition(",")
        if version == "v1":
            matched |= hmac.compare_digest(expected, value.encode())
    return matched


def verify_any(secret: str, body: bytes, headers: Mapping[str, str], now: float) -> bool:
    """True if the request is signed with `secret` in either supported scheme."""
    return verify_hex_signature(
        secret, body, headers.get("X-Webhook-Signature-256")
    ) or verify_standard_webhook(secret, body, headers, now)
