"""The addresses the server listens on, and the URLs that reach them.

Hypercorn can listen on several sockets at once, TLS ones (`bind` with a certfile)
and plain ones (`insecure_bind`). Whatever shows or hands out a URL of this server —
the dashboard's sign-in link, the `/mcp` endpoint a run's CLI is pointed at — builds
it from a `Listener`, so the scheme follows the socket and a wildcard address becomes
one a client on this machine can connect to.
"""

from __future__ import annotations

from typing import NamedTuple

# A client connects to a wildcard listener through loopback of the same family.
_WILDCARDS = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}


class Listener(NamedTuple):
    host: str
    port: int
    secure: bool = False  # TLS (Hypercorn's `bind` with a certfile)

    def url(self, path: str = "/") -> str:
        """`path` on this listener, as a client on this machine reaches it."""
        host = _WILDCARDS.get(self.host, self.host)
        shown = f"[{host}]" if ":" in host else host
        return f"{'https' if self.secure else 'http'}://{shown}:{self.port}{path}"


def parse_bind(bind: str, *, secure: bool = False) -> Listener:
    """`HOST:PORT` or `[IPv6]:PORT` as Hypercorn takes it."""
    host, _, port = bind.rpartition(":")
    if not (host and port.isascii() and port.isdigit()):
        raise ValueError(f"not a HOST:PORT address: {bind!r}")
    return Listener(host.strip("[]"), int(port), secure)


def local_url(listeners: list[Listener], path: str) -> str | None:
    """`path` on the listener a process on this machine should use: plain HTTP when
    there is such a socket (no certificate to trust), else the first TLS one."""
    chosen = sorted(listeners, key=lambda listener: listener.secure)
    return chosen[0].url(path) if chosen else None
