"""One server per database."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from quart.testing.app import LifespanError

from agented.runtime import runtime_of
from agented.server_lock import PostgresServerLock, ServerLock, ServerLockError


def test_second_holder_is_refused_with_the_database_and_holder_named(tmp_path: Path) -> None:
    database = tmp_path / "agented.db"
    first = ServerLock(database)
    first.acquire()
    try:
        with pytest.raises(ServerLockError) as caught:
            ServerLock(database).acquire()
        message = str(caught.value)
        assert str(database) in message
        assert f"pid={os.getpid()}" in message
    finally:
        first.release()
    second = ServerLock(database)
    second.acquire()
    second.release()


def test_a_hard_link_to_the_database_is_refused_as_the_same_database(tmp_path: Path) -> None:
    database = tmp_path / "agented.db"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    link = elsewhere / "linked.db"
    first = ServerLock(database)
    first.acquire()
    try:
        os.link(database, link)  # another name for the same file, with its own side lock file
        with pytest.raises(ServerLockError) as caught:
            ServerLock(link).acquire()
        message = str(caught.value)
        assert str(link) in message
        assert f"pid={os.getpid()}" in message
        assert "hard link" in message
    finally:
        first.release()
    second = ServerLock(link)
    second.acquire()
    second.release()


def test_lock_dies_with_a_killed_holder(tmp_path: Path) -> None:
    database = tmp_path / "agented.db"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from agented.server_lock import ServerLock;"
            "ServerLock(Path(sys.argv[1])).acquire(); print('locked', flush=True);"
            "sys.stdin.read()",
            str(database),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(ServerLockError, match=f"pid={holder.pid}"):
            ServerLock(database).acquire()
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    finally:
        holder.kill()
        holder.wait(timeout=30)
    lock = ServerLock(database)
    lock.acquire()
    lock.release()


async def test_two_serving_apps_on_one_database_cannot_coexist(make_app) -> None:
    first = make_app()
    async with first.test_app():
        second = make_app()
        with pytest.raises(LifespanError, match="already served"):
            async with second.test_app():
                pass
        client = first.test_client()
        assert (await client.get("/health/readiness")).status_code == 200


async def test_a_second_server_on_a_postgresql_database_is_refused_naming_the_holder(
    postgres_database: str,
) -> None:
    first = PostgresServerLock(postgres_database)
    await first.acquire()
    try:
        with pytest.raises(ServerLockError) as caught:
            await PostgresServerLock(postgres_database).acquire()
        message = str(caught.value)
        assert f"pid={os.getpid()} host={socket.gethostname()}" in message
        assert "AGENTED_DATABASE_URL" in message
        assert postgres_database.split("@")[1] in message, "names the database"
        assert postgres_database.split(":")[2].split("@")[0] not in message, "not the password"
    finally:
        await first.release()
    second = PostgresServerLock(postgres_database)
    await second.acquire()
    await second.release()


async def test_the_postgresql_lock_dies_with_a_killed_holder(postgres_database: str) -> None:
    holder = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import asyncio, sys; from agented.server_lock import PostgresServerLock\n"
        "async def hold():\n"
        "    lock = PostgresServerLock(sys.argv[1])\n"
        "    await lock.acquire()\n"
        "    print('locked', flush=True)\n"
        "    await asyncio.to_thread(sys.stdin.read)\n"
        "    await lock.release()\n"
        "asyncio.run(hold())",
        postgres_database,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None
        line = await asyncio.wait_for(holder.stdout.readline(), timeout=30)
        assert line.strip() == b"locked"
        with pytest.raises(ServerLockError, match=f"pid={holder.pid}"):
            await PostgresServerLock(postgres_database).acquire()
    finally:
        holder.send_signal(signal.SIGKILL)
        await asyncio.wait_for(holder.wait(), timeout=30)
    # PostgreSQL ends the session once it reads the closed socket: a moment, bounded here.
    deadline = time.monotonic() + 30
    while True:
        lock = PostgresServerLock(postgres_database)
        try:
            await lock.acquire()
            break
        except ServerLockError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)
    await lock.release()


async def _end_the_servers_lock_session(url: str) -> None:
    """What a PostgreSQL restart or a network cut does to the lock: its session ends (and
    has ended when this returns: the server waits up to 30 s for it)."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as admin:
        cursor = await admin.execute(
            "SELECT pg_terminate_backend(pid, 30000) FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name LIKE 'agented server%'"
        )
        assert await cursor.fetchall() == [(True,)]


async def _take_it_once_free(url: str) -> PostgresServerLock:
    """A competitor's lock, taken as soon as the ended session has let go (bounded wait)."""
    deadline = time.monotonic() + 30
    while True:
        competitor = PostgresServerLock(url)
        try:
            await competitor.acquire()
            return competitor
        except ServerLockError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)


async def test_a_server_that_lost_its_postgresql_lock_pauses_schedules_until_it_has_it_again(
    make_app, postgres_database: str
) -> None:
    app = make_app(AGENTED_DATABASE_URL=postgres_database)
    async with app.test_app():
        runtime = runtime_of(app)
        client = app.test_client()
        await _end_the_servers_lock_session(postgres_database)
        competitor = await _take_it_once_free(postgres_database)
        try:
            await runtime.check_server_lock()
            assert runtime.scheduler.paused
            ready = await client.get("/health/readiness")
            assert ready.status_code == 503
            assert "server lock lost" in (await ready.get_json())["error"]
        finally:
            await competitor.release()
        await runtime.check_server_lock()
        assert not runtime.scheduler.paused
        assert (await client.get("/health/readiness")).status_code == 200


async def test_a_lock_session_that_ended_is_taken_again_when_nobody_else_took_it(
    make_app, postgres_database: str
) -> None:
    app = make_app(AGENTED_DATABASE_URL=postgres_database)
    async with app.test_app():
        runtime = runtime_of(app)
        await _end_the_servers_lock_session(postgres_database)
        await runtime.check_server_lock()
        assert not runtime.scheduler.paused
        assert runtime.server_lock.problem is None
        with pytest.raises(ServerLockError):  # held again: a second server is still refused
            await PostgresServerLock(postgres_database).acquire()
