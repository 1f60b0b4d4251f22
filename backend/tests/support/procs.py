"""Looking at processes through /proc, for tests that check what is alive and who started it."""

from __future__ import annotations

import contextlib
from pathlib import Path


def alive(pid: int) -> bool:
    """True while `pid` runs (a zombie awaiting its reaper counts as dead)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def worker_pid(master: int) -> int:
    """The Hypercorn worker: the master's child started by multiprocessing's spawn_main."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            parent = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
            if parent == master and b"spawn_main" in (entry / "cmdline").read_bytes():
                return int(entry.name)
    raise AssertionError(f"no Hypercorn worker under process {master}")
