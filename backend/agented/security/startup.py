"""What the security policy learns once the server listens, and what it tells the operator."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence

from ..listeners import Listener
from .policy import SecurityPolicy, is_loopback

logger = logging.getLogger(__name__)


class AuthDisabledRefused(RuntimeError):
    """AGENTED_AUTH=disabled on a server that listens beyond loopback."""


def on_serving(
    policy: SecurityPolicy, binds: Sequence[Listener] | None, log_format: str = "text"
) -> str | None:
    """Check the binds against the policy; return the sign-in notice to show, if any."""
    if binds:
        policy.allow_bind_hosts(bind.host for bind in binds)
    if not policy.auth_enabled:
        outside = [f"{bind.host}:{bind.port}" for bind in binds or () if not is_loopback(bind.host)]
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


def sign_in_notice(key: str, binds: Sequence[Listener] | None) -> str:
    """Where to open the dashboard with the key. Printed, never logged: like Jupyter's token
    URL, it is for the person starting the server."""
    places = [bind.url(f"/?token={key}") for bind in binds or ()]
    lines = places or [f"/?token={key}  (on this server's address)"]
    return "\n    ".join(["\nAgented: open the dashboard and sign in at", *lines, ""])
