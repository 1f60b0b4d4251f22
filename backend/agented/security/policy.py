"""Who may reach what: the request classes, the allowed hosts, the keys and the limits."""

from __future__ import annotations

import hmac
import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .rate_limit import RateLimiter
from .stream_tokens import StreamTokens

RouteKind = Literal["public", "webhook", "readiness", "admin", "stream"]

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
STREAM_PATH = re.compile(r"^/admin/executions/([^/]{1,100})/stream/?$")  # group 1: the id
POLICY_KEY = "agented.security"


def classify(method: str, path: str) -> RouteKind:
    """Which rules apply to a request, from its method and path alone."""
    if path.startswith("/api/webhooks/") or (path == "/" and method == "POST"):
        return "webhook"
    if path == "/health/readiness":
        return "readiness"
    if STREAM_PATH.match(path):
        return "stream"
    if path.startswith(("/admin/", "/api/")) or path in {"/admin", "/api"}:
        return "admin"
    return "public"


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_of(header: str) -> str:
    """The host name of a Host header, without port or IPv6 brackets, lower-cased."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


@dataclass
class SecurityPolicy:
    auth_enabled: bool
    api_keys: tuple[str, ...]
    key_from_file: bool
    stream_tokens: StreamTokens
    webhook_limit: RateLimiter
    admin_limit: RateLimiter
    failure_limit: RateLimiter
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    cors_origins: frozenset[str] = frozenset()
    force_https: bool = False
    allowed_hosts: set[str] = field(default_factory=lambda: set(LOOPBACK_NAMES))

    @classmethod
    def from_config(cls, config: Mapping[str, Any], api_keys: tuple[str, ...]) -> SecurityPolicy:
        return cls(
            auth_enabled=config["AGENTED_AUTH"] == "enabled",
            api_keys=api_keys,
            key_from_file=not config["AGENTED_API_KEY"],
            stream_tokens=StreamTokens(
                config["SECRET_KEY"], config["AGENTED_STREAM_TOKEN_SECONDS"]
            ),
            webhook_limit=RateLimiter(*config["AGENTED_RATE_LIMIT_WEBHOOKS"]),
            admin_limit=RateLimiter(*config["AGENTED_RATE_LIMIT_ADMIN"]),
            failure_limit=RateLimiter(*config["AGENTED_RATE_LIMIT_AUTH_FAILURES"]),
            trusted_proxies=config["AGENTED_TRUSTED_PROXIES"],
            cors_origins=frozenset(config["CORS_ALLOWED_ORIGINS"]),
            force_https=config["FORCE_HTTPS"],
            allowed_hosts={*LOOPBACK_NAMES, *(h.lower() for h in config["AGENTED_ALLOWED_HOSTS"])},
        )

    def allow_bind_hosts(self, hosts: Iterable[str]) -> None:
        """Accept the addresses the server listens on as Host names (not wildcards)."""
        self.allowed_hosts.update(h.lower() for h in hosts if h not in {"0.0.0.0", "::", ""})

    def key_matching(self, presented: str) -> str | None:
        """The configured key equal to `presented`, compared in constant time against all."""
        found = None
        for key in self.api_keys:
            if hmac.compare_digest(key.encode(), presented.encode()):
                found = key
        return found

    def client_address(self, peer: str, forwarded_for: str) -> str:
        """The client's IP: the peer, or behind a trusted proxy the last untrusted forwarded hop."""
        if not (forwarded_for and self._trusted(peer)):
            return peer
        hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
        for hop in reversed(hops):
            if not self._trusted(hop):
                return hop
        return hops[0] if hops else peer

    def _trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.trusted_proxies)
