"""Stopping a CLI that outlived a crashed server, and only that one."""

from __future__ import annotations

import subprocess
import sys

from agented.executions.process import kill_orphaned_group, process_start_time


def test_only_the_recorded_process_group_is_killed() -> None:
    orphan = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True
    )
    try:
        started = process_start_time(orphan.pid)
        assert started is not None
        assert not kill_orphaned_group(orphan.pid, str(int(started) + 1)), "a reused pid is spared"
        assert orphan.poll() is None
        assert kill_orphaned_group(orphan.pid, started)
        assert orphan.wait(timeout=30) == -9
    finally:
        orphan.kill()
        orphan.wait(timeout=30)
    assert not kill_orphaned_group(orphan.pid, started), "gone: nothing to kill"
