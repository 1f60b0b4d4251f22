"""Finding every process a run started, so that stopping the run stops them all.

A CLI runs in its own session and process group, so one `killpg` stops it and
its ordinary children. A process can still leave the group: `setsid`, or a
daemon's double fork, takes it out, and once its parent exits it is nobody's
descendant any more. Two marks catch those:

* A cgroup v2 per run, created inside the server's own, where the server may
  (as root, or in a delegated subtree). The server joins the run's cgroup for the instant of the
  spawn and leaves it straight after, so the CLI is born inside and nothing it
  starts can leave; `cgroup.kill` ends them all at once.
* Everywhere, RUN_MARKER=<execution id> in the CLI's environment, which its
  descendants inherit across fork, exec and setsid, together with the session,
  group and parent links in /proc. Only a process that both clears its
  environment and leaves the session escapes this; only the cgroup stops that.

Pids are reused, so nothing here signals a pid it has not just confirmed: a
group or session is only treated as the run's while its leader is known to be
the run's CLI (unreaped, or alive with the recorded start time), and each
signal goes through a pidfd opened before the process's start time is checked,
so the pid cannot change hands between the check and the signal.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

RUN_MARKER = "AGENTED_EXECUTION_ID"
CGROUP_PREFIX = "agented-"
CGROUP_EMPTY_WAIT = 2.0


def process_start_time(pid: int) -> str | None:
    """When `pid` started (clock ticks since boot, from /proc), to tell it from a reused pid."""
    entry = _entry(pid)
    return entry.started if entry is not None else None


@dataclass(frozen=True, slots=True)
class ProcessEntry:
    """One process as /proc shows it; `started` tells it apart from a later one with its pid."""

    pid: int
    parent: int
    group: int
    session: int
    started: str


def _entry(pid: int) -> ProcessEntry | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    if len(fields) <= 19:
        return None
    return ProcessEntry(pid, int(fields[1]), int(fields[2]), int(fields[3]), fields[19])


def _entries() -> list[ProcessEntry]:
    names: list[str] = []
    entries = []
    with contextlib.suppress(FileNotFoundError):  # no /proc: only the process group is known
        names = os.listdir("/proc")
    for name in names:
        if name.isdigit() and (entry := _entry(int(name))) is not None:
            entries.append(entry)
    return entries


def _marker(execution_id: str) -> bytes:
    return f"{RUN_MARKER}={execution_id}\0".encode()


def _carries_marker(pid: int, markers: Collection[bytes]) -> bool:
    try:
        environ = b"\0" + Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:  # gone, or another user's process: not one of ours
        return False
    return any(b"\0" + marker in environ for marker in markers)


def find_processes(execution_ids: Collection[str], groups: Collection[int]) -> list[ProcessEntry]:
    """The processes of these runs: marked with one of their ids, in one of their sessions or
    groups, or descended from any of those. Callers pass only `groups` whose leader is theirs."""
    markers = [_marker(execution_id) for execution_id in execution_ids]
    entries = _entries()
    server = os.getpid()
    found = {
        entry.pid: entry
        for entry in entries
        if entry.group in groups
        or entry.session in groups
        or (markers and _carries_marker(entry.pid, markers))
    }
    children: dict[int, list[ProcessEntry]] = {}
    for entry in entries:
        children.setdefault(entry.parent, []).append(entry)
    pending = list(found)
    while pending:
        for child in children.get(pending.pop(), ()):
            if child.pid not in found:
                found[child.pid] = child
                pending.append(child.pid)
    found.pop(server, None)  # never the server itself, whatever it looks like
    return list(found.values())


def send_signal(entry: ProcessEntry, signum: int) -> bool:
    """Signal `entry` if its pid still belongs to that very process."""
    try:
        pidfd = os.pidfd_open(entry.pid)
    except ProcessLookupError:
        return False
    except (AttributeError, OSError):  # no pidfds (not Linux 5.3+): check, then signal the pid
        if process_start_time(entry.pid) != entry.started:
            return False
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(entry.pid, signum)
            return True
        return False
    try:
        if process_start_time(entry.pid) != entry.started:
            return False
        signal.pidfd_send_signal(pidfd, signum)
        return True
    except (ProcessLookupError, PermissionError):
        return False
    finally:
        os.close(pidfd)


def signal_processes(entries: Iterable[ProcessEntry], signum: int) -> int:
    return sum(send_signal(entry, signum) for entry in entries)


def _own_cgroup() -> Path | None:
    """The directory of this process's cgroup v2, if the unified hierarchy is mounted."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
        mounts = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return None
    relative = next((line[3:] for line in lines if line.startswith("0::")), None)
    if relative is None or not relative.startswith("/"):
        return None
    for line in mounts:
        mount, _, filesystem = line.partition(" - ")
        fields = mount.split()
        if len(fields) < 5 or not filesystem.startswith("cgroup2 "):
            continue
        root, point = (_unescape(field) for field in fields[3:5])
        if relative == root or relative.startswith(root.rstrip("/") + "/"):
            directory = Path(point, relative[len(root) :].lstrip("/"))
            if directory.is_dir():
                return directory
    return None


def _unescape(field: str) -> str:
    """mountinfo writes space, tab, newline and backslash as octal escapes."""
    for code in ("040", "011", "012", "134"):
        field = field.replace("\\" + code, chr(int(code, 8)))
    return field


class RunCgroup:
    """The cgroup v2 a run's CLI is born in; every process it starts stays inside."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def create(cls, execution_id: str) -> RunCgroup | None:
        """A new cgroup for the run inside the server's own, or None where that is not allowed."""
        own = _own_cgroup()
        if own is None:
            return None
        path = own / f"{CGROUP_PREFIX}{execution_id}"
        try:
            # Joining and leaving writes to these files: a no-op move proves both are allowed,
            # so the server is never left stuck inside a run's cgroup.
            (own / "cgroup.procs").write_text(str(os.getpid()))
            path.mkdir()
        except OSError:
            return None
        return cls(path)

    @classmethod
    def of_run(cls, execution_id: str) -> RunCgroup | None:
        """The cgroup an earlier server made for the run, if it still exists."""
        own = _own_cgroup()
        path = own / f"{CGROUP_PREFIX}{execution_id}" if own is not None else None
        return cls(path) if path is not None and path.is_dir() else None

    def join(self) -> None:
        """Move the server in, so the next child is born inside; `leave` straight after."""
        (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def leave(self) -> None:
        (self.path.parent / "cgroup.procs").write_text(str(os.getpid()))

    def pids(self) -> list[int]:
        try:
            return [int(pid) for pid in (self.path / "cgroup.procs").read_text().split()]
        except OSError:
            return []

    def signal(self, signum: int) -> None:
        for pid in self.pids():
            entry = _entry(pid)
            if entry is not None and pid != os.getpid():
                send_signal(entry, signum)

    def kill(self) -> bool:
        """SIGKILL everything inside; False if there was nothing (or it was not safe)."""
        pids = self.pids()
        if not pids:
            return False
        if os.getpid() in pids:  # the server failed to leave: never kill it with its run
            logger.error("the server is inside %s; not killing it", self.path)
            return False
        try:
            (self.path / "cgroup.kill").write_text("1")
        except FileNotFoundError:  # kernel < 5.14: one by one
            self.signal(signal.SIGKILL)
        return True

    def remove(self, wait: float = 0.0) -> bool:
        """Remove the (emptied) cgroup, waiting up to `wait` seconds for the dying to exit."""
        deadline = time.monotonic() + wait
        while True:
            try:
                self.path.rmdir()
                return True
            except FileNotFoundError:
                return True
            except OSError:
                if time.monotonic() >= deadline:
                    return False
            time.sleep(0.01)


@dataclass(frozen=True, slots=True)
class Leftover:
    """An execution a crashed server left active, and the process group it ran in, if any."""

    execution_id: str
    group: int | None
    started: str | None


def stop_leftovers(leftovers: Collection[Leftover]) -> int:
    """SIGKILL whatever crashed runs left behind; return how many processes that was.

    A recorded group counts as the run's only while its leader is alive with the
    recorded start time; once the leader is gone, its former members are found
    by the run's marker (and the run's cgroup) instead.
    """
    killed = 0
    groups = set()
    for leftover in leftovers:
        cgroup = RunCgroup.of_run(leftover.execution_id)
        if cgroup is not None:
            members = len(cgroup.pids())
            killed += members if cgroup.kill() else 0
            if not cgroup.remove(wait=CGROUP_EMPTY_WAIT):
                logger.warning("could not remove %s", cgroup.path)
        group, started = leftover.group, leftover.started
        if group is not None and started and process_start_time(group) == started:
            groups.add(group)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, signal.SIGKILL)  # at once; the members are counted below
    ids = {leftover.execution_id for leftover in leftovers}
    return killed + signal_processes(find_processes(ids, groups), signal.SIGKILL)
