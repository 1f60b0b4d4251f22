"""Tokens that let one run of an agent's bot reach the MCP endpoint as that agent.

A token is `<execution id>.<agent id>.<HMAC-SHA256 hex>`, signed with SECRET_KEY
under its own domain (a stream token can never pass for one). The signature
only proves Agented issued it for that pair; the MCP route also checks that the
execution is still running as that agent, so a token dies with its run.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import NamedTuple

_DOMAIN = b"agented run token v1\0"


class RunClaims(NamedTuple):
    execution_id: str
    agent_id: str


class RunTokens:
    def __init__(self, secret_key: str) -> None:
        self._key = hashlib.sha256(_DOMAIN + secret_key.encode()).digest()

    def _sign(self, execution_id: str, agent_id: str) -> str:
        message = f"{execution_id}.{agent_id}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def issue(self, execution_id: str, agent_id: str) -> str:
        return f"{execution_id}.{agent_id}.{self._sign(execution_id, agent_id)}"

    def read(self, token: str) -> RunClaims | None:
        """Who an untampered token speaks for, else None (the run may have ended since)."""
        parts = token.split(".")
        if len(parts) != 3 or not all(parts[:2]):
            return None
        execution_id, agent_id, signature = parts
        if not hmac.compare_digest(self._sign(execution_id, agent_id), signature):
            return None
        return RunClaims(execution_id, agent_id)
