"""One server per database, enforced with an OS lock that dies with its holder.

Live state (SSE subscribers, running CLIs, scheduler jobs) exists only in the
serving process; a second server on the same database would split it and run
every schedule twice. `flock` on a side file is released by the kernel when
the process exits for any reason, `kill -9` included, so a crash never leaves
a stale lock behind. The holder writes its pid into the file for the message
the next contender prints.

The side file only covers one path to the database. A hard link (or a second
mount) reaches the same file by another path, so the database file itself is
locked too: `flock` belongs to the file, not to its name. SQLite's own locks
are POSIX record locks, which are independent of `flock` on Linux. That lock is
taken after the side file and dropped before it, and only while this process
has no SQLite connection on the file: closing any descriptor of a file drops
the process's POSIX locks on it, SQLite's included. A contender that meets
only the database lock names its holder from /proc/locks.

On PostgreSQL (`AGENTED_DATABASE_URL`) the database is shared by machines, so a
file lock proves nothing: the server holds a session-level advisory lock on a
connection of its own instead, which PostgreSQL releases when that session ends
(the process exits, is killed, or loses its machine). The connection carries
`pid=… host=…` as its application name, so a contender names the holder. Holding
it is what keeps schedules firing once cluster-wide: a second server on the same
database refuses to start.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path

import psycopg

from .config import Settings
from .storage.postgres import CONNECT_TIMEOUT_SECONDS, describe

logger = logging.getLogger(__name__)

# The advisory lock a serving Agented holds on its PostgreSQL database ("agsrv").
SERVER_LOCK_KEY = 0x6167737276

Release = Callable[[], Awaitable[None]]


class ServerLockError(RuntimeError):
    """Another live process already serves this database."""


class ServerLock:
    def __init__(self, database: Path) -> None:
        self.database = database
        self.path = database.with_name(database.name + ".lock")
        self._fd: int | None = None
        self._database_fd: int | None = None

    def acquire(self) -> None:
        """Take the lock without waiting, or raise ServerLockError naming the holder."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise ServerLockError(
                f"database {self.database} is already served by another Agented process "
                f"({holder}); stop it first, or set AGENTED_DB_PATH to a different database"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{_holder_name()}\n".encode(), 0)
        self._fd = fd
        try:
            self._database_fd = self._lock_database()
        except BaseException:
            self.release()
            raise

    def _lock_database(self) -> int:
        """Lock the database file itself, whatever path (hard link, mount) reaches it."""
        fd = os.open(self.database, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _flock_holder(os.fstat(fd))
            os.close(fd)
            raise ServerLockError(
                f"database {self.database} is already served by another Agented process "
                f"({holder}) through another path to the same file (a hard link?); "
                "stop it first, or set AGENTED_DB_PATH to a different database"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        return fd

    def release(self) -> None:
        """Drop the lock; the file stays, so a waiting contender never locks an unlinked inode."""
        if self._database_fd is not None:
            database_fd, self._database_fd = self._database_fd, None
            os.close(database_fd)
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)


def _read_holder(fd: int) -> str:
    with contextlib.suppress(OSError):
        text = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
        if text:
            return text
    return "holder unknown"


def _flock_holder(stat: os.stat_result) -> str:
    """`pid=N` of a process holding a flock on the file `stat` describes, from /proc/locks."""
    device = f"{os.major(stat.st_dev):02x}:{os.minor(stat.st_dev):02x}:{stat.st_ino}"
    with contextlib.suppress(OSError):
        for line in Path("/proc/locks").read_text().splitlines():
            fields = line.split()
            # "1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF"
            if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5] == device:
                return f"pid={fields[4]}"
    return "holder unknown"


def _holder_name() -> str:
    return f"pid={os.getpid()} host={socket.gethostname()}"


class PostgresServerLock:
    """The advisory lock of one serving process on a PostgreSQL database (module docstring).

    The lock lives as long as its session: when PostgreSQL restarts or the network
    drops the connection, it is gone without a word. `check()` notices that and
    takes it again when nobody else did; `lost` says why not while it is not held.
    """

    def __init__(self, url: str) -> None:
        self._url = url
        self._connection: psycopg.AsyncConnection[tuple[object, ...]] | None = None
        self.lost: str | None = None

    async def acquire(self) -> None:
        """Take the lock without waiting, or raise ServerLockError naming the holder."""
        connection = await psycopg.AsyncConnection.connect(
            self._url,
            autocommit=True,
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            application_name=f"agented server {_holder_name()}",
        )
        try:
            cursor = await connection.execute("SELECT pg_try_advisory_lock(%s)", (SERVER_LOCK_KEY,))
            row = await cursor.fetchone()
            if row is None or not row[0]:
                holder = await self._holder(connection)
                raise ServerLockError(
                    f"database {describe(self._url)} is already served by another Agented "
                    f"process ({holder}); stop it first, or set AGENTED_DATABASE_URL to a "
                    f"different database"
                )
        except BaseException:
            await connection.close()
            raise
        self._connection = connection

    async def check(self) -> bool:
        """Whether the lock is still held; if its session ended, take it again if free.

        A failure to take it back is kept in `lost` (and logged once) and retried at
        the next check."""
        connection = self._connection
        if connection is not None:
            try:
                async with asyncio.timeout(CONNECT_TIMEOUT_SECONDS):
                    await connection.execute("SELECT 1")
                return True
            except (psycopg.Error, TimeoutError):
                self._connection = None
                with contextlib.suppress(psycopg.Error):
                    await connection.close()
        try:
            await self.acquire()
        except (psycopg.Error, ServerLockError) as error:
            if self.lost is None:
                logger.error(
                    "lost the server lock on %s (its database session ended) and cannot take "
                    "it back: %s; schedules are paused until it can",
                    describe(self._url),
                    error,
                )
            self.lost = f"server lock lost: {error}"
            return False
        if self.lost is not None or connection is not None:
            logger.warning("took the server lock on %s again", describe(self._url))
        self.lost = None
        return True

    @staticmethod
    async def _holder(connection: psycopg.AsyncConnection[tuple[object, ...]]) -> str:
        cursor = await connection.execute(
            "SELECT a.application_name, a.client_addr FROM pg_locks AS l"
            " JOIN pg_stat_activity AS a ON a.pid = l.pid"
            " WHERE l.locktype = 'advisory' AND l.granted AND l.database = ("
            "SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND (l.classid::bigint << 32) + l.objid::bigint = %s",
            (SERVER_LOCK_KEY,),
        )
        row = await cursor.fetchone()
        if row is None:
            return "holder unknown"
        name, address = row
        holder = str(name).removeprefix("agented server ") or "holder unknown"
        return f"{holder}, connected from {address}" if address else holder

    async def release(self) -> None:
        """End the lock's session, which releases it."""
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()


class HeldLock:
    """The lock a serving process holds on its database, whichever kind, and its state."""

    def __init__(self, release: Release, postgres: PostgresServerLock | None = None) -> None:
        self.release = release
        self._postgres = postgres

    @property
    def can_be_lost(self) -> bool:
        """Only a PostgreSQL session can end under a living process; a file lock cannot."""
        return self._postgres is not None

    @property
    def problem(self) -> str | None:
        """Why the lock is not held right now (only a PostgreSQL session can lose it)."""
        return None if self._postgres is None else self._postgres.lost

    async def check(self) -> bool:
        """Whether the lock is held (see PostgresServerLock.check); a file lock always is."""
        return True if self._postgres is None else await self._postgres.check()


async def take_server_lock(settings: Settings) -> HeldLock:
    """Lock the configured database for this process."""
    if settings.database_url is not None:
        postgres = PostgresServerLock(settings.database_url)
        await postgres.acquire()
        return HeldLock(postgres.release, postgres)
    lock = ServerLock(settings.db_path)
    lock.acquire()

    async def release() -> None:
        lock.release()

    return HeldLock(release)
