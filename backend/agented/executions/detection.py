"""Which backends this server can run: each CLI looked up on the CLIs' PATH and asked its version.

The dashboard uses this to guide a first bot: it offers the CLIs that are
really there and warns about a backend that is not. A CLI is found where a run
would find it, on the PATH of the environment the runs get
(`Settings.cli_environment`), and its program name comes from the command line a
run would use (`backends.build_command`), so neither is spelled a second time.

Asking for a version runs a program, possibly a slow or broken one, so each
probe runs in a thread with a timeout, in its own process group that is killed
when time is up, with /dev/null as stdin and no descriptor of the server's.
The answers are kept for a while: what is installed changes rarely, and the
dashboard asks on every visit to an empty page.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Mapping
from typing import get_args

from ..models import BackendType, InstalledBackend
from .backends import build_command

PROBE_TIMEOUT_SECONDS = 5.0
CACHE_SECONDS = 60.0
# A version is one short line; anything longer is cut rather than shown whole.
MAX_VERSION_CHARS = 200
# `backends.BACKEND_TYPES`, typed as the literals a record holds.
BACKEND_TYPES: tuple[BackendType, ...] = get_args(BackendType)


def program_of(backend_type: BackendType) -> str | None:
    """The program a run of `backend_type` starts, or None for `command` (the bot's own argv)."""
    if backend_type == "command":
        return None
    return build_command(backend_type, "x")[0]


def probe(
    backend_type: BackendType, environ: Mapping[str, str], timeout: float = PROBE_TIMEOUT_SECONDS
) -> InstalledBackend:
    """Whether `backend_type`'s CLI is on `environ`'s PATH, where, and the version it reports.

    Blocks for up to `timeout` seconds: call it from a thread. `command` is always
    available, since it runs whatever program the bot names.
    """
    program = program_of(backend_type)
    if program is None:
        return InstalledBackend(backend_type=backend_type, installed=True, path=None, version=None)
    path = shutil.which(program, path=environ.get("PATH", os.defpath))
    if path is None:
        return InstalledBackend(backend_type=backend_type, installed=False, path=None, version=None)
    return InstalledBackend(
        backend_type=backend_type,
        installed=True,
        path=path,
        version=_version(path, environ, timeout),
    )


def _version(path: str, environ: Mapping[str, str], timeout: float) -> str | None:
    """The first line `path --version` prints, or None if it fails, says nothing or hangs."""
    try:
        process = subprocess.Popen(
            [path, "--version"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(environ),
            close_fds=True,
            start_new_session=True,  # its own group, so a timeout kills its children too
        )
    except OSError:  # not executable after all, or gone since `which` found it
        return None
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        # The group id is the child's pid, which stays ours until it is reaped below.
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        for pipe in (process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()
        return None
    if process.returncode != 0:
        return None
    # Some CLIs print their version on stderr.
    for output in (stdout, stderr):
        for line in output.decode("utf-8", "replace").splitlines():
            if line.strip():
                return line.strip()[:MAX_VERSION_CHARS]
    return None


class BackendDetector:
    """Every backend type's availability, probed off the event loop and cached for a while."""

    def __init__(
        self,
        environ: Mapping[str, str],
        *,
        timeout: float = PROBE_TIMEOUT_SECONDS,
        cache_seconds: float = CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._environ = environ
        self._timeout = timeout
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._found: list[InstalledBackend] | None = None
        self._found_at = 0.0
        # Requests arriving together share one probe instead of each starting the CLIs.
        self._lock = asyncio.Lock()

    async def backends(self) -> list[InstalledBackend]:
        async with self._lock:
            if self._found is None or self._clock() - self._found_at >= self._cache_seconds:
                self._found = list(
                    await asyncio.gather(
                        *(
                            asyncio.to_thread(probe, backend, self._environ, self._timeout)
                            for backend in BACKEND_TYPES
                        )
                    )
                )
                self._found_at = self._clock()
            return self._found
