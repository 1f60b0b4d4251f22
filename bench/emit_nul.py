"""The benchmark's hostile CLI: prints long lines of NUL bytes as fast as it can.

Run by a bot of backend `command` as `python emit_nul.py '<json parameters>'`:

    {"lines": N, "line_bytes": B, "go_file": path or null, "max_wait": seconds}

A NUL byte is the worst case for the server's memory: JSON escapes it as `\\u0000`, six
bytes, so a line of B NUL bytes becomes an event of about 6 B. It first waits (polling
every 10 ms, at most `max_wait` seconds) until `go_file` exists, so that a live viewer
is connected before the first line, then writes N lines of B NUL bytes and a newline.
It exits early, with status 3, if its parent (the server) goes away.
"""

from __future__ import annotations

import json
import os
import sys
import time

POLL_SECONDS = 0.01
ORPHANED = 3
GO_TIMEOUT = 4


def main(argv: list[str]) -> int:
    params = json.loads(argv[1])
    parent = os.getppid()
    go_file = params.get("go_file")
    if go_file:
        deadline = time.monotonic() + float(params.get("max_wait", 300))
        while not os.path.exists(go_file):
            if os.getppid() != parent:
                return ORPHANED
            if time.monotonic() > deadline:
                return GO_TIMEOUT
            time.sleep(POLL_SECONDS)
    line = b"\0" * int(params["line_bytes"]) + b"\n"
    out = sys.stdout.buffer
    try:
        for _ in range(int(params["lines"])):
            out.write(line)
        out.flush()
    except BrokenPipeError:
        return ORPHANED
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
