"""Runs on workers, on this machine: a throwaway PostgreSQL, a server whose runs go there
(AGENTED_EXECUTOR=workers) and `python -m agented.worker` processes.

PostgreSQL is started as the tests start it (tests/support/postgres.py: Debian's
programs, a temporary directory, loopback, fsync off, so the figures are the
engine's and Agented's, not a disk's). The server is the scenarios' usual one
(`scenarios.serving`) with AGENTED_DATABASE_URL set; the workers share its
database and SECRET_KEY. The workers and PostgreSQL (the postmaster and its
backends) become the server's `companions`, so every scenario reports their CPU
beside the server worker's. Everything is stopped when the block ends: workers
first (SIGTERM, then SIGKILL and any CLI they left), then the server, then
PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
from procstat import descendants
from scenarios import Serve, Settings, log, serving
from server_process import BACKEND_DIR, BenchServer, kill_bench_processes

sys.path.insert(0, str(BACKEND_DIR))  # the tests' PostgreSQL fixture, reused as it is

from tests.support.postgres import PostgresServer, running_postgres

# A worker registers with Procrastinate once it has migrated and opened its queue.
REGISTER_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
OUTPUT_KEPT = 3000  # characters of a worker's log kept to explain a failure
WORKERS = 2
RUNS_PER_WORKER = 4  # AGENTED_MAX_CONCURRENT_RUNS of each: 8 runs at once over two workers


class WorkerProcess:
    """One `python -m agented.worker` on the cluster's database, its output in a file."""

    def __init__(self, name: str, url: str, secret_key: str, workdir: Path, runs: int) -> None:
        self.name = name
        self.log = workdir / f"{name}.log"
        env = {
            "PATH": os.environ["PATH"],
            "AGENTED_ENV_FILE": str(workdir / "no.env"),
            "AGENTED_DATABASE_URL": url,
            "SECRET_KEY": secret_key,
            "AGENTED_WORKER_NAME": name,
            "AGENTED_MAX_CONCURRENT_RUNS": str(runs),
            "LOG_LEVEL": "WARNING",
        }
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "agented.worker"],
                cwd=BACKEND_DIR,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=output,
                start_new_session=True,
            )
        self.pid = self.process.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-OUTPUT_KEPT:]

    def stop(self) -> None:
        """SIGTERM (the worker stops its CLIs), then SIGKILL it and any CLI left."""
        leftovers = descendants(self.pid)
        try:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.process.wait(STOP_TIMEOUT)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)
            kill_bench_processes(leftovers)
            self.process.wait(STOP_TIMEOUT)


@dataclass(frozen=True)
class Cluster:
    """What a scenario on workers works with."""

    server: BenchServer
    workdir: Path
    database_url: str
    workers: list[WorkerProcess]


def postmaster_pid(postgres: PostgresServer) -> int:
    """PostgreSQL's main process (the first line of postmaster.pid): its backends are its
    children."""
    return int((postgres.data_dir / "postmaster.pid").read_text().split()[0])


async def wait_for_workers(url: str, workers: list[WorkerProcess]) -> None:
    """Until every worker has registered with Procrastinate, i.e. takes jobs from now on."""
    async with asyncio.timeout(REGISTER_TIMEOUT):
        while True:
            for worker in workers:
                if worker.process.poll() is not None:
                    raise RuntimeError(
                        f"{worker.name} exited ({worker.process.returncode}):\n{worker.output()}"
                    )
            async with await psycopg.AsyncConnection.connect(url) as connection:
                cursor = await connection.execute("SELECT count(*) FROM procrastinate_workers")
                row = await cursor.fetchone()
            if row is not None and row[0] >= len(workers):
                return
            await asyncio.sleep(0.2)  # polling a condition, bounded by the timeout above


@contextlib.asynccontextmanager
async def running_cluster(
    settings: Settings, *, executor: str = "workers", workers: int = WORKERS
) -> AsyncIterator[Cluster]:
    """PostgreSQL, a server on it with AGENTED_EXECUTOR=`executor`, and `workers` workers."""
    async with contextlib.AsyncExitStack() as stack:
        # Starting and stopping PostgreSQL takes seconds of subprocesses: off the loop.
        postgres_stack = contextlib.ExitStack()
        postgres = await asyncio.to_thread(postgres_stack.enter_context, running_postgres())
        stack.push_async_callback(asyncio.to_thread, postgres_stack.close)
        log(f"PostgreSQL up on port {postgres.port}")
        secret_key = secrets.token_hex(32)
        env = {
            "AGENTED_DATABASE_URL": postgres.dsn,
            "AGENTED_EXECUTOR": executor,
            "SECRET_KEY": secret_key,
        }
        server, workdir = await stack.enter_async_context(serving(settings, env=env))
        started: list[WorkerProcess] = []
        try:
            for number in range(1, workers + 1):
                started.append(
                    WorkerProcess(
                        f"worker-{number}", postgres.dsn, secret_key, workdir, RUNS_PER_WORKER
                    )
                )
            if started:
                await wait_for_workers(postgres.dsn, started)
            log(f"{workers} workers up" if workers else "no workers: runs are local")
            server.companions = {
                **{worker.name: worker.pid for worker in started},
                "postgres": postmaster_pid(postgres),
            }
            yield Cluster(server, workdir, postgres.dsn, started)
        except Exception as error:
            for worker in started:
                error.add_note(f"{worker.name} output (the end of it):\n{worker.output()}")
            raise
        finally:
            for worker in started:
                await asyncio.to_thread(worker.stop)


def cluster_serving(*, executor: str = "workers", workers: int = WORKERS) -> Serve:
    """`running_cluster` as `scenarios.fanout` starts its server."""

    @contextlib.asynccontextmanager
    async def serve(settings: Settings) -> AsyncIterator[tuple[BenchServer, Path]]:
        async with running_cluster(settings, executor=executor, workers=workers) as cluster:
            yield cluster.server, cluster.workdir

    return serve
