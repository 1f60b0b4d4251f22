"""The scenarios of runs on workers (issue #18, item 5): one server on PostgreSQL with
AGENTED_EXECUTOR=workers and two `python -m agented.worker` processes on this machine
(cluster.py).

- `workers_flood`: 8 runs at once print as fast as they can; how many lines a second
  reach PostgreSQL in total, every one of them checked in the database.
- `workers_fanout`: `fanout_1000` with the CLI on a worker: its lines reach the 1,000
  viewers through PostgreSQL (COPY, NOTIFY, the server's read).
- `workers_latency`: one viewer of a worker's run, then one of a local run on the same
  kind of server: what the trip through PostgreSQL adds to a line's latency.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import psycopg
from cluster import Cluster, cluster_serving, running_cluster
from httpio import Api
from procstat import children, cmdline
from scenarios import (
    EMITTER,
    TARGET_FLOOD_LINES_PER_S,
    Measurement,
    Scenario,
    Settings,
    fanout,
    log,
    start_emitter,
    target,
)

TARGET_WORKER_FANOUT_P99_MS = 150.0
STORED_POLL_SECONDS = 0.05
ENDED_POLL_SECONDS = 0.2
CLI_START_TIMEOUT = 60.0
PERCENT_TO_US = 1e4  # CPU % (of one core) times seconds, in µs
ENDED = ("success", "failed", "timeout", "cancelled", "interrupted")

# Every run's lines as PostgreSQL holds them: rows, distinct seqs printed by the CLI (its
# line starts with it), and the last `t=` stamp the CLI wrote.
_STORED_LINES = """
SELECT execution_id,
       count(*) AS rows,
       count(DISTINCT split_part(content, ' ', 1)) AS distinct_lines,
       max(split_part(split_part(content, ' ', 2), '=', 2)::float8) AS last_stamp
FROM execution_logs WHERE execution_id = ANY(%(ids)s) AND stream = 'stdout'
GROUP BY execution_id
"""


def running_clis(cluster: Cluster) -> int:
    """emit.py processes the workers have started (each run's CLI)."""
    return sum(
        str(EMITTER) in cmdline(child)
        for worker in cluster.workers
        for child in children(worker.pid)
    )


async def wait_for_clis(cluster: Cluster, count: int) -> None:
    """Until `count` CLIs run on the workers (waiting for their go file)."""
    async with asyncio.timeout(CLI_START_TIMEOUT):
        while True:
            if running_clis(cluster) >= count:
                return
            await asyncio.sleep(0.05)  # polling a condition, bounded by the timeout above


async def wait_for_stored(url: str, ids: list[str], lines: int, within: float) -> float | None:
    """When (time.time()) the executions' stored `log_lines` (counted in the same transaction
    as the rows) reached `lines` in total; asks PostgreSQL every STORED_POLL_SECONDS."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as connection:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            cursor = await connection.execute(
                "SELECT coalesce(sum(log_lines), 0) FROM executions WHERE id = ANY(%s)", (ids,)
            )
            row = await cursor.fetchone()
            if row is not None and row[0] >= lines:
                return time.time()
            await asyncio.sleep(STORED_POLL_SECONDS)
    return None


async def wait_for_ended(api: Api, ids: list[str], within: float) -> float | None:
    """When (time.time()) the server had ended every execution (it ends a run on a worker
    once it has read the run's outcome and every line after it)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        states = [await api.execution(execution) for execution in ids]
        if all(state["status"] in ENDED for state in states):
            return time.time()
        await asyncio.sleep(ENDED_POLL_SECONDS)
    return None


async def stored_lines(url: str, ids: list[str]) -> dict[str, dict[str, Any]]:
    async with await psycopg.AsyncConnection.connect(url) as connection:
        cursor = await connection.execute(_STORED_LINES, {"ids": ids})
        rows = await cursor.fetchall()
    return {
        row[0]: {"rows": row[1], "distinct_lines": row[2], "last_stamp": row[3]} for row in rows
    }


def per_line(
    companions: dict[str, dict[str, float]], wall: float, lines: int
) -> dict[str, dict[str, float]]:
    """The companions' CPU figures with the µs each spent per line: where a line's cost goes
    (a worker and its CLIs, PostgreSQL's backends)."""
    return {
        name: {
            **cpu,
            "cpu_us_per_line": round(PERCENT_TO_US * cpu["cpu_percent"] * wall / lines, 2),
            "descendants_cpu_us_per_line": round(
                PERCENT_TO_US * cpu["descendants_cpu_percent"] * wall / lines, 2
            ),
        }
        for name, cpu in companions.items()
    }


async def workers_flood(settings: Settings, runs: int, lines_each: int) -> dict[str, Any]:
    """`runs` CLIs on the workers print `lines_each` lines each as fast as they can, all
    started at once; the lines per second stored in PostgreSQL in total, every line checked."""
    if settings.quick:
        lines_each = 20_000
    total = runs * lines_each
    timeout = 120.0 + total / 5_000
    async with running_cluster(settings) as cluster:
        api = Api(cluster.server.port, cluster.server.api_key)
        started = [
            await start_emitter(
                api,
                cluster.workdir,
                f"flood-{number}",
                lines=lines_each,
                rate=0,
                go=True,
                bot_timeout=int(timeout) + 60,
            )
            for number in range(1, runs + 1)
        ]
        ids = [execution for execution, _ in started]
        await wait_for_clis(cluster, runs)
        log(f"{runs} CLIs waiting on the workers; go: {total} lines")
        measured = Measurement(cluster.server)
        go_at = time.time()
        for _, go_file in started:
            go_file.touch()
        stored_at = await wait_for_stored(cluster.database_url, ids, total, timeout)
        ended_at = await wait_for_ended(api, ids, timeout)
        await measured.stop()
        states = [await api.execution(execution) for execution in ids]
        stored = await stored_lines(cluster.database_url, ids)
    complete = sum(
        stored.get(execution, {}).get("distinct_lines") == lines_each
        and stored[execution]["rows"] == lines_each
        for execution in ids
    )
    last_stamp = max((lines["last_stamp"] or 0.0 for lines in stored.values()), default=0.0)

    def rate(end: float | None) -> int | None:
        return round(total / (end - go_at)) if end and end > go_at else None

    workers: dict[str, int] = {}
    for state in states:
        workers[str(state.get("worker"))] = workers.get(str(state.get("worker")), 0) + 1
    return {
        "runs": runs,
        "lines_per_run": lines_each,
        "lines_total": total,
        "runs_per_worker": workers,
        "statuses": sorted(state["status"] for state in states),
        "stored": {
            "rows": sum(lines["rows"] for lines in stored.values()),
            "distinct_lines": sum(lines["distinct_lines"] for lines in stored.values()),
            "runs_with_every_line": complete,
            "log_lines_on_the_executions": sum(state["log_lines"] for state in states),
        },
        "lines_per_s_to_database": rate(stored_at),
        "lines_per_s_emitted": rate(last_stamp),
        "lines_per_s_until_runs_ended": rate(ended_at),
        "seconds_to_database": round(stored_at - go_at, 2) if stored_at else None,
        "seconds_until_runs_ended": round(ended_at - go_at, 2) if ended_at else None,
        "server_worker": measured.worker_figures(line=total),
        "companions": per_line(measured.companions, measured.usage.wall_seconds, total),
        "machine": measured.machine_figures(0.0),
        "machine_cpu_us_per_line": round(
            PERCENT_TO_US * measured.machine_busy * measured.usage.wall_seconds / total, 2
        ),
        "targets": {
            "lines_per_s_to_database": target(rate(stored_at), ">=", TARGET_FLOOD_LINES_PER_S),
            "runs_with_every_line_stored": target(complete, "==", runs),
        },
    }


async def workers_latency(settings: Settings, rate: float, seconds: float) -> dict[str, Any]:
    """One viewer of a run on a worker, then of a local run (same server, on PostgreSQL,
    AGENTED_EXECUTOR=local): the latency the trip through PostgreSQL adds."""
    on_worker = await fanout(settings, 1, rate, seconds, serve=cluster_serving())
    local_server = cluster_serving(executor="local", workers=0)
    local = await fanout(settings, 1, rate, seconds, serve=local_server)

    def added(percentile: str) -> float | None:
        worker_ms, local_ms = on_worker["latency_ms"][percentile], local["latency_ms"][percentile]
        if worker_ms is None or local_ms is None:
            return None
        return round(worker_ms - local_ms, 1)

    lost = on_worker["lines_lost"] + local["lines_lost"]
    return {
        "rate_lines_per_s": rate,
        "latency_ms_on_worker": on_worker["latency_ms"],
        "latency_ms_local": local["latency_ms"],
        "added_ms": {"p50": added("p50"), "p99": added("p99")},
        "on_worker": on_worker,
        "local": local,
        "targets": {"lines_lost": target(lost, "==", 0)},
    }


WORKERS_SCENARIOS = (
    Scenario(
        "workers_flood",
        "8 runs on 2 workers print 200,000 lines each (quick: 20,000) as fast as they can",
        lambda s: workers_flood(s, 8, 200_000),
    ),
    Scenario(
        "workers_fanout",
        "1000 subscribers of a run on a worker, 100 lines/s for 20 s",
        lambda s: fanout(
            s, 1000, 100, 20, p99_target_ms=TARGET_WORKER_FANOUT_P99_MS, serve=cluster_serving()
        ),
    ),
    Scenario(
        "workers_latency",
        "1 subscriber of a run on a worker, then of a local run, 100 lines/s for 20 s",
        lambda s: workers_latency(s, 100, 20),
    ),
)
