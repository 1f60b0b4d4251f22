"""The benchmark scenarios. Each starts its own server and returns a JSON-able report."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from httpio import Api, request_json
from probes import LivenessProbe, ProbeProcess, read_in_order, read_stream, stalled_viewer
from procstat import (
    MB,
    CpuWindow,
    MachineWindow,
    Sampler,
    TreeCpuWindow,
    Usage,
    open_files_limit,
    own_cpu_seconds,
    rss_bytes,
)
from server_process import BENCH_DIR, BenchServer
from sse_load import (
    GroupResult,
    GroupSpec,
    Latency,
    LocalGroup,
    close_all,
    connect_all,
    open_groups,
    wait_all,
)

EMITTER = BENCH_DIR / "emit.py"
NUL_EMITTER = BENCH_DIR / "emit_nul.py"
NUL_LINE_BYTES = 256 * 1024  # the longest line the server keeps whole (MAX_LINE_BYTES)
HOSTILE_VIEWERS = 3
TARGET_LIVENESS_P99_MS = 100.0
TARGET_RSS_GROWTH_MB = 128.0
TARGET_MEMORY_GROWTH_MB = 64.0
MEMORY_FLOOD_BYTES = 100 * MB
SLOW_VIEWER_BYTES_PER_S = 20 * MB  # the slow viewer's pace (the stalled one reads nothing)
LINE_BYTES = 100  # size of each emitted line, newline included
SCHEDULE_MARGIN_S = 3.0  # the load goes on this long past the minute boundary
SCHEDULE_LATE_TARGET_MS = 1000  # "on time" for a job with minute granularity
EMITTER_MAX_WAIT = 900  # seconds an emitter waits for its go file at most
WARM_UP_CONNECTIONS = 200
TARGET_P99_MS = 100.0
TARGET_KB_PER_CONNECTION = 20.0
TARGET_FLOOD_LINES_PER_S = 100_000.0
QUIET_BUSY_PERCENT = 15.0  # of one CPU, the whole machine, before a scenario starts
SERVER_OUTPUT_NOTE = "server output (the end of it):\n"
SERVER_OUTPUT_KEPT = 6000  # characters


@dataclass(frozen=True)
class Settings:
    quick: bool
    client_processes: int  # processes the fanout subscribers are spread over
    quiet_wait: float  # seconds to wait at most for a quiet machine before each scenario
    gc_probe: bool  # log the server's long garbage collections (bench/gc_probe)
    # fanout_10000's subscribers, to find the largest fan-out that meets its targets
    big_fanout: int = 10_000


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    run: Callable[[Settings], Awaitable[dict[str, Any]]]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def target(measured: float | int | None, relation: str, limit: float) -> dict[str, Any]:
    """A figure beside its target: `relation` is "<", "<=", ">=" or "=="."""
    met = (
        measured is not None
        and {
            "<": measured < limit,
            "<=": measured <= limit,
            ">=": measured >= limit,
            "==": measured == limit,
        }[relation]
    )
    return {"target": f"{relation} {limit:g}", "measured": measured, "met": met}


async def wait_for_quiet_machine(max_wait: float) -> dict[str, float]:
    """Wait (at most `max_wait` s) until other workloads leave the machine's CPUs nearly idle.

    The benchmark shares its CPUs with whatever else runs on the machine: measured
    over 1 s windows, it goes on once the whole machine is at most QUIET_BUSY_PERCENT
    busy. What it found is reported with the scenario's figures.
    """
    started = time.monotonic()
    while True:
        window = MachineWindow()
        await asyncio.sleep(1.0)
        busy, _ = window.percents()
        waited = time.monotonic() - started
        if busy <= QUIET_BUSY_PERCENT or waited >= max_wait:
            if busy > QUIET_BUSY_PERCENT:
                log(f"the machine is still {busy:.0f}% busy with other work; measuring anyway")
            return {"busy_percent": round(busy, 1), "waited_s": round(waited, 1)}


def stream_path(execution_id: str) -> str:
    return f"/admin/executions/{execution_id}/stream"


def mb(size: int | float) -> float:
    return round(size / MB, 1)


@contextlib.asynccontextmanager
async def serving(
    settings: Settings,
    app: str = "agented.asgi:app",
    pythonpath: str = "",
    env: dict[str, str] | None = None,
) -> AsyncIterator[tuple[BenchServer, Path]]:
    """A fresh server (own database and key in a temporary directory) for one scenario;
    `env`: more environment variables for it."""
    with tempfile.TemporaryDirectory(prefix="sse-bench-") as workdir:
        server = BenchServer(Path(workdir), app, pythonpath, gc_probe=settings.gc_probe, env=env)
        try:
            await asyncio.to_thread(server.start)
            log(
                f"server up on port {server.port}, worker pid {server.worker_pid}, "
                f"open files limit {open_files_limit(server.worker_pid)}"
            )
            yield server, Path(workdir)
        except Exception as error:
            error.add_note(SERVER_OUTPUT_NOTE + server.output[-SERVER_OUTPUT_KEPT:])
            raise
        finally:
            server.stop()


async def start_emitter(
    api: Api, workdir: Path, name: str, *, lines: int, rate: float, go: bool, bot_timeout: int
) -> tuple[str, Path]:
    """A bot running emit.py, and one execution of it; returns its id and its go file."""
    go_file = workdir / f"go-{name}"
    bot = await api.create_command_bot(
        name, [sys.executable, str(EMITTER), "{prompt}"], timeout_seconds=bot_timeout
    )
    params = {
        "lines": lines,
        "rate": rate,
        "go_file": str(go_file) if go else None,
        "size": LINE_BYTES,
        "max_wait": EMITTER_MAX_WAIT,
    }
    return await api.run(bot, json.dumps(params)), go_file


def check_connected(name: str, result: GroupResult, wanted: int) -> None:
    if result.connected < wanted:
        raise RuntimeError(
            f"{name}: only {result.connected} of {wanted} subscribers connected; "
            f"first errors: {result.errors}"
        )


def connect_figures(result: GroupResult) -> dict[str, Any]:
    times = sorted(result.connect_ms)

    def at(fraction: float) -> float | None:
        return round(times[min(len(times) - 1, int(fraction * len(times)))], 1) if times else None

    return {
        "total_s": round(result.connect_seconds, 2),
        "per_second": round(result.connected / result.connect_seconds, 1)
        if result.connect_seconds
        else None,
        "each_ms": {"p50": at(0.5), "p99": at(0.99), "max": at(1.0)},
        "failed": result.subscribers - result.connected,
        "errors": result.errors,
    }


# Starts a scenario's server for the length of a block: `serving`, or one whose runs go to
# workers (cluster.py).
Serve = Callable[[Settings], AbstractAsyncContextManager[tuple[BenchServer, Path]]]


class Measurement:
    """The worker's CPU, memory and GC pauses, the CPU of the processes serving beside it
    (the server's `companions`), and the machine's load, over one window."""

    def __init__(self, server: BenchServer) -> None:
        self._server = server
        self.sampler = Sampler(server.worker_pid)
        self.sampler.start()
        self._worker = CpuWindow(server.worker_pid)
        self._companions = {name: TreeCpuWindow(pid) for name, pid in server.companions.items()}
        self.companions: dict[str, dict[str, float]] = {}
        self._machine = MachineWindow()
        self._started = self.started = time.time()
        self.usage = Usage(0.0, 0.0, 0.0)
        self.machine_busy = self.machine_interrupts = 0.0
        self.gc_pauses: dict[str, Any] | None = None

    async def stop(self) -> None:
        self.usage = self._worker.stop()
        self.companions = {name: window.stop() for name, window in self._companions.items()}
        self.machine_busy, self.machine_interrupts = self._machine.percents()
        await self.sampler.stop()
        self.gc_pauses = self._server.gc_pauses(self._started, time.time())

    def worker_figures(self, **per_unit: int) -> dict[str, Any]:
        """CPU and RSS of the worker; `per_unit` (name=count) adds CPU µs per one of them."""
        usage, samples = self.usage, self.sampler.samples
        return {
            "cpu_percent": round(usage.percent, 1),
            "cpu_percent_peak_1s": round(self.sampler.peak_cpu_percent(), 1),
            "cpu_seconds": round(usage.cpu_seconds, 2),
            **{
                f"cpu_us_per_{unit}": round(1e6 * usage.cpu_seconds / count, 2) if count else None
                for unit, count in per_unit.items()
            },
            "rss_mb_start": mb(samples[0][2]) if samples else None,
            "rss_mb_peak": mb(self.sampler.peak_rss),
            "rss_mb_end": mb(samples[-1][2]) if samples else None,
            "gc_pauses": self.gc_pauses,
        }

    def machine_figures(self, client_cpu_seconds: float) -> dict[str, Any]:
        """How busy the machine was, and how much of that was not this benchmark."""
        wall = self.usage.wall_seconds
        ours = 100 * (self.usage.tree_cpu_seconds + client_cpu_seconds) / wall if wall else 0.0
        ours += sum(
            cpu["cpu_percent"] + cpu["descendants_cpu_percent"] for cpu in self.companions.values()
        )
        others = self.machine_busy - self.machine_interrupts - ours
        return {
            "cpus": os.cpu_count(),
            "busy_percent": round(self.machine_busy, 1),
            "interrupts_percent": round(self.machine_interrupts, 1),
            "other_processes_percent": round(max(0.0, others), 1),
        }


def client_figures(result: GroupResult, wall: float, processes: int) -> dict[str, Any]:
    used = min(processes, len(result.cpu_seconds))
    return {
        "mode": "in-process" if used <= 1 else f"{used} client processes",
        "cpu_percent_per_process": [round(100 * cpu / wall, 1) for cpu in result.cpu_seconds],
    }


def fanout_report(
    seen: GroupResult,
    measured: Measurement,
    *,
    lines: int,
    processes: int,
    connected: GroupResult | None = None,
) -> dict[str, Any]:
    """The figures of a fanout run (Agented's or the Quart baseline's)."""
    lost, faulty = seen.lost(lines)
    stream_seconds = seen.last_receive - seen.first_stamp
    wall = measured.usage.wall_seconds
    report = {
        "lines_emitted": lines,
        "lines_delivered": seen.received,
        "lines_expected": lines * seen.connected,
        "lines_lost": lost,
        "duplicates": seen.duplicates,
        "subscribers_with_loss": faulty,
        "streams_ended_by": seen.ended_by,
        "delivered_events_per_s": round(seen.received / stream_seconds) if stream_seconds else None,
        "events_per_write": round(seen.received / seen.writes, 2) if seen.writes else None,
        "latency_ms": seen.latency.summary(),
        "server_worker": measured.worker_figures(delivered_event=seen.received, write=seen.writes),
        "client": client_figures(seen, wall, processes),
        "machine": measured.machine_figures(sum(seen.cpu_seconds)),
    }
    if measured.companions:
        report["companions"] = measured.companions
    if connected is not None:
        report["connect"] = connect_figures(connected)
    report["targets"] = {
        "lines_lost": target(lost + seen.duplicates, "==", 0),
        "latency_p99_ms": target(seen.latency.summary()["p99"], "<=", TARGET_P99_MS),
    }
    return report


async def fanout(
    settings: Settings,
    subscribers: int,
    rate: float,
    seconds: float,
    *,
    probe_schedule: bool = False,
    probe_admin: bool = False,
    p99_target_ms: float = TARGET_P99_MS,
    serve: Serve = serving,
) -> dict:
    """One execution at `rate` lines/s for `seconds` to `subscribers` concurrent viewers,
    on a server that `serve` starts.

    With `probe_schedule`, a bot scheduled every minute runs beside it, and the load lasts
    past the next minute boundary, to measure how late the scheduler fires under load.
    With `probe_admin`, an admin request (the execution's record) is timed every 100 ms.
    """
    if probe_schedule:
        seconds = 60 - time.time() % 60 + SCHEDULE_MARGIN_S
    elif settings.quick:
        seconds = 3.0
    lines = int(rate * seconds)
    processes = settings.client_processes
    stream_timeout = seconds * 3 + 60
    async with serve(settings) as (server, workdir):
        api = Api(server.port, server.api_key)
        execution, go_file = await start_emitter(
            api, workdir, "fanout", lines=lines, rate=rate, go=True, bot_timeout=int(stream_timeout)
        )
        probe = await api.create_minutely_bot("schedule-probe") if probe_schedule else None
        spec = GroupSpec(server.port, stream_path(execution), subscribers, server.api_key)
        groups = open_groups(spec, processes, stream_timeout)
        try:
            connected = await connect_all(groups)
            check_connected("fanout", connected, subscribers)
            log(f"{subscribers} subscribers connected in {connected.connect_seconds:.2f} s; go")
            admin = None
            if probe_admin:
                admin_path = f"/admin/executions/{execution}?limit=1"
                admin = ProbeProcess(
                    LivenessProbe(server.port, admin_path, server.api_key, interval=0.1)
                )
            measured = Measurement(server)
            go_file.touch()
            seen = await wait_all(groups, stream_timeout)
            await measured.stop()
            admin_ms = None if admin is None else await admin.stop()
        finally:
            close_all(groups)
        execution_state = await api.execution(execution)
        schedule = None if probe is None else schedule_lateness(await api.executions_of(probe))
    report = {
        "subscribers": subscribers,
        "rate_lines_per_s": rate,
        "duration_s": round(seconds, 1),
        "execution": {k: execution_state[k] for k in ("status", "log_lines", "duration_ms")},
        **fanout_report(seen, measured, lines=lines, processes=processes, connected=connected),
    }
    report["targets"]["latency_p99_ms"] = target(report["latency_ms"]["p99"], "<=", p99_target_ms)
    if admin_ms is not None:
        report["admin_request_ms"] = admin_ms
        report["targets"]["admin_request_p99_ms"] = target(admin_ms["p99"], "<=", TARGET_P99_MS)
    if schedule is not None:
        report["scheduled_runs"] = schedule
        report["targets"]["schedule_fired_late_ms"] = target(
            schedule["late_ms_max"], "<=", SCHEDULE_LATE_TARGET_MS
        )
    return report


def schedule_lateness(executions: list[dict[str, Any]]) -> dict[str, Any]:
    """How long after their minute boundary the scheduled executions were created."""
    late = []
    for execution in executions:
        created = datetime.fromisoformat(execution["created_at"]).timestamp()
        late.append(round((created % 60) * 1000, 1))
    return {"fired": len(late), "late_ms": late, "late_ms_max": max(late) if late else None}


async def idle(settings: Settings, connections: int) -> dict:
    """`connections` viewers of a silent execution, while a second one streams live."""
    live_rate = 100.0
    hold = 3.0 if settings.quick else 16.0  # > 15 s: one heartbeat round to every viewer
    if settings.quick:
        connections = 1000
    async with serving(settings) as (server, workdir):
        api = Api(server.port, server.api_key)
        quiet, quiet_go = await start_emitter(
            api, workdir, "idle", lines=0, rate=0, go=True, bot_timeout=3600
        )
        live_execution, _ = await start_emitter(
            api,
            workdir,
            "live",
            lines=int(live_rate * 3600),
            rate=live_rate,
            go=False,
            bot_timeout=3600,
        )
        phases = {"before": Latency(), "while_connecting": Latency(), "all_connected": Latency()}
        live = LocalGroup(GroupSpec(server.port, stream_path(live_execution), 1, server.api_key))
        viewers = LocalGroup(
            GroupSpec(server.port, stream_path(quiet), connections, server.api_key)
        )
        try:
            check_connected("live", await live.connect(), 1)
            live.set_latency(phases["before"])
            warm = LocalGroup(
                GroupSpec(server.port, stream_path(quiet), WARM_UP_CONNECTIONS, server.api_key)
            )
            check_connected("warm-up", await warm.connect(), WARM_UP_CONNECTIONS)
            warm.close()
            await asyncio.sleep(3.0)
            rss_before = rss_bytes(server.worker_pid)
            worker_open_files = open_files_limit(server.worker_pid)
            measured = Measurement(server)
            client_cpu = own_cpu_seconds()
            live.set_latency(phases["while_connecting"])
            log(f"opening {connections} idle streams")
            connected = await viewers.connect()
            await measured.stop()
            client_cpu = own_cpu_seconds() - client_cpu
            check_connected("idle", connected, connections)
            live.set_latency(phases["all_connected"])
            held = Measurement(server)
            client_cpu_held = own_cpu_seconds()
            await asyncio.sleep(1.0)
            rss_connected = rss_bytes(server.worker_pid)
            log(f"all connected in {connected.connect_seconds:.1f} s; holding {hold:.0f} s")
            await asyncio.sleep(hold - 1.0)
            await held.stop()
            client_cpu_held = own_cpu_seconds() - client_cpu_held
            rss_held = rss_bytes(server.worker_pid)
            still_open = viewers.open_count
            await api.cancel(live_execution)
            await live.wait(30.0)
        finally:
            viewers.close()
            live.close()
        quiet_go.touch()
        live_seen = live.result()
    per_connection_kb = (rss_connected - rss_before) / connections / 1024
    during = phases["while_connecting"].summary()
    return {
        "connections": connections,
        "connections_still_open_at_end": still_open,
        "connect": connect_figures(connected),
        "server_worker": {
            "open_files_limit": worker_open_files,
            "rss_mb_before": mb(rss_before),
            "rss_mb_all_connected": mb(rss_connected),
            "rss_mb_after_hold": mb(rss_held),
            "kb_per_connection": round(per_connection_kb, 2),
            "kb_per_connection_after_hold": round((rss_held - rss_before) / connections / 1024, 2),
            "while_connecting": measured.worker_figures(connection=connections),
            "while_all_connected": held.worker_figures(),
        },
        "client": {
            "mode": "in-process",
            "cpu_percent_while_connecting": round(
                100 * client_cpu / measured.usage.wall_seconds, 1
            ),
        },
        "machine_while_connecting": measured.machine_figures(client_cpu),
        "machine_while_all_connected": held.machine_figures(client_cpu_held),
        "live_stream": {
            "rate_lines_per_s": live_rate,
            "lines_received": live_seen.received,
            "lines_lost": live_seen.missing,
            "duplicates": live_seen.duplicates,
            "latency_ms": {name: latency.summary() for name, latency in phases.items()},
        },
        "targets": {
            "kb_per_connection": target(
                round(per_connection_kb, 2), "<=", TARGET_KB_PER_CONNECTION
            ),
            "live_latency_p99_ms_while_connecting": target(during["p99"], "<=", TARGET_P99_MS),
        },
    }


async def wait_for_log_lines(api: Api, execution: str, lines: int, within: float) -> float | None:
    """When (time.time()) the execution's stored `log_lines` reached `lines`; polls every 50 ms."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if (await api.execution(execution))["log_lines"] >= lines:
            return time.time()
        await asyncio.sleep(0.05)
    return None


async def flood(settings: Settings, lines: int) -> dict:
    """One CLI printing `lines` lines as fast as it can, to one viewer and the database."""
    if settings.quick:
        lines = 200_000
    timeout = 60.0 + lines / 5_000
    async with serving(settings) as (server, workdir):
        api = Api(server.port, server.api_key)
        execution, go_file = await start_emitter(
            api, workdir, "flood", lines=lines, rate=0, go=True, bot_timeout=int(timeout) + 60
        )
        viewer = LocalGroup(GroupSpec(server.port, stream_path(execution), 1, server.api_key))
        try:
            check_connected("flood", await viewer.connect(), 1)
            measured = Measurement(server)
            go_file.touch()
            stored = asyncio.ensure_future(wait_for_log_lines(api, execution, lines, timeout))
            await viewer.wait(timeout)
            stored_at = await stored
            await measured.stop()
        finally:
            viewer.close()
        seen = viewer.result()
        execution_state = await api.execution(execution)
    lost, _ = seen.lost(lines)
    first = seen.first_stamp

    def rate(end: float | None) -> float | None:
        return round(lines / (end - first)) if end and first and end > first else None

    return {
        "lines_emitted": lines,
        "lines_delivered": seen.received,
        "lines_lost": lost,
        "duplicates": seen.duplicates,
        "stream_ended_by": seen.ended_by,
        "execution": {k: execution_state[k] for k in ("status", "log_lines", "duration_ms")},
        "lines_per_s_to_subscriber": rate(seen.last_receive),
        "lines_per_s_to_database": rate(stored_at),
        "lines_per_s_emitted": rate(seen.last_stamp),
        "seconds_to_subscriber": round(seen.last_receive - first, 2) if first else None,
        "seconds_to_database": round(stored_at - first, 2) if stored_at and first else None,
        "latency_ms": seen.latency.summary(),
        "server_worker": measured.worker_figures(line=lines),
        "client": client_figures(seen, measured.usage.wall_seconds, 1),
        "machine": measured.machine_figures(sum(seen.cpu_seconds)),
        "targets": {
            "lines_per_s_to_subscriber": target(
                rate(seen.last_receive), ">=", TARGET_FLOOD_LINES_PER_S
            ),
            "lines_per_s_to_database": target(rate(stored_at), ">=", TARGET_FLOOD_LINES_PER_S),
            "lines_lost": target(lost + seen.duplicates, "==", 0),
        },
    }


async def hostile_output(settings: Settings, total_bytes: int) -> dict:
    """A CLI printing `total_bytes` in lines of 256 KiB NUL bytes (each a ~1.5 MB event once
    JSON-escaped) to one live viewer, then HOSTILE_VIEWERS viewers replaying it all at once
    from the database; /health/liveness is polled every 50 ms throughout."""
    if settings.quick:
        total_bytes = 32 * MB
    lines = total_bytes // NUL_LINE_BYTES
    timeout = 600.0
    async with serving(settings) as (server, workdir):
        api = Api(server.port, server.api_key)
        go_file = workdir / "go-hostile"
        bot = await api.create_command_bot(
            "hostile", [sys.executable, str(NUL_EMITTER), "{prompt}"], timeout_seconds=900
        )
        params = {"lines": lines, "line_bytes": NUL_LINE_BYTES, "go_file": str(go_file)}
        execution = await api.run(bot, json.dumps(params))
        path = stream_path(execution)
        await asyncio.sleep(1.0)  # let the run start and the worker settle
        rss_before = rss_bytes(server.worker_pid)
        live_probe = LivenessProbe(server.port)
        live_probe.start()
        emitting = Measurement(server)
        live_viewer = asyncio.ensure_future(read_stream(server.port, path, server.api_key, timeout))
        await asyncio.sleep(0.5)  # the live viewer is connected before the first line
        go_file.touch()
        log(f"printing {lines} lines of {NUL_LINE_BYTES} NUL bytes to one live viewer")
        live = await live_viewer
        await emitting.stop()
        liveness_emitting = await live_probe.stop()
        state = await api.execution(execution)
        log(f"replaying them to {HOSTILE_VIEWERS} viewers at once")
        replay_probe = LivenessProbe(server.port)
        replay_probe.start()
        replaying = Measurement(server)
        client_cpu = own_cpu_seconds()
        replays = await asyncio.gather(
            *(
                read_stream(server.port, path, server.api_key, timeout)
                for _ in range(HOSTILE_VIEWERS)
            )
        )
        await replaying.stop()
        client_cpu = own_cpu_seconds() - client_cpu
        liveness_replaying = await replay_probe.stop()
        rss_after = rss_bytes(server.worker_pid)
    peak = max(emitting.sampler.peak_rss, replaying.sampler.peak_rss)
    growth = mb(peak - rss_before)
    return {
        "lines": lines,
        "line_bytes": NUL_LINE_BYTES,
        "output_mb": mb(lines * NUL_LINE_BYTES),
        "execution": {k: state[k] for k in ("status", "log_lines", "duration_ms")},
        "live_viewer": vars(live),
        "replay_viewers": [vars(replay) for replay in replays],
        "liveness_ms": {"while_emitting": liveness_emitting, "while_replaying": liveness_replaying},
        "server_worker": {
            "rss_mb_before": mb(rss_before),
            "rss_mb_peak": mb(peak),
            "rss_mb_after": mb(rss_after),
            "rss_mb_growth": growth,
            "while_emitting": emitting.worker_figures(line=lines),
            "while_replaying": replaying.worker_figures(line=lines * HOSTILE_VIEWERS),
        },
        "client_cpu_percent_while_replaying": round(
            100 * client_cpu / replaying.usage.wall_seconds, 1
        ),
        "machine_while_replaying": replaying.machine_figures(client_cpu),
        "targets": {
            "liveness_p99_ms_while_replaying": target(
                liveness_replaying["p99"], "<=", TARGET_LIVENESS_P99_MS
            ),
            "liveness_p99_ms_while_emitting": target(
                liveness_emitting["p99"], "<=", TARGET_LIVENESS_P99_MS
            ),
            "worker_rss_growth_mb": target(growth, "<=", TARGET_RSS_GROWTH_MB),
            "every_viewer_got_every_line": target(
                sum(c.log_events == lines and c.completed for c in (live, *replays)),
                "==",
                1 + HOSTILE_VIEWERS,
            ),
        },
    }


async def memory_flood(settings: Settings, line_bytes: int, total_bytes: int) -> dict:
    """A CLI printing `total_bytes` in lines of `line_bytes` as fast as it can, while one
    viewer never reads and one reads at SLOW_VIEWER_BYTES_PER_S: the worker's memory must
    stay bounded in bytes whatever the line length, with every line stored and delivered."""
    if settings.quick:
        total_bytes = 20 * MB
    lines = total_bytes // line_bytes
    timeout = 900.0
    async with serving(settings) as (server, workdir):
        api = Api(server.port, server.api_key)
        go_file = workdir / "go-memory"
        bot = await api.create_command_bot(
            "memory", [sys.executable, str(EMITTER), "{prompt}"], timeout_seconds=int(timeout)
        )
        params = {"lines": lines, "size": line_bytes, "numbered": True, "go_file": str(go_file)}
        execution = await api.run(bot, json.dumps(params))
        path = stream_path(execution)
        await asyncio.sleep(1.0)  # let the run start and the worker settle
        rss_before = rss_bytes(server.worker_pid)
        async with stalled_viewer(server.port, path, server.api_key):
            slow = asyncio.ensure_future(
                read_in_order(server.port, path, server.api_key, timeout, SLOW_VIEWER_BYTES_PER_S)
            )
            await asyncio.sleep(0.5)  # both viewers are connected before the first line
            measured = Measurement(server)
            go_file.touch()
            log(f"printing {lines} lines of {line_bytes} bytes; one viewer stalled, one slow")
            stored_at = await wait_for_log_lines(api, execution, lines, timeout)
            viewer = await slow
            await measured.stop()
        state = await api.execution(execution)
    growth = mb(measured.sampler.peak_rss - rss_before)
    started = measured.started
    return {
        "lines": lines,
        "line_bytes": line_bytes,
        "output_mb": mb(lines * line_bytes),
        "execution": {k: state[k] for k in ("status", "log_lines", "duration_ms")},
        "lines_per_s_to_database": round(lines / (stored_at - started)) if stored_at else None,
        "slow_viewer": vars(viewer),
        "server_worker": {
            "rss_mb_before": mb(rss_before),
            "rss_mb_growth": growth,
            **measured.worker_figures(line=lines),
        },
        "machine": measured.machine_figures(0.0),
        "targets": {
            "worker_rss_growth_mb": target(growth, "<", TARGET_MEMORY_GROWTH_MB),
            "every_line_stored": target(state["log_lines"], "==", lines),
            "slow_viewer_got_every_line_in_order": target(
                viewer.log_events - viewer.out_of_order if viewer.completed else 0, "==", lines
            ),
        },
    }


async def quart_baseline(settings: Settings, subscribers: int, rate: float, seconds: float) -> dict:
    """fanout_100's load on a textbook Quart SSE app (bench/quart_baseline.py)."""
    if settings.quick:
        seconds = 3.0
    lines = int(rate * seconds)
    async with serving(settings, "quart_baseline:app", str(BENCH_DIR)) as (server, _):
        group = LocalGroup(GroupSpec(server.port, "/stream", subscribers))
        try:
            connected = await group.connect()
            check_connected("quart baseline", connected, subscribers)
            measured = Measurement(server)
            params = {"lines": lines, "rate": rate, "size": LINE_BYTES}
            status, answer = await request_json(server.port, "POST", "/emit", params)
            if status != 202:
                raise RuntimeError(f"POST /emit answered {status}: {answer}")
            await group.wait(seconds * 3 + 60)
            await measured.stop()
        finally:
            group.close()
        seen = group.result()
    return {
        "app": "bench/quart_baseline.py: one Response per subscriber, one write per event",
        "subscribers": subscribers,
        "rate_lines_per_s": rate,
        "duration_s": seconds,
        **fanout_report(seen, measured, lines=lines, processes=1, connected=connected),
    }


DEFAULT_SCENARIOS = (
    Scenario("fanout_1", "1 subscriber, 100 lines/s for 20 s", lambda s: fanout(s, 1, 100, 20)),
    Scenario(
        "fanout_100", "100 subscribers, 100 lines/s for 20 s", lambda s: fanout(s, 100, 100, 20)
    ),
    Scenario(
        "fanout_1000", "1000 subscribers, 100 lines/s for 20 s", lambda s: fanout(s, 1000, 100, 20)
    ),
    Scenario(
        "fanout_100_fast",
        "100 subscribers, 1000 lines/s for 20 s",
        lambda s: fanout(s, 100, 1000, 20),
    ),
    Scenario(
        "fanout_10000",
        "10,000 subscribers, 10 lines/s for 20 s; an admin request timed every 100 ms",
        lambda s: fanout(s, s.big_fanout, 10, 20, probe_admin=True, p99_target_ms=250.0),
    ),
    Scenario(
        "idle_10000",
        "10,000 idle streams (quick: 1,000) beside one live stream",
        lambda s: idle(s, 10_000),
    ),
    Scenario(
        "schedule_under_load",
        "a bot scheduled every minute while 1000 subscribers get 100 lines/s",
        lambda s: fanout(s, 1000, 100, 0, probe_schedule=True),
    ),
    Scenario(
        "flood",
        "1,000,000 lines (quick: 200,000) as fast as possible, 1 subscriber",
        lambda s: flood(s, 1_000_000),
    ),
    Scenario(
        "hostile_output",
        "256 MB (quick: 32 MB) of 256 KiB NUL-byte lines, then 3 viewers replay it;"
        " liveness polled",
        lambda s: hostile_output(s, 256 * MB),
    ),
)
MEMORY_SCENARIOS = tuple(
    Scenario(
        f"memory_{label}",
        f"100 MB (quick: 20 MB) of {label} lines as fast as possible; one viewer stalled, one slow",
        lambda s, size=size: memory_flood(s, size, MEMORY_FLOOD_BYTES),
    )
    for label, size in (("10b", 10), ("1k", 1024), ("64k", 64 * 1024))
)
QUART_BASELINE = Scenario(
    "quart_baseline_100",
    "fanout_100's load on a plain Quart app, one write per event",
    lambda s: quart_baseline(s, 100, 100, 20),
)
