"""A TCP proxy whose cut is a deterministic lost database: a machine that loses its network.

Every connection is forwarded to the target unchanged until `sever()`; from then
on nothing gets through either way and nothing is refused or reset either: the
connections stay open and silent, and new ones are taken but never answered, as
when a route is gone (no error until TCP gives up, many minutes later). `close()`
ends it all.
"""

from __future__ import annotations

import contextlib
import socket
import threading


class SeverableProxy:
    def __init__(self, target_port: int) -> None:
        self._target = ("127.0.0.1", target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._severed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def sever(self) -> None:
        """From now on, drop every byte, both ways, on every connection."""
        self._severed.set()

    def close(self) -> None:
        self._severed.set()
        self._listener.close()
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for end in sockets:
            with contextlib.suppress(OSError):
                end.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            with self._lock:
                self._sockets.append(client)
            if self._severed.is_set():
                continue  # taken, never answered
            try:
                upstream = socket.create_connection(self._target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets.append(upstream)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                if not self._severed.is_set():
                    sink.sendall(data)
