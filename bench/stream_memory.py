"""What one idle SSE stream holds in the server's worker, by the line that allocated it.

    cd backend && uv run python ../bench/stream_memory.py [--streams 1000] [--top 40]

A real server (as in sse_bench.py) with bench/tracemalloc_probe loaded; tracing starts
before 200 warm-up streams are opened and closed, then a snapshot is taken, N idle
streams of one silent execution are opened, and a second snapshot is taken. It prints
the worker's RSS growth and the Python memory per stream (which tracemalloc itself
inflates somewhat; `idle_10000` measures RSS without it), the lines that allocated
most of it, and how much was allocated under Agented's own frames (the innermost
Agented frame of each allocation), so a change can be judged by what it freed.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import signal
import sys
import tempfile
import tracemalloc
from pathlib import Path

import uvloop
from httpio import Api
from procstat import raise_open_files_limit, rss_bytes
from scenarios import start_emitter, stream_path
from server_process import BACKEND_DIR, BENCH_DIR, BenchServer
from sse_load import GroupSpec, LocalGroup

WARM_UP = 200
SETTLE_S = 12.0  # for the warm-up streams to be gone, even with tracemalloc slowing all


def short(filename: str) -> str:
    for marker in ("/agented/", "site-packages/", "python3.11/"):
        if marker in filename:
            return filename.split(marker)[-1]
    return filename


async def snapshots(streams: int, workdir: Path) -> tuple[Path, Path, float]:
    """Snapshots before and after `streams` idle streams; and their RSS per stream (KB)."""
    prefix = workdir / "snapshot"
    server = BenchServer(
        workdir,
        pythonpath=f"{BENCH_DIR / 'tracemalloc_probe'}:{BACKEND_DIR}",
        gc_probe=False,
        env={"AGENTED_BENCH_SNAPSHOT": str(prefix)},
    )
    await asyncio.to_thread(server.start)
    try:
        api = Api(server.port, server.api_key)
        quiet, go = await start_emitter(
            api, workdir, "idle", lines=0, rate=0, go=True, bot_timeout=3600
        )
        path = stream_path(quiet)
        os.kill(server.worker_pid, signal.SIGUSR1)  # start tracing
        warm = LocalGroup(GroupSpec(server.port, path, WARM_UP, server.api_key))
        await warm.connect()
        warm.close()
        await asyncio.sleep(SETTLE_S)
        os.kill(server.worker_pid, signal.SIGUSR1)
        await asyncio.sleep(3.0)
        rss_before = rss_bytes(server.worker_pid)
        viewers = LocalGroup(GroupSpec(server.port, path, streams, server.api_key))
        connected = await viewers.connect()
        if connected.connected != streams:
            raise RuntimeError(f"only {connected.connected} of {streams} streams opened")
        await asyncio.sleep(2.0)
        rss_after = rss_bytes(server.worker_pid)
        os.kill(server.worker_pid, signal.SIGUSR1)
        await asyncio.sleep(5.0)
        viewers.close()
        go.touch()
    finally:
        server.stop()
    pid = server.worker_pid
    return (
        Path(f"{prefix}.{pid}.1"),
        Path(f"{prefix}.{pid}.2"),
        (rss_after - rss_before) / streams / 1024,
    )


def report(before: Path, after: Path, streams: int, top: int) -> None:
    old, new = tracemalloc.Snapshot.load(str(before)), tracemalloc.Snapshot.load(str(after))
    by_line = new.compare_to(old, "lineno")
    total = sum(stat.size_diff for stat in by_line)
    print(f"Python memory per stream: {total / streams:.0f} B")
    for stat in by_line[:top]:
        frame = stat.traceback[0]
        print(
            f"{stat.size_diff / streams:7.0f} B {stat.count_diff / streams:5.2f} objects  "
            f"{short(frame.filename)}:{frame.lineno}"
        )
    ours: collections.Counter[str] = collections.Counter()
    for stat in new.compare_to(old, "traceback"):
        inner = next((f for f in reversed(stat.traceback) if "/agented/" in f.filename), None)
        if inner is not None:
            ours[f"{short(inner.filename)}:{inner.lineno}"] += stat.size_diff
    print(f"allocated under Agented's frames: {sum(ours.values()) / streams:.0f} B per stream")
    for line, size in ours.most_common(top):
        if size / streams >= 10:
            print(f"{size / streams:7.0f} B  {line}")


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=1000, metavar="N")
    parser.add_argument("--top", type=int, default=40, metavar="LINES")
    args = parser.parse_args(argv)
    raise_open_files_limit()
    with tempfile.TemporaryDirectory(prefix="stream-memory-") as workdir:
        before, after, rss_kb = await snapshots(args.streams, Path(workdir))
        print(f"worker RSS per stream (tracemalloc on): {rss_kb:.2f} KB")
        report(before, after, args.streams, args.top)


if __name__ == "__main__":
    uvloop.run(main(sys.argv[1:]))
