"""What exists only while the app is serving, started and stopped as one unit.

`create_app()` only builds; the single-server lock, the database and every
background service come to life in Quart's `before_serving` on the server's own
event loop and are torn down in reverse order in `after_serving`. Keeping them
on one object hung on the app means two apps in one process never share state.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from contextlib import AsyncExitStack
from typing import Any

from quart import Quart

from .paths import MIGRATIONS_DIR
from .server_lock import ServerLock
from .shutdown import ShutdownNotifier
from .storage import Database, migrate

logger = logging.getLogger(__name__)

EXTENSION_KEY = "agented.runtime"


class Runtime:
    """The serving process's live state: lock, database, and the `stopping` signal."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self._config = config
        self._exit_stack = AsyncExitStack()
        self.stopping = asyncio.Event()
        self.database: Database

    async def start(self) -> None:
        async with AsyncExitStack() as stack:
            lock = ServerLock(self._config["AGENTED_DB_PATH"])
            lock.acquire()
            stack.callback(lock.release)

            self.database = await Database.open(
                self._config["AGENTED_DB_PATH"], self._config["AGENTED_DB_BUSY_TIMEOUT_MS"]
            )
            stack.push_async_callback(self.database.close)
            version = await migrate(self.database, MIGRATIONS_DIR)

            notifier = ShutdownNotifier(self.begin_stopping)
            notifier.install()
            stack.push_async_callback(notifier.uninstall)

            self._exit_stack = stack.pop_all()
        logger.info("serving database %s (schema version %d)", self.database.path, version)

    def begin_stopping(self) -> None:
        """Tell everything that streams or waits that the server is going away."""
        if not self.stopping.is_set():
            logger.info("shutdown started")
            self.stopping.set()

    async def stop(self) -> None:
        self.begin_stopping()
        await self._exit_stack.aclose()
        logger.info("shutdown complete")


def runtime_of(app: Quart) -> Runtime | None:
    """The app's runtime while it is serving, else None."""
    return app.extensions.get(EXTENSION_KEY)


def install_runtime(app: Quart) -> None:
    """Start the runtime when serving begins and stop it when serving ends."""

    @app.before_serving
    async def start_runtime() -> None:
        runtime = Runtime(app.config)
        try:
            await runtime.start()
        except Exception as error:
            logger.error("cannot start serving: %s", error)
            raise
        app.extensions[EXTENSION_KEY] = runtime

    @app.after_serving
    async def stop_runtime() -> None:
        runtime = app.extensions.pop(EXTENSION_KEY, None)
        if runtime is not None:
            await runtime.stop()
