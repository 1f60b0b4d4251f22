"""How fast the log store takes lines, on each engine: `ExecutionStore.append_lines`, the
path the log batcher writes through, in batches as it sends them.

    cd backend && uv run python ../bench/storage_ingest.py [--lines N] [--size BYTES]

PostgreSQL runs as the tests run it: a throwaway server on loopback in a temporary
directory (tests/support/postgres.py, Debian's postgresql; fsync off, so this is
the engine's and the driver's cost, not a disk's). Reported: lines per second,
the CPU this process spent per second (the server's writer thread and the
loop), and the CPU per line of this process and of the PostgreSQL server's processes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

BACKEND = Path(__file__).resolve().parent.parent / "backend"
sys.path.insert(0, str(BACKEND))

from agented.models import Bot  # noqa: E402
from agented.paths import migrations_dir  # noqa: E402
from agented.storage import Database, migrate  # noqa: E402
from agented.storage.executions import ExecutionStore  # noqa: E402
from agented.storage.postgres import PostgresDatabase  # noqa: E402
from agented.storage.sqlite import SqliteDatabase  # noqa: E402
from tests.support.postgres import (  # noqa: E402
    create_migrated_template,
    database_copy,
    running_postgres,
)

# What the log batcher sends at full speed: its batches hold up to this many lines.
BATCH_LINES = 2000


def cpu_seconds(postmaster: int | None) -> float:
    """CPU spent so far by the PostgreSQL server whose postmaster is `postmaster` and by
    its processes (0 without one)."""
    if postmaster is None:
        return 0.0
    ticks = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        if postmaster in (int(entry.name), int(fields[1])):  # itself, or a child (ppid)
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


async def measure(
    database: Database, lines: int, size: int, postmaster: int | None = None
) -> dict[str, float]:
    """Append `lines` lines of `size` bytes to one execution, as the batcher would."""
    store = ExecutionStore(database)
    bot = Bot.model_construct(id=None, name="bench", backend_type="command")
    await store.create("bench", bot, "manual", "", ["true"], status="running")
    content = "x" * size
    wall, cpu, server_cpu = time.perf_counter(), time.process_time(), cpu_seconds(postmaster)
    for first in range(1, lines + 1, BATCH_LINES):
        last = min(first + BATCH_LINES, lines + 1)
        await store.append_lines(
            {"bench": [(seq, "stdout", content, 0.0) for seq in range(first, last)]}
        )
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    server_cpu = cpu_seconds(postmaster) - server_cpu
    return {
        "lines_per_second": round(lines / wall),
        "process_cpu_percent": round(cpu / wall * 100),
        "process_cpu_us_per_line": round(cpu / lines * 1e6, 2),
        "postgres_cpu_us_per_line": round(server_cpu / lines * 1e6, 2),
    }


async def on_sqlite(path: Path, lines: int, size: int) -> dict[str, float]:
    database = await SqliteDatabase.open(path)
    try:
        await migrate(database, migrations_dir("sqlite"))
        return await measure(database, lines, size)
    finally:
        await database.close()


async def on_postgres(url: str, lines: int, size: int, postmaster: int) -> dict[str, float]:
    database = await PostgresDatabase.open(url)
    try:
        return await measure(database, lines, size, postmaster)
    finally:
        await database.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--size", type=int, default=100, help="bytes per line")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        result = asyncio.run(on_sqlite(Path(directory) / "bench.db", args.lines, args.size))
    print(f"sqlite:     {result}")
    with running_postgres() as server:
        template = create_migrated_template(server.dsn)
        with database_copy(server.dsn, template) as url:
            postmaster = int((server.data_dir / "postmaster.pid").read_text().split()[0])
            result = asyncio.run(on_postgres(url, args.lines, args.size, postmaster))
    print(f"postgresql: {result}")


if __name__ == "__main__":
    main()
