"""A TCP proxy that drops an SSE stream once, mid-run: a deterministic lost connection.

It forwards every connection to the server unchanged, except the first one that
carries a stream request: that one is cut right after the first log event,
wherever the server's chunks end, as a flaky network or a proxy timeout would.
"""

from __future__ import annotations

import contextlib
import socket
import threading


class DroppingProxy:
    def __init__(self, target_port: int) -> None:
        self._target = ("127.0.0.1", target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self.stream_requests: list[bytes] = []  # the head of every stream request, in order
        self.dropped = threading.Event()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        upstream = socket.create_connection(self._target)
        carries_stream = threading.Event()
        threading.Thread(
            target=self._requests, args=(client, upstream, carries_stream), daemon=True
        ).start()
        held = b""  # a stream's bytes, held back until they hold a whole log event
        try:
            while data := upstream.recv(65536):
                if not carries_stream.is_set() or self.dropped.is_set():
                    client.sendall(data)
                    continue
                held += data
                start = held.find(b"event: log")
                end = held.find(b"\n\n", start) if start >= 0 else -1
                if end >= 0 and self._drop_now():
                    client.sendall(held[: end + 2])  # up to the end of the first log event
                    return
        except OSError:
            pass
        finally:
            for end in (client, upstream):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                end.close()

    def _requests(
        self, client: socket.socket, upstream: socket.socket, carries_stream: threading.Event
    ) -> None:
        with contextlib.suppress(OSError):
            while data := client.recv(65536):
                if b"/stream " in data:
                    with self._lock:
                        self.stream_requests.append(data)
                    carries_stream.set()
                upstream.sendall(data)

    def _drop_now(self) -> bool:
        with self._lock:
            if self.dropped.is_set():
                return False
            self.dropped.set()
            return True
