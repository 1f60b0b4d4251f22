"""CPU and memory of processes, read from /proc (Linux only).

CPU is utime + stime of the whole process (all of its threads, e.g. Agented's SQLite
threads too) from /proc/<pid>/stat; memory is VmRSS from /proc/<pid>/status.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import time
from dataclasses import dataclass, field

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
MB = 1024 * 1024


def cpu_seconds(pid: int, *, with_children: bool = False) -> float:
    """User + system CPU time the process has used so far; `with_children` adds that of
    its children that have exited and been waited for (e.g. Agented's CLIs)."""
    with open(f"/proc/{pid}/stat", "rb") as stat:
        fields = stat.read().rsplit(b")", 1)[1].split()
    # fields[0] is field 3 of stat(5) (state); utime, stime, cutime, cstime are 14 to 17.
    ticks = int(fields[11]) + int(fields[12])
    if with_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / CLOCK_TICKS


@dataclass(frozen=True)
class MachineTimes:
    """CPU time of the whole machine so far, summed over its CPUs, from /proc/stat."""

    busy: float
    interrupts: float  # irq + softirq: kernel work no process is charged for (e.g. loopback)
    total: float

    @classmethod
    def now(cls) -> MachineTimes:
        with open("/proc/stat") as stat:
            user, nice, system, idle, iowait, irq, softirq, steal = (
                int(value) / CLOCK_TICKS for value in stat.readline().split()[1:9]
            )
        total = user + nice + system + idle + iowait + irq + softirq + steal
        return cls(total - idle - iowait, irq + softirq, total)


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status", "rb") as status:
        for line in status:
            if line.startswith(b"VmRSS:"):
                return int(line.split()[1]) * 1024
    raise LookupError(f"no VmRSS for pid {pid}")


def own_cpu_seconds() -> float:
    """CPU time of the calling process (all of its threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def open_files_limit(pid: int) -> int | None:
    """The soft RLIMIT_NOFILE of a process, from /proc/<pid>/limits."""
    with open(f"/proc/{pid}/limits") as limits:
        for line in limits:
            if line.startswith("Max open files"):
                value = line.split()[3]
                return int(value) if value.isdigit() else None
    return None


def raise_open_files_limit() -> int:
    """Raise this process's soft RLIMIT_NOFILE to its hard limit (children inherit it)."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def children(pid: int) -> list[int]:
    """Direct children of `pid` (from every thread's children list)."""
    found: list[int] = []
    with contextlib.suppress(FileNotFoundError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with (
                contextlib.suppress(FileNotFoundError),
                open(f"/proc/{pid}/task/{task}/children") as listing,
            ):
                found.extend(int(child) for child in listing.read().split())
    return found


def descendants(pid: int) -> list[int]:
    """Every live process below `pid` (children, their children, ...)."""
    found, todo = [], [pid]
    while todo:
        for child in children(todo.pop()):
            found.append(child)
            todo.append(child)
    return found


def tree_cpu_seconds(pid: int) -> tuple[float, float]:
    """CPU time so far of `pid` itself, and of everything below it: its live descendants
    and the processes under it that exited and were waited for (e.g. a worker's CLIs,
    PostgreSQL's backends under the postmaster). A process that vanishes meanwhile counts
    as 0."""
    own = cpu_seconds(pid)
    below = cpu_seconds(pid, with_children=True) - own
    for child in descendants(pid):
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            below += cpu_seconds(child, with_children=True)
    return own, below


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as raw:
            return raw.read().replace(b"\0", b" ").decode(errors="replace")
    except (FileNotFoundError, ProcessLookupError):
        return ""


@dataclass
class Usage:
    """CPU used by a process over a window of wall-clock time; `tree_cpu_seconds` adds
    that of its children that ended in the window."""

    cpu_seconds: float
    wall_seconds: float
    tree_cpu_seconds: float

    @property
    def percent(self) -> float:
        return 100.0 * self.cpu_seconds / self.wall_seconds if self.wall_seconds > 0 else 0.0


@dataclass
class CpuWindow:
    """Start it, do the work, `stop()` it: the process's CPU over that window."""

    pid: int
    _cpu: float = field(init=False)
    _tree_cpu: float = field(init=False)
    _wall: float = field(init=False)

    def __post_init__(self) -> None:
        self._cpu = cpu_seconds(self.pid)
        self._tree_cpu = cpu_seconds(self.pid, with_children=True)
        self._wall = time.monotonic()

    def stop(self) -> Usage:
        return Usage(
            cpu_seconds(self.pid) - self._cpu,
            time.monotonic() - self._wall,
            cpu_seconds(self.pid, with_children=True) - self._tree_cpu,
        )


@dataclass
class TreeCpuWindow:
    """A process's CPU, and that of everything below it, over a window (`tree_cpu_seconds`)."""

    pid: int
    _own: float = field(init=False)
    _below: float = field(init=False)
    _wall: float = field(init=False)

    def __post_init__(self) -> None:
        self._own, self._below = tree_cpu_seconds(self.pid)
        self._wall = time.monotonic()

    def stop(self) -> dict[str, float]:
        """CPU % (100 = one core) of the process and of its descendants over the window."""
        own, below = tree_cpu_seconds(self.pid)
        wall = max(time.monotonic() - self._wall, 1e-9)
        return {
            "cpu_percent": round(100 * (own - self._own) / wall, 1),
            "descendants_cpu_percent": round(100 * (below - self._below) / wall, 1),
        }


@dataclass
class MachineWindow:
    """How busy all CPUs of the machine were over a window (other workloads included)."""

    _start: MachineTimes = field(init=False)

    def __post_init__(self) -> None:
        self._start = MachineTimes.now()

    def percents(self) -> tuple[float, float]:
        """Busy time, and interrupt time within it, over the window in % of one CPU (so up to
        100 per CPU)."""
        end, start = MachineTimes.now(), self._start
        if end.total <= start.total:
            return 0.0, 0.0
        scale = 100.0 * (os.cpu_count() or 1) / (end.total - start.total)
        return (end.busy - start.busy) * scale, (end.interrupts - start.interrupts) * scale


class Sampler:
    """Samples a process's RSS and CPU every `interval` seconds, in the running loop."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.pid = pid
        self.interval = interval
        self.samples: list[tuple[float, float, int]] = []  # (monotonic, cpu seconds, rss)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._sample()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._sample()

    def _sample(self) -> None:
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            self.samples.append((time.monotonic(), cpu_seconds(self.pid), rss_bytes(self.pid)))

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            self._sample()

    @property
    def peak_rss(self) -> int:
        return max((rss for _, _, rss in self.samples), default=0)

    def peak_cpu_percent(self, window: float = 1.0) -> float:
        """The highest CPU % over any `window`-second stretch of the samples (over all of
        them if they span less)."""
        if len(self.samples) < 2:
            return 0.0
        (first_at, first_cpu, _), (last_at, last_cpu, _) = self.samples[0], self.samples[-1]
        if last_at - first_at < window * 0.9:
            return 100.0 * (last_cpu - first_cpu) / max(last_at - first_at, 1e-9)
        peak = 0.0
        start = 0
        for end, (at, cpu, _) in enumerate(self.samples):
            while at - self.samples[start][0] > window and start < end:
                start += 1
            first_at, first_cpu, _ = self.samples[start]
            if at - first_at >= window * 0.9:
                peak = max(peak, 100.0 * (cpu - first_cpu) / (at - first_at))
        return peak
