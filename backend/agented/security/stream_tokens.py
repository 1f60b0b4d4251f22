"""Short-lived tokens that open one SSE stream, for browsers whose EventSource sends no headers.

A token is `<payload>.<HMAC-SHA256>` (both base64url) signed with SECRET_KEY,
whose payload names the one stream path it opens and when it expires. The
secret key is stable, so tokens survive a restart.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

_DOMAIN = b"agented stream token v1\0"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class StreamTokens:
    def __init__(self, secret_key: str, lifetime_seconds: int) -> None:
        self._key = hashlib.sha256(_DOMAIN + secret_key.encode()).digest()
        self.lifetime_seconds = lifetime_seconds

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode("ascii"), hashlib.sha256).digest())

    def issue(self, path: str, now: float | None = None) -> tuple[str, float]:
        """A token for `path` and the Unix time it expires."""
        expires = int((time.time() if now is None else now) + self.lifetime_seconds)
        payload = _b64(json.dumps({"p": path, "e": expires}, separators=(",", ":")).encode())
        return f"{payload}.{self._sign(payload)}", expires

    def allows(self, token: str, path: str, now: float | None = None) -> bool:
        """True only for an untampered, unexpired token issued for exactly `path`."""
        payload, _, signature = token.partition(".")
        if not payload or not hmac.compare_digest(self._sign(payload), signature):
            return False
        try:
            claims = json.loads(_unb64(payload))
        except ValueError:
            return False
        current = time.time() if now is None else now
        return (
            isinstance(claims, dict)
            and claims.get("p") == path
            and isinstance(claims.get("e"), int)
            and claims["e"] > current
        )
