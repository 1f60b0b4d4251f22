"""Who may reach the server: the allowed hosts, the keys, the client address and the limits."""

from __future__ import annotations

import hmac
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ..config import Settings
from ..run_tokens import RunTokens
from .rate_limit import RateLimiter
from .stream_tokens import StreamTokens

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
POLICY_KEY = "agented.security"


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_HOST_NAME = re.compile(r"[a-z0-9_](?:[a-z0-9_.-]{0,251}[a-z0-9_.])?")
_PORT = re.compile(r"[0-9]{1,5}")


def host_of(header: str) -> str | None:
    """The host of a Host header, lower-cased, without port or IPv6 brackets; None if malformed.

    Strict on purpose: anything after the closing bracket of an IPv6 literal other
    than a port (`[::1]junk`), or a name with characters no host name has, must not
    be read as one of the allowed hosts.
    """
    header = header.strip().lower()
    if header.startswith("["):
        address, bracket, rest = header[1:].partition("]")
        if not bracket or (rest and not (rest[0] == ":" and _PORT.fullmatch(rest[1:]))):
            return None
        return address if _is_ipv6(address) else None
    if header.count(":") > 1:  # a bare IPv6 literal, as some clients send it
        return header if _is_ipv6(header) else None
    name, colon, port = header.partition(":")
    if colon and not _PORT.fullmatch(port):
        return None
    return name if _HOST_NAME.fullmatch(name) else None


def _public_host(public_url: str | None) -> tuple[str, ...]:
    """The host of AGENTED_PUBLIC_URL: the operator named it as this server's address, and
    the workers' CLIs send it (lower-cased, without brackets, as `host_of` reads it)."""
    host = urlsplit(public_url).hostname if public_url else None
    return (host,) if host else ()


def _is_ipv6(text: str) -> bool:
    try:
        return ipaddress.ip_address(text).version == 6
    except ValueError:
        return False


@dataclass
class SecurityPolicy:
    auth_enabled: bool
    api_keys: tuple[str, ...]
    key_from_file: bool
    stream_tokens: StreamTokens
    run_tokens: RunTokens
    webhook_limit: RateLimiter
    admin_limit: RateLimiter
    failure_limit: RateLimiter
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    cors_origins: frozenset[str] = frozenset()
    force_https: bool = False
    allowed_hosts: set[str] = field(default_factory=lambda: set(LOOPBACK_NAMES))

    @classmethod
    def from_settings(
        cls, settings: Settings, secret_key: str, api_keys: tuple[str, ...]
    ) -> SecurityPolicy:
        """The policy `settings` describe, with the secret key and API keys as loaded."""
        return cls(
            auth_enabled=settings.auth == "enabled",
            api_keys=api_keys,
            key_from_file=not settings.api_keys,
            stream_tokens=StreamTokens(secret_key, settings.stream_token_seconds),
            run_tokens=RunTokens(secret_key),
            webhook_limit=RateLimiter(*settings.rate_limit_webhooks),
            admin_limit=RateLimiter(*settings.rate_limit_admin),
            failure_limit=RateLimiter(*settings.rate_limit_auth_failures),
            trusted_proxies=settings.trusted_proxies,
            cors_origins=frozenset(settings.cors_allowed_origins),
            force_https=settings.force_https,
            allowed_hosts={
                *LOOPBACK_NAMES,
                *(h.lower() for h in settings.allowed_hosts),
                *_public_host(settings.public_url),
            },
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

    def client_address(self, peer: str, forwarded_for: Iterable[str]) -> str:
        """The client's IP: the peer, or behind trusted proxies the right-most untrusted hop.

        `forwarded_for` is every X-Forwarded-For header in order: a proxy may append
        its own header line after one the client sent, so reading only the first
        would let the client choose its address. Hops are read from the right
        (nearest) while they are trusted proxies; the first that is not is the
        client. A hop that is not an IP address ends the walk at the last good one:
        nothing to the left of a forged hop can be believed.
        """
        if not self._trusted(peer):
            return peer
        hops = [hop.strip() for line in forwarded_for for hop in line.split(",")]
        client = peer
        for hop in reversed(hops):
            address = _ip_text(hop)
            if address is None:
                return client
            client = address
            if not self._trusted(address):
                return address
        return client

    def _trusted(self, address: str) -> bool:
        if not self.trusted_proxies:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.trusted_proxies)


def _ip_text(hop: str) -> str | None:
    """The IP address in one forwarded hop (`1.2.3.4`, `1.2.3.4:5678`, `[::1]:80`), else None."""
    if hop.startswith("["):
        hop = hop[1:].partition("]")[0]
    elif hop.count(":") == 1:
        hop = hop.partition(":")[0]
    try:
        return str(ipaddress.ip_address(hop))
    except ValueError:
        return None
