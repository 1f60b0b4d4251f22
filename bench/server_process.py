"""A real Hypercorn server for one scenario, started the way production starts it.

`hypercorn -c hypercorn.toml -b 127.0.0.1:<port> <app>` from the repository root, in a
new session, with a database, key file and env file of its own in a temporary
directory. Its output is drained by a thread (so a chatty access log can never block
it) and kept, bounded, to explain a failure. The app runs in Hypercorn's single
worker process, a child of the supervisor we start: that worker is what the
benchmark measures.
"""

from __future__ import annotations

import collections
import contextlib
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from procstat import children, cmdline, descendants

REPO_DIR = Path(__file__).resolve().parent.parent
BACKEND_DIR = REPO_DIR / "backend"
BENCH_DIR = Path(__file__).resolve().parent
GC_PROBE_DIR = BENCH_DIR / "gc_probe"
HYPERCORN = Path(sys.executable).parent / "hypercorn"
STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
OUTPUT_LINES_KEPT = 400
LONG_YOUNG_MS = 5.0  # what gc_probe/sitecustomize.py logs of the younger generations
READY = re.compile(r"\[(\d+)\] \[INFO\] Running on http://127\.0\.0\.1:(\d+)")


class ServerError(RuntimeError):
    """The server did not start."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def kill_bench_processes(pids: list[int]) -> None:
    """SIGKILL those of `pids` that run a file of bench/ (CLIs run in sessions of their own:
    none may outlive the server or worker that started it)."""
    for pid in pids:
        if str(BENCH_DIR) in cmdline(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


class BenchServer:
    """`gc_probe`: load bench/gc_probe/sitecustomize.py, which logs long garbage collections;
    `env`: more environment variables for the server; `companions` (name → pid): processes
    that serve beside it (workers, the database), whose CPU is reported with the worker's."""

    def __init__(
        self,
        workdir: Path,
        app: str = "agented.asgi:app",
        pythonpath: str = "",
        *,
        gc_probe: bool = True,
        env: dict[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.app = app
        self.api_key = secrets.token_hex(16)
        self._gc_log = workdir / "gc.log" if gc_probe else None
        pythonpath = pythonpath or str(BACKEND_DIR)
        self._env = {
            "PATH": os.environ["PATH"],
            "PYTHONPATH": f"{GC_PROBE_DIR}:{pythonpath}" if gc_probe else pythonpath,
            "AGENTED_DB_PATH": str(workdir / "agented.db"),
            "AGENTED_SECRET_KEY_FILE": str(workdir / "secret_key"),
            "AGENTED_ENV_FILE": str(workdir / "no.env"),
            "AGENTED_MAX_CONCURRENT_RUNS": "8",
            "LOG_LEVEL": "WARNING",
            "AGENTED_API_KEY": self.api_key,
            # The benchmark polls the API (e.g. every 50 ms in `flood`): no 429s for it.
            "AGENTED_RATE_LIMIT_ADMIN": "1000000/60",
        }
        if self._gc_log is not None:
            self._env["AGENTED_BENCH_GC_LOG"] = str(self._gc_log)
        self._env.update(env or {})
        self._output: collections.deque[str] = collections.deque(maxlen=OUTPUT_LINES_KEPT)
        self._ready = threading.Event()
        self._process: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None
        self.worker_pid = 0
        self.companions: dict[str, int] = {}

    @property
    def output(self) -> str:
        return "\n".join(self._output)

    def start(self) -> None:
        """Start the server and wait until its worker says it is serving."""
        argv = [
            str(HYPERCORN),
            "-c",
            str(REPO_DIR / "hypercorn.toml"),
            "-b",
            f"127.0.0.1:{self.port}",
            self.app,
        ]
        # RLIMIT_NOFILE is inherited: the benchmark raised its own to the hard limit.
        process = self._process = subprocess.Popen(
            argv,
            cwd=REPO_DIR,
            env=self._env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            start_new_session=True,
        )
        self._reader = threading.Thread(
            target=self._drain, args=(process,), daemon=True, name="server-output"
        )
        self._reader.start()
        if not self._ready.wait(STARTUP_TIMEOUT) or not self.worker_pid:
            self.stop()
            raise ServerError(
                f"server {' '.join(argv)} did not report `Running on http://127.0.0.1:"
                f"{self.port}` within {STARTUP_TIMEOUT:.0f} s (exit status {process.poll()})"
            )

    def _drain(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        try:
            for line in process.stdout:
                self._output.append(line.rstrip("\n"))
                if not self._ready.is_set() and (match := READY.search(line)):
                    if int(match[2]) == self.port:
                        self.worker_pid = self._find_worker(process.pid, int(match[1]))
                    self._ready.set()
        finally:
            self._ready.set()  # the process ended: stop waiting for it

    @staticmethod
    def _find_worker(supervisor: int, logged_pid: int) -> int:
        """The worker: the pid in the `Running on` line, checked to be our child."""
        kids = children(supervisor)
        if logged_pid in kids:
            return logged_pid
        spawned = [pid for pid in kids if "spawn_main" in cmdline(pid)]
        return spawned[0] if spawned else 0

    def stop(self) -> None:
        """SIGTERM (graceful: the app stops its CLIs), then SIGKILL whatever is left.

        The SIGKILLs run even if the graceful wait is interrupted (a second Ctrl-C)."""
        process, self._process = self._process, None
        self._ready.set()  # a start() still waiting gives up now
        if process is None:
            return
        leftovers = descendants(self.worker_pid) if self.worker_pid else []
        try:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(STOP_TIMEOUT)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # anything left in the server's group
            kill_bench_processes(leftovers)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(STOP_TIMEOUT)
            if self._reader is not None:
                self._reader.join(timeout=10)

    def gc_pauses(self, start: float, end: float) -> dict[str, Any] | None:
        """The worker's long garbage collections that ended between `start` and `end`
        (time.time()); None without the probe."""
        if self._gc_log is None:
            return None
        full: list[float] = []
        young: list[float] = []
        with (
            contextlib.suppress(FileNotFoundError),
            open(f"{self._gc_log}.{self.worker_pid}") as log,
        ):
            for line in log:
                ended, pause_ms, generation, _ = line.split()
                if start <= float(ended) <= end:
                    (full if generation == "2" else young).append(float(pause_ms))
        return {
            "full_collections": len(full),
            "full_pause_ms_max": round(max(full, default=0.0), 1),
            "full_pause_ms_total": round(sum(full), 1),
            f"younger_collections_over_{LONG_YOUNG_MS:g}_ms": len(young),
            "younger_pause_ms_max": round(max(young, default=0.0), 1),
        }
