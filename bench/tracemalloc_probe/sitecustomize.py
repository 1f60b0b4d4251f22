"""The per-stream memory tool's probe, loaded by its server through PYTHONPATH.

When AGENTED_BENCH_SNAPSHOT is set, the first SIGUSR1 starts tracemalloc (30 frames;
started late, so the server's start-up does not crawl under it) and every later one
writes a snapshot to `<AGENTED_BENCH_SNAPSHOT>.<pid>.<n>`. Nothing else changes: the
server's code is untouched.
"""

from __future__ import annotations

import os
import signal
import tracemalloc
from types import FrameType


def _install(path: str) -> None:
    taken = 0

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal taken
        if not tracemalloc.is_tracing():
            tracemalloc.start(30)
            return
        taken += 1
        tracemalloc.take_snapshot().dump(f"{path}.{os.getpid()}.{taken}")

    signal.signal(signal.SIGUSR1, on_signal)


if snapshot_path := os.environ.get("AGENTED_BENCH_SNAPSHOT"):
    _install(snapshot_path)
