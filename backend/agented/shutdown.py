"""Learning, on the serving loop, that the server has begun to stop.

Hypercorn runs the app in a spawned worker whose supervisor signals shutdown
through a multiprocessing event, and it runs `after_serving` only after every
open connection has closed or `graceful_timeout` has passed. Live SSE streams
never close by themselves, so the app needs to know the moment shutdown starts
in order to end them at once. Two gaps are covered here:

* the supervisor's event is polled (as Hypercorn's worker itself does), so a
  SIGTERM or Ctrl-C to the supervisor reaches the app immediately;
* the worker installs no SIGTERM handler, so a SIGTERM to the whole process
  group (systemd's default) would kill it before `after_serving`. When nothing
  handles SIGTERM, a loop handler takes it, tells the app, and forwards it to
  the supervisor, which then shuts the worker down the graceful way.

* the worker outlives a supervisor killed with SIGKILL, still serving on the
  sockets it inherited, and nobody would ever set the event. The same poll
  notices the worker's parent pid change (it was re-parented) and sets the
  event itself, so Hypercorn and the app stop the graceful way.

Elsewhere (`hypercorn -w 0`, `quart run`) the server already handles signals
and none of this is installed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
from collections.abc import Callable

from .hypercorn_worker import EventLike, shutdown_event, supervisor_pid
from .tasks import cancel_and_wait

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.1


class ShutdownNotifier:
    """Calls `on_stop` once, as soon as the server hosting this app starts to stop."""

    def __init__(self, on_stop: Callable[[], None]) -> None:
        self._on_stop = on_stop
        self._watcher: asyncio.Task[None] | None = None
        self._sigterm_installed = False

    def install(self) -> None:
        event = shutdown_event()
        if event is None:
            return
        loop = asyncio.get_running_loop()
        supervisor = supervisor_pid()
        self._watcher = loop.create_task(
            self._watch(event, supervisor), name="agented-shutdown-watcher"
        )
        if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            loop.add_signal_handler(signal.SIGTERM, self._on_sigterm)
            self._sigterm_installed = True

    async def _watch(self, event: EventLike, supervisor: int | None) -> None:
        # A multiprocessing event cannot be awaited; poll it as Hypercorn does.
        while not event.is_set():
            if supervisor is not None and os.getppid() != supervisor:
                logger.warning("the Hypercorn supervisor (pid %d) is gone; stopping", supervisor)
                event.set()  # Hypercorn's own worker loop polls the same event
                break
            await asyncio.sleep(POLL_SECONDS)
        self._on_stop()

    def _on_sigterm(self) -> None:
        logger.info("SIGTERM received; stopping gracefully")
        self._on_stop()
        supervisor = multiprocessing.parent_process()
        if supervisor is not None and supervisor.is_alive() and supervisor.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(supervisor.pid, signal.SIGTERM)
                return
        # No supervisor left to stop us gracefully: fall back to SIGTERM's default.
        asyncio.get_running_loop().remove_signal_handler(signal.SIGTERM)
        signal.raise_signal(signal.SIGTERM)

    async def uninstall(self) -> None:
        if self._sigterm_installed:
            asyncio.get_running_loop().remove_signal_handler(signal.SIGTERM)
            self._sigterm_installed = False
        await cancel_and_wait(self._watcher)
        self._watcher = None
