"""Run a real Hypercorn server, configured by the repository's hypercorn.toml, in a test."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from agented.paths import BACKEND_DIR, REPO_DIR

from ..support.keys import TEST_API_KEY

AUTH = {"X-API-Key": TEST_API_KEY}

HYPERCORN = Path(sys.executable).with_name("hypercorn")
QUART = Path(sys.executable).with_name("quart")
STARTUP_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ServerProcess:
    """A Hypercorn process in its own process group, with its output collected line by line."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            argv,
            cwd=REPO_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self._lines: list[str] = []
        self._changed = threading.Condition(threading.RLock())
        self._reader = threading.Thread(target=self._collect, daemon=True)
        self._reader.start()

    def _collect(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self._lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    @property
    def output(self) -> str:
        with self._changed:
            return "\n".join(self._lines)

    def wait_for_output(self, pattern: str, timeout: float = STARTUP_TIMEOUT) -> re.Match[str]:
        """Block until a line matches `pattern`; fail with the output so far if none does."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self._lines:
                    if match := regex.search(line):
                        return match
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (
                    self.process.poll() is not None and not self._reader.is_alive()
                ):
                    raise AssertionError(f"no line matched {pattern!r}; output:\n{self.output}")
                self._changed.wait(remaining)

    def signal_process(self, signum: int) -> None:
        self.process.send_signal(signum)

    def signal_group(self, signum: int) -> None:
        os.killpg(self.process.pid, signum)

    def wait(self, timeout: float) -> int:
        code = self.process.wait(timeout=timeout)
        self._reader.join(timeout=10)
        return code

    def stop(self) -> None:
        """Make sure nothing outlives the test, whatever state it is in."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
        self._reader.join(timeout=10)


# The test's own PostgreSQL database under `--database postgres` (set by e2e/conftest.py).
DATABASE_URL: str | None = None


def server_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(BACKEND_DIR),
        "AGENTED_DB_PATH": str(tmp_path / "agented.db"),
        **({"AGENTED_DATABASE_URL": DATABASE_URL} if DATABASE_URL else {}),
        "AGENTED_SECRET_KEY_FILE": str(tmp_path / ".secret_key"),
        "AGENTED_ENV_FILE": str(tmp_path / "no.env"),
        "AGENTED_API_KEY": TEST_API_KEY,
        **extra,
    }


def start_hypercorn(
    env: dict[str, str],
    port: int,
    app_path: str = "agented.asgi:app",
    worker_class: str | None = None,
) -> ServerProcess:
    """Start `hypercorn -c hypercorn.toml -b 127.0.0.1:PORT APP` from the repository root.

    `worker_class` (asyncio, uvloop) overrides the one hypercorn.toml names."""
    config = str(REPO_DIR / "hypercorn.toml")
    worker = ["-k", worker_class] if worker_class else []
    return ServerProcess(
        [str(HYPERCORN), "-c", config, *worker, "-b", f"127.0.0.1:{port}", app_path], env
    )
