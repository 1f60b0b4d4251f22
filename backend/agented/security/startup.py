"""What the security policy learns once the server listens, and what it tells the operator."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from .policy import SecurityPolicy, is_loopback

logger = logging.getLogger(__name__)


class AuthDisabledRefused(RuntimeError):
    """AGENTED_AUTH=disabled on a server that listens beyond loopback."""


def _url_host(host: str) -> str:
    if host in {"0.0.0.0", "::", ""}:
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def on_serving(policy: SecurityPolicy, binds: Sequence[tuple[str, int]] | None) -> None:
    """Check the binds against the policy, then print how to sign in."""
    if binds:
        policy.allow_bind_hosts(host for host, _ in binds)
    if not policy.auth_enabled:
        outside = [f"{host}:{port}" for host, port in binds or () if not is_loopback(host)]
        if outside:
            raise AuthDisabledRefused(
                "AGENTED_AUTH=disabled is refused: the server listens on "
                f"{', '.join(outside)}, beyond loopback; enable authentication or bind 127.0.0.1"
            )
        logger.warning(
            "AUTHENTICATION IS DISABLED (AGENTED_AUTH=disabled): anyone who can reach this "
            "server can run commands on this host; only loopback requests are served"
        )
        return
    if not policy.key_from_file:
        return  # the operator set AGENTED_API_KEY and knows it
    key = policy.api_keys[0]
    places = [f"http://{_url_host(host)}:{port}/?token={key}" for host, port in binds or ()]
    lines = places or [f"/?token={key}  (on this server's address)"]
    # Printed, not logged: like Jupyter's token URL, it is for the person starting the server.
    print("\nAgented: open the dashboard and sign in at", *lines, "", sep="\n    ", file=sys.stderr)
