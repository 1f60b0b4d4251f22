"""What the security policy learns once the server listens, and what it tells the operator."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence

from .policy import SecurityPolicy, is_loopback

logger = logging.getLogger(__name__)


class AuthDisabledRefused(RuntimeError):
    """AGENTED_AUTH=disabled on a server that listens beyond loopback."""


def _url_host(host: str) -> str:
    if host in {"0.0.0.0", "::", ""}:
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def on_serving(
    policy: SecurityPolicy, binds: Sequence[tuple[str, int]] | None, log_format: str = "text"
) -> str | None:
    """Check the binds against the policy; return the sign-in notice to show, if any."""
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
        return None
    if not policy.key_from_file:
        return None  # the operator set AGENTED_API_KEY and knows it
    if log_format == "json":  # logs go to a collector, which must not keep the key
        return json.dumps({"level": "INFO", "message": SIGN_IN_HINT})
    return sign_in_notice(policy.api_keys[0], binds)


SIGN_IN_HINT = "sign in to the dashboard: `scripts/serve --sign-in-url` prints the link"


def sign_in_notice(key: str, binds: Sequence[tuple[str, int]] | None) -> str:
    """Where to open the dashboard with the key. Printed, never logged: like Jupyter's token
    URL, it is for the person starting the server."""
    places = [f"http://{_url_host(host)}:{port}/?token={key}" for host, port in binds or ()]
    lines = places or [f"/?token={key}  (on this server's address)"]
    return "\n    ".join(["\nAgented: open the dashboard and sign in at", *lines, ""])
