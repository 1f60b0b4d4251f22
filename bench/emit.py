"""The benchmark's stand-in for an AI CLI: prints numbered, timestamped lines.

Run by a bot of backend `command` as `python emit.py '<json parameters>'`:

    {"lines": N, "rate": R, "go_file": path or null, "size": bytes, "max_wait": seconds,
     "numbered": false}

It first waits (polling every 10 ms, at most `max_wait` seconds, default 300) until
`go_file` exists, so that every subscriber is connected before the first line; then it
writes N lines `"<seq> t=<time.time():.6f> <padding>"` (about `size` bytes each with the
newline). With R > 0 it flushes every line and paces them on absolute deadlines
(start + seq / R), so a late line never delays the ones after it; with R = 0 it writes
as fast as it can, many lines per write. A reader measures a line's latency as its own
clock minus the `t=` of the line (same machine, same clock).

With "numbered" true it instead prints N lines of exactly `size` bytes (newline included,
`size` >= 10) as fast as it can: the seq as 8 digits, then padding; a reader checks order
and completeness from those digits (the memory scenarios, where a stamp would not fit).

It exits early, with status 3, if its parent (the server) goes away, so an aborted
benchmark leaves nothing running behind it.
"""

from __future__ import annotations

import json
import os
import sys
import time

POLL_SECONDS = 0.01
DEFAULT_MAX_WAIT = 300.0
BLOCK_LINES = 2000  # lines per write() when printing as fast as possible
NUMBERED_BLOCK_BYTES = 1 << 20  # bytes per write() of numbered lines
ORPHANED = 3
GO_TIMEOUT = 4


def _orphaned(parent: int) -> bool:
    return os.getppid() != parent


def _wait_for(go_file: str, max_wait: float, parent: int) -> bool:
    deadline = time.monotonic() + max_wait
    while not os.path.exists(go_file):
        if time.monotonic() > deadline or _orphaned(parent):
            return False
        time.sleep(POLL_SECONDS)
    return True


def _padding(size: int) -> str:
    """Padding that brings a line of a typical seq to about `size` bytes with its newline."""
    return "x" * max(0, size - len("1000000 t=1700000000.000000 \n"))


def _flood(lines: int, padding: str) -> None:
    out = sys.stdout.buffer
    clock = time.time
    for first in range(1, lines + 1, BLOCK_LINES):
        last = min(first + BLOCK_LINES, lines + 1)
        out.write(
            "".join(f"{seq} t={clock():.6f} {padding}\n" for seq in range(first, last)).encode()
        )
    out.flush()


def _numbered(lines: int, size: int) -> None:
    out = sys.stdout.buffer
    padding = "x" * (size - 9)
    block = max(1, NUMBERED_BLOCK_BYTES // size)
    for first in range(1, lines + 1, block):
        last = min(first + block, lines + 1)
        out.write("".join(f"{seq:08d}{padding}\n" for seq in range(first, last)).encode())
    out.flush()


def _paced(lines: int, rate: float, padding: str, parent: int) -> bool:
    out = sys.stdout.buffer
    start = time.monotonic()
    for seq in range(1, lines + 1):
        delay = start + (seq - 1) / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        out.write(f"{seq} t={time.time():.6f} {padding}\n".encode())
        out.flush()
        if seq % 1000 == 0 and _orphaned(parent):
            return False
    return True


def main(argv: list[str]) -> int:
    params = json.loads(argv[1])
    lines = int(params["lines"])
    rate = float(params.get("rate", 0))
    padding = _padding(int(params.get("size", 100)))
    parent = os.getppid()
    go_file = params.get("go_file")
    if go_file and not _wait_for(go_file, float(params.get("max_wait", DEFAULT_MAX_WAIT)), parent):
        return ORPHANED if _orphaned(parent) else GO_TIMEOUT
    try:
        if params.get("numbered"):
            _numbered(lines, int(params["size"]))
        elif rate > 0:
            if not _paced(lines, rate, padding, parent):
                return ORPHANED
        else:
            _flood(lines, padding)
    except BrokenPipeError:
        return ORPHANED
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
