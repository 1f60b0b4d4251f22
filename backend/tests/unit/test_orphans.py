"""Stopping what a CLI left behind when the server crashed, and only that."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid

import pytest

from agented.executions.containment import (
    RUN_MARKER,
    Leftover,
    RunCgroup,
    process_start_time,
    stop_leftovers,
)

from ..support.procs import alive


def test_only_the_recorded_process_group_is_killed() -> None:
    orphan = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True
    )
    execution_id = f"exe_{uuid.uuid4().hex}"  # no process carries it: only the group can match
    try:
        started = process_start_time(orphan.pid)
        assert started is not None
        reused = Leftover(execution_id, orphan.pid, str(int(started) + 1))
        assert stop_leftovers([reused]) == 0, "a reused pid is spared"
        assert orphan.poll() is None
        assert stop_leftovers([Leftover(execution_id, orphan.pid, started)]) == 1
        assert orphan.wait(timeout=30) == -9
    finally:
        orphan.kill()
        orphan.wait(timeout=30)
    assert stop_leftovers([Leftover(execution_id, orphan.pid, started)]) == 0, "gone: nothing"


FORK_AND_LEAVE = (
    "import os, sys, time\n"
    "child = os.fork()\n"
    "if child == 0:\n"
    "    time.sleep(120)\n"
    "    os._exit(0)\n"
    "print(child, flush=True)\n"  # the leader exits now; its child stays in the group
)


def _wait_until(check, what: str) -> None:
    deadline = time.monotonic() + 30
    while not check():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.02)


def test_recovery_kills_a_leftover_group_whose_leader_is_gone_but_spares_strangers() -> None:
    execution_id = "exe_leftover1"
    leader = subprocess.Popen(
        [sys.executable, "-c", FORK_AND_LEAVE],
        start_new_session=True,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, RUN_MARKER: execution_id},
    )
    started = process_start_time(leader.pid)
    assert started is not None
    assert leader.stdout is not None
    member = int(leader.stdout.readline())
    stranger = subprocess.Popen(  # a process of the same kind that is no run's
        [sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True
    )
    try:
        assert leader.wait(timeout=30) == 0
        assert alive(member)
        assert os.getpgid(member) == leader.pid
        killed = stop_leftovers(
            [
                Leftover(execution_id, leader.pid, started),
                # a recorded group whose leader pid now names another process: not ours
                Leftover("exe_leftover2", stranger.pid, str(int(started) - 1)),
            ]
        )
        assert killed == 1
        _wait_until(lambda: not alive(member), "the leaderless group's member to die")
        assert stranger.poll() is None, "an unrelated process is spared"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(member, signal.SIGKILL)
        stranger.kill()
        stranger.wait(timeout=30)


def test_recovery_kills_everything_in_a_leftover_runs_cgroup() -> None:
    execution_id = f"exe_{uuid.uuid4().hex[:16]}"
    cgroup = RunCgroup.create(execution_id)
    if cgroup is None:
        pytest.skip("no writable cgroup v2 here")
    cgroup.join()
    try:  # like a CLI: born in the run's cgroup, then it drops its marker and leaves the group
        escaped = subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True, env={}
        )
    finally:
        cgroup.leave()
    try:
        assert cgroup.pids() == [escaped.pid]
        assert stop_leftovers([Leftover(execution_id, None, None)]) == 1
        assert escaped.wait(timeout=30) == -signal.SIGKILL
        assert not cgroup.path.exists(), "the emptied cgroup is removed"
    finally:
        escaped.kill()
        escaped.wait(timeout=30)
        cgroup.remove()
