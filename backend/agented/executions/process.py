"""One CLI process: spawned with nothing of the server's, read line by line, stopped for good.

The CLI gets /dev/null as stdin, two pipes as stdout and stderr, and no other
file descriptor: the server's listening sockets and Hypercorn's pipes stay
behind. That holds under any event loop because the spawn is the standard
library's (`close_fds`), not the loop's (uvloop's passes on every descriptor
not marked close-on-exec, and Hypercorn makes its listening sockets
inheritable); the server's own descriptors are also marked close-on-exec first,
for anything else that spawns. The pipes are read through the loop's pipe
transports, and the exit is learned from a pidfd, so no event loop's child
watcher is involved either.

The CLI runs in a new session (so a new process group), in its own cgroup
where one can be made, and carries its execution id in its environment (see
`containment`); without a cgroup, its descendants are also recorded every
TRACK_SECONDS while it runs. Stopping it signals all of that; the CLI stays unreaped until
then, so its pid, group and session ids cannot be reused by anyone else while
they are being signalled.

Output is read in large chunks and split into lines here rather than with
StreamReader.readline, whose line limit would abort the reader on a very long
line; such lines are cut into pieces of MAX_LINE_BYTES instead, and invalid
UTF-8 becomes U+FFFD.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence

from ..tasks import cancel_and_wait
from .containment import (
    CGROUP_EMPTY_WAIT,
    RUN_MARKER,
    ProcessEntry,
    RunCgroup,
    find_processes,
    signal_processes,
)

logger = logging.getLogger(__name__)

READ_CHUNK = 256 * 1024
MAX_LINE_BYTES = 256 * 1024
DRAIN_AFTER_EXIT = 5.0
# Without a cgroup, how often a run's descendants are recorded while it runs: a child
# that leaves the session and drops the marker is still found by its pid once its
# parent (the CLI) has exited.
TRACK_SECONDS = 2.0

LineSink = Callable[[str, list[str], float], None]
BeforeRead = Callable[[], Awaitable[None]]
# The started CLI, the read ends of its stdout and stderr, and its cgroup if it has one.
Spawned = tuple[subprocess.Popen[bytes], int, int, RunCgroup | None]

# One spawn at a time: the server joins a run's cgroup for the instant of its spawn.
_spawning = threading.Lock()
_reported_containment: set[bool] = set()  # log each way of containing CLIs once


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


def mark_descriptors_close_on_exec() -> int:
    """Mark every descriptor above stderr close-on-exec; return how many were not."""
    marked = 0
    try:
        names = os.listdir("/proc/self/fd")
    except FileNotFoundError:  # not Linux; Popen's close_fds still protects the CLI
        names = os.listdir("/dev/fd")
    for name in names:
        fd = int(name)
        if fd > 2:
            with contextlib.suppress(OSError):  # e.g. the directory's own, already closed
                if os.get_inheritable(fd):
                    os.set_inheritable(fd, False)
                    marked += 1
    return marked


class _Pipe:
    """The read end of a CLI's output pipe, read through the loop's pipe transport.

    The transport is what the loop's own subprocess support uses: the loop reads
    the pipe when it is readable, in its I/O phase, and pauses reading while the
    buffer is full. Reading the descriptor directly instead would let a CLI that
    prints without pause keep the pump from ever yielding to the viewers.
    """

    def __init__(self, reader: asyncio.StreamReader, transport: asyncio.ReadTransport) -> None:
        self._reader = reader
        self._transport = transport

    @classmethod
    async def open(cls, fd: int) -> _Pipe:
        """Take ownership of `fd` (closed with the transport, or here if that fails)."""
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=READ_CHUNK, loop=loop)
        file = os.fdopen(fd, "rb", buffering=0)
        try:
            transport, _ = await loop.connect_read_pipe(
                lambda: asyncio.StreamReaderProtocol(reader, loop=loop), file
            )
        except BaseException:
            file.close()
            raise
        return cls(reader, transport)

    async def read(self, size: int) -> bytes:
        """Up to `size` bytes as soon as any are there; b"" once every writer is gone."""
        return await self._reader.read(size)

    def close(self) -> None:
        self._transport.close()


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class CliProcess:
    def __init__(
        self,
        popen: subprocess.Popen[bytes],
        stdout: _Pipe,
        stderr: _Pipe,
        execution_id: str,
        cgroup: RunCgroup | None,
    ) -> None:
        self._popen = popen
        self.pid = popen.pid
        self._stdout = stdout
        self._stderr = stderr
        self._execution_id = execution_id
        self.cgroup = cgroup
        self._tracked: dict[int, ProcessEntry] = {}
        self._exit: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pidfd = -1
        self._exit_waiter: asyncio.Future[object] | None = None  # without a pidfd
        self._watch_exit()
        self._tracker = None if cgroup is not None else asyncio.ensure_future(self._track())

    @classmethod
    async def spawn(
        cls, argv: Sequence[str], *, cwd: str | None, env: Mapping[str, str], execution_id: str
    ) -> CliProcess:
        """Start `argv`; raises OSError (e.g. FileNotFoundError) when it cannot be run."""
        environment = {**env, RUN_MARKER: execution_id}
        spawning = asyncio.ensure_future(
            asyncio.to_thread(_spawn, list(argv), cwd, environment, execution_id)
        )
        try:
            popen, stdout, stderr, cgroup = await asyncio.shield(spawning)
        except asyncio.CancelledError:
            spawning.add_done_callback(_abandon)  # the thread still spawns: undo that
            raise
        pipes: list[_Pipe] = []
        try:
            for fd in (stdout, stderr):
                pipes.append(await _Pipe.open(fd))  # owns fd from here, even if it fails
        except BaseException:
            for pipe in pipes:
                pipe.close()
            for fd in (stdout, stderr)[len(pipes) + 1 :]:
                os.close(fd)
            _kill(popen, cgroup)
            raise
        return cls(popen, pipes[0], pipes[1], execution_id, cgroup)

    def _watch_exit(self) -> None:
        """Resolve `_exit` when the CLI exits, without reaping it."""
        loop = asyncio.get_running_loop()
        try:
            self._pidfd = os.pidfd_open(self.pid)
        except (AttributeError, OSError):  # no pidfds (not Linux 5.3+): a thread waits instead
            waiter: asyncio.Future[object] = asyncio.ensure_future(
                asyncio.to_thread(os.waitid, os.P_PID, self.pid, os.WEXITED | os.WNOWAIT)
            )
            waiter.add_done_callback(lambda _: _resolve(self._exit))
            self._exit_waiter = waiter
        else:
            loop.add_reader(self._pidfd, _resolve, self._exit)

    @property
    def returncode(self) -> int | None:
        return self._popen.returncode

    async def wait(self) -> None:
        """Until the CLI has exited (it is reaped later, by `release`)."""
        await asyncio.shield(self._exit)

    async def pump(self, sink: LineSink, before_read: BeforeRead) -> None:
        """Feed both output streams to `sink` until they close."""
        await asyncio.gather(
            self._pump_one("stdout", self._stdout, sink, before_read),
            self._pump_one("stderr", self._stderr, sink, before_read),
        )

    @staticmethod
    async def _pump_one(name: str, pipe: _Pipe, sink: LineSink, before_read: BeforeRead) -> None:
        pending = b""
        while True:
            await before_read()
            chunk = await pipe.read(READ_CHUNK)
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

    async def signal_all(self, signum: int) -> None:
        """Signal the CLI and everything it started, including what left its group."""
        if self.cgroup is not None:
            self.signal_group(signum)
            if signum == signal.SIGKILL:
                await asyncio.to_thread(self.cgroup.kill)
            else:
                await asyncio.to_thread(self.cgroup.signal, signum)
        else:
            await asyncio.to_thread(self._signal_tracked, signum)

    async def _track(self) -> None:
        while not self._exit.done():
            await asyncio.to_thread(self._record, ())
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(TRACK_SECONDS):
                    await self.wait()

    def _record(self, execution_ids: Collection[str]) -> None:
        """Remember the run's processes; cheap without `execution_ids` (no environ reads)."""
        for entry in find_processes(execution_ids, [self.pid]):
            self._tracked[entry.pid] = entry

    def _signal_tracked(self, signum: int) -> None:
        """Without a cgroup: look before signalling, since a dying CLI's children lose their
        parent link, and remember what was found for the next signal. The group and session
        are the run's while the CLI is unreaped."""
        self._record([self._execution_id])
        self.signal_group(signum)
        # A copy: the tracker may be adding entries from its own thread. Each entry is
        # checked against its start time before it is signalled.
        signal_processes(list(self._tracked.values()), signum)

    async def stop(self, grace: float) -> None:
        """SIGTERM everything, then SIGKILL it if the CLI has not exited within `grace`."""
        await self.signal_all(signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace):
                await self.wait()
        await self.signal_all(signal.SIGKILL)
        await self.wait()

    async def release(self) -> int:
        """Kill whatever is left, reap the CLI, free its pipes and cgroup; return its exit code."""
        await self.signal_all(signal.SIGKILL)
        await self.wait()
        await cancel_and_wait(self._tracker)
        self._unwatch_exit()
        code = self._popen.wait()  # it has exited: this only reaps
        self._stdout.close()
        self._stderr.close()
        if self.cgroup is not None and not await asyncio.to_thread(
            self.cgroup.remove, CGROUP_EMPTY_WAIT
        ):
            logger.warning("could not remove %s; the next start will", self.cgroup.path)
        return code

    def _unwatch_exit(self) -> None:
        if self._pidfd >= 0:
            asyncio.get_running_loop().remove_reader(self._pidfd)
            os.close(self._pidfd)
            self._pidfd = -1


def _spawn(argv: list[str], cwd: str | None, env: dict[str, str], execution_id: str) -> Spawned:
    """Start the CLI (in a worker thread: cgroup moves and fork take milliseconds)."""
    with _spawning:
        mark_descriptors_close_on_exec()
        stdout, stdout_child = os.pipe()
        stderr, stderr_child = os.pipe()
        cgroup = RunCgroup.create(execution_id)
        try:
            if cgroup is not None:
                try:
                    cgroup.join()
                except OSError as error:
                    logger.warning("cannot run the CLI in %s: %s", cgroup.path, error)
                    cgroup.remove()
                    cgroup = None
            _report_containment(cgroup)
            try:
                popen = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=stdout_child,
                    stderr=stderr_child,
                    cwd=cwd,
                    env=env,
                    close_fds=True,
                    start_new_session=True,
                )
            finally:
                if cgroup is not None:
                    _leave(cgroup)
        except BaseException:
            os.close(stdout)
            os.close(stderr)
            if cgroup is not None:
                cgroup.remove()
            raise
        finally:
            os.close(stdout_child)
            os.close(stderr_child)
        return popen, stdout, stderr, cgroup


def _abandon(spawning: asyncio.Future[Spawned]) -> None:
    """Kill a CLI whose spawn finished after its run was cancelled."""
    if spawning.cancelled() or spawning.exception() is not None:
        return
    popen, stdout, stderr, cgroup = spawning.result()
    _kill(popen, cgroup)
    os.close(stdout)
    os.close(stderr)


def _kill(popen: subprocess.Popen[bytes], cgroup: RunCgroup | None) -> None:
    """SIGKILL a CLI nobody will run (the Popen, once collected, is reaped by subprocess)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(popen.pid, signal.SIGKILL)
    if cgroup is not None:
        cgroup.kill()


def _report_containment(cgroup: RunCgroup | None) -> None:
    if (cgroup is not None) in _reported_containment:
        return
    _reported_containment.add(cgroup is not None)
    if cgroup is not None:
        logger.info("each CLI runs in a cgroup of its own, inside %s", cgroup.path.parent)
    else:
        logger.info(
            "no writable cgroup v2 here: a CLI's processes are found through /proc "
            "(its group, session, descendants and %s)",
            RUN_MARKER,
        )


def _leave(cgroup: RunCgroup) -> None:
    try:
        cgroup.leave()
    except OSError:
        # Checked before joining, so this should not happen; if it does, RunCgroup.kill
        # refuses to kill a cgroup the server is in.
        logger.exception("the server could not leave %s", cgroup.path)
