"""The benchmark's garbage-collection probe, loaded by its servers through PYTHONPATH.

Python imports `sitecustomize` at startup. When AGENTED_BENCH_GC_LOG is set, every
process (so Hypercorn's worker too) appends one line per long collection to
`<AGENTED_BENCH_GC_LOG>.<pid>`: `<unix time it ended> <pause ms> <generation> <collected>`.
Every collection of the oldest generation is written, younger ones only when they
took over LONG_YOUNG_MS. The cost is one Python call per collection. It changes
nothing else: the server's code is untouched.
"""

from __future__ import annotations

import gc
import os
import time
from typing import Any

LONG_YOUNG_MS = 5.0


def _install(path: str) -> None:
    # Open for the life of the process; line-buffered, so nothing is lost at exit.
    log = open(f"{path}.{os.getpid()}", "a", buffering=1)  # noqa: SIM115
    started = 0.0

    def on_collection(phase: str, info: dict[str, Any]) -> None:
        nonlocal started
        if phase == "start":
            started = time.perf_counter()
            return
        pause_ms = (time.perf_counter() - started) * 1000
        if info["generation"] == 2 or pause_ms > LONG_YOUNG_MS:
            log.write(
                f"{time.time():.6f} {pause_ms:.3f} {info['generation']} {info['collected']}\n"
            )

    gc.callbacks.append(on_collection)


if gc_log := os.environ.get("AGENTED_BENCH_GC_LOG"):
    _install(gc_log)
