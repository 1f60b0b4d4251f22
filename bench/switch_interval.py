"""How long a SQLite read on a thread waits behind a busy event loop, by GIL switch interval.

    cd backend && uv run python ../bench/switch_interval.py

The loop runs 4 ms slices of pure Python (like the slices of a big fan-out) while a
reader thread runs three small queries per request, 40 requests per setting; the
default 5 ms interval and the server's 0.5 ms (runtime.SWITCH_INTERVAL) alternate
twice. The reader takes the GIL back after every SQLite call, and each time waits up
to one interval for the loop to let go of it.
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

SLICE_S = 0.004
REQUESTS = 40
INTERVALS = (0.005, 0.0005, 0.005, 0.0005)


def open_database(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, check_same_thread=False)
    db.execute("create table t (id integer primary key, a text, b text)")
    db.executemany("insert into t (a, b) values (?, ?)", [("x" * 50, "y" * 80)] * 5000)
    db.commit()
    return db


def three_queries(db: sqlite3.Connection) -> int:
    rows = 0
    for _ in range(3):
        rows += len(db.execute("select * from t where id > 1000 order by id limit 5").fetchall())
    return rows


async def busy_loop(stop: asyncio.Event) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        while time.perf_counter() - started < SLICE_S:
            sum(range(200))
        await asyncio.sleep(0)


async def measure(db: sqlite3.Connection, reader: ThreadPoolExecutor, interval: float) -> str:
    sys.setswitchinterval(interval)
    stop = asyncio.Event()
    busy = asyncio.ensure_future(busy_loop(stop))
    loop = asyncio.get_running_loop()
    waits: list[float] = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        await loop.run_in_executor(reader, three_queries, db)
        waits.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(0.01)
    stop.set()
    await busy
    waits.sort()
    return (
        f"switch interval {interval * 1000:.1f} ms: p50 {waits[len(waits) // 2]:.1f} ms, "
        f"p90 {waits[int(len(waits) * 0.9)]:.1f} ms, max {waits[-1]:.1f} ms"
    )


def main() -> None:
    default = sys.getswitchinterval()
    with tempfile.TemporaryDirectory() as workdir, ThreadPoolExecutor(1) as reader:
        db = open_database(Path(workdir) / "t.db")
        for interval in INTERVALS:
            print(asyncio.run(measure(db, reader, interval)))
        db.close()
    sys.setswitchinterval(default)


if __name__ == "__main__":
    main()
