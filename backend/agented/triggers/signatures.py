"""Webhook signatures: HMAC-SHA256 of the raw body, and the Standard Webhooks scheme.

All comparisons are constant-time. Standard Webhooks (webhook-id,
webhook-timestamp, webhook-signature) signs `id.timestamp.body` and carries a
timestamp, so a replayed request outside the tolerance window is refused. The
body-only HMAC signs nothing else, so its delivery-id headers are not
authenticated; `Scheme` tells the caller which one matched, because
deduplication must key on what the signature covers.

Header numbers are parsed as ASCII digits only: `str.isdigit()` and `int()`
also take characters such as `²`, and `int()` of thousands of digits raises,
so a hostile header would otherwise be a crash rather than a `MalformedHeader`.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
import re
from collections.abc import Mapping

from ..errors import MalformedHeader

REPLAY_TOLERANCE_SECONDS = 300

# Unix seconds; 15 digits is far beyond any real clock yet still exact as a float.
_UNIX_SECONDS = re.compile(r"[0-9]{1,15}")


class Scheme(enum.Enum):
    """Which signature a request carried, and so which parts of it are authenticated."""

    BODY_HMAC = "body-hmac"  # the body only
    STANDARD = "standard-webhooks"  # webhook-id, webhook-timestamp and the body


def standard_timestamp(headers: Mapping[str, str]) -> int | None:
    """The `webhook-timestamp` header as an int, None if absent; MalformedHeader if unreadable."""
    raw = headers.get("webhook-timestamp")
    if raw is None:
        return None
    # `[0-9]` rather than `\d`: in a str pattern `\d` matches every Unicode digit too.
    if not _UNIX_SECONDS.fullmatch(raw.strip()):
        raise MalformedHeader(
            "webhook-timestamp must be Unix time in seconds (1 to 15 ASCII digits)"
        )
    return int(raw.strip())


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
    """The Standard Webhooks scheme: any `v1,<base64>` in webhook-signature may match.

    Raises MalformedHeader for an unreadable webhook-timestamp.
    """
    message_id = headers.get("webhook-id", "")
    timestamp = standard_timestamp(headers)
    signatures = headers.get("webhook-signature", "")
    if not (message_id and timestamp is not None and signatures):
        return False
    if abs(now - timestamp) > REPLAY_TOLERANCE_SECONDS:
        return False
    # The digits exactly as sent (leading zeros and all), since that is what was signed.
    stamp = headers["webhook-timestamp"].strip()
    signed = _hmac(_standard_key(secret), f"{message_id}.{stamp}.".encode() + body)
    expected = base64.b64encode(signed)
    matched = False
    for candidate in signatures.split():
        version, _, value = candidate.partition(",")
        if version == "v1":
            matched |= hmac.compare_digest(expected, value.encode())
    return matched


def verified_scheme(
    secret: str, body: bytes, headers: Mapping[str, str], now: float
) -> Scheme | None:
    """Which scheme signs the request with `secret`, or None if neither does.

    The body-only HMAC is tried first: when a request carries both, treating it
    as body-only is the stricter choice for deduplication.
    """
    if verify_hex_signature(secret, body, headers.get("X-Webhook-Signature-256")):
        return Scheme.BODY_HMAC
    if verify_standard_webhook(secret, body, headers, now):
        return Scheme.STANDARD
    return None
