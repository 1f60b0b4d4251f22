"""One CLI process: spawned in its own process group, read line by line, stopped for good.

The CLI gets no stdin and a new session (so a new process group): stopping it
signals the whole group, and grandchildren die with it. Output is read in large
chunks and split into lines here rather than with StreamReader.readline, whose
line limit would abort the reader on a very long line; such lines are cut into
pieces of MAX_LINE_BYTES instead, and invalid UTF-8 becomes U+FFFD.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path

READ_CHUNK = 256 * 1024
MAX_LINE_BYTES = 256 * 1024
DRAIN_AFTER_EXIT = 5.0

LineSink = Callable[[str, list[str], float], None]
BeforeRead = Callable[[], Awaitable[None]]


def _cut(piece: bytes) -> int:
    """Where to cut an over-long line so as not to split a UTF-8 character."""
    cut = MAX_LINE_BYTES
    while cut > MAX_LINE_BYTES - 4 and (piece[cut] & 0xC0) == 0x80:
        cut -= 1
    return cut


def _decode(raw: bytes) -> str:
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    return raw.decode("utf-8", "replace")


def split_lines(pending: bytes, chunk: bytes) -> tuple[list[str], bytes]:
    """Complete lines in `pending + chunk`, and the unfinished rest."""
    parts = (pending + chunk).split(b"\n")
    rest = parts.pop()
    lines = [_decode(part) for part in parts if len(part) <= MAX_LINE_BYTES]
    if len(lines) != len(parts):  # rare: some line is too long, split it up
        lines = []
        for part in parts:
            while len(part) > MAX_LINE_BYTES:
                cut = _cut(part)
                lines.append(_decode(part[:cut]))
                part = part[cut:]
            lines.append(_decode(part))
    while len(rest) > MAX_LINE_BYTES:
        cut = _cut(rest)
        lines.append(_decode(rest[:cut]))
        rest = rest[cut:]
    return lines, rest


def process_start_time(pid: int) -> str | None:
    """When `pid` started (clock ticks since boot, from /proc), to tell it from a reused pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return fields[19] if len(fields) > 19 else None


def kill_orphaned_group(group: int, started: str) -> bool:
    """SIGKILL a process group left by a crashed server, if its leader is still that process."""
    if process_start_time(group) != started:
        return False
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signal.SIGKILL)
        return True
    return False


class CliProcess:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process
        self.pid = process.pid

    @classmethod
    async def spawn(
        cls, argv: Sequence[str], *, cwd: str | None, env: Mapping[str, str]
    ) -> CliProcess:
        """Start `argv`; raises OSError (e.g. FileNotFoundError) when it cannot be run."""
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=cwd,
            env=dict(env),
            start_new_session=True,
        )
        return cls(process)

    @property
    def returncode(self) -> int | None:
        return self._process.returncode

    async def wait(self) -> int:
        return await self._process.wait()

    async def pump(self, sink: LineSink, before_read: BeforeRead) -> None:
        """Feed both output streams to `sink` until they close."""
        assert self._process.stdout is not None
        assert self._process.stderr is not None
        await asyncio.gather(
            self._pump_one("stdout", self._process.stdout, sink, before_read),
            self._pump_one("stderr", self._process.stderr, sink, before_read),
        )

    @staticmethod
    async def _pump_one(
        name: str, reader: asyncio.StreamReader, sink: LineSink, before_read: BeforeRead
    ) -> None:
        pending = b""
        while True:
            await before_read()
            chunk = await reader.read(READ_CHUNK)
            if not chunk:
                break
            lines, pending = split_lines(pending, chunk)
            if lines:
                sink(name, lines, time.time())
        if pending:
            sink(name, [_decode(pending)], time.time())

    def signal_group(self, signum: int) -> None:
        """Signal every process in the CLI's group (the group outlives its leader)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signum)

    async def stop(self, grace: float) -> None:
        """SIGTERM the group, then SIGKILL it if the CLI has not exited within `grace`."""
        self.signal_group(signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace):
                await self._process.wait()
        self.signal_group(signal.SIGKILL)
        await self._process.wait()
