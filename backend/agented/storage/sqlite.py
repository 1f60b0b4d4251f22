"""The embedded engine: SQLite behind two dedicated threads, so no query runs on the loop.

A writer thread owns the only connection that changes data; every write is one
function run there inside a transaction, so a multi-statement change is a
single hop and cannot interleave with another coroutine's statements. A reader
thread owns a second connection; in WAL mode it reads committed data while the
writer works.

A write that finds the disk full raises `StorageFull` (see `disk_full`), and
the database stays marked full, for readiness, until a write succeeds again.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from collections.abc import Callable, Generator, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from ..errors import StorageFull
from .database import Connection, Parameters, Values, Work
from .dialect import SQLITE
from .disk_full import MIN_FREE_BYTES, DiskFullState
from .migrations import Migration, MigrationError

T = TypeVar("T")


def _connect(path: Path, busy_timeout_ms: int) -> sqlite3.Connection:
    connection = sqlite3.connect(
        path, timeout=busy_timeout_ms / 1000, isolation_level=None, check_same_thread=False
    )
    connection.row_factory = sqlite3.Row
    connection.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    connection.execute("PRAGMA foreign_keys = ON")
    return connection


class _Session:
    """An sqlite3 connection as the stores' `Connection` (which adds `stream`)."""

    __slots__ = ("_connection", "execute", "executemany")

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection
        self.execute = connection.execute
        self.executemany = connection.executemany

    def insert_many(
        self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], /
    ) -> None:
        values = ", ".join("?" * len(columns))
        self._connection.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({values})", rows
        )

    def stream(
        self, sql: str, parameters: Parameters = (), /, *, sized_by: int
    ) -> Generator[Values]:
        # Rows come one at a time: nothing to size.
        cursor = self._connection.execute(sql, parameters)
        try:
            yield from cursor
        finally:
            cursor.close()  # ends the read (and its snapshot) when stopped early


def _probe(connection: Connection) -> None:
    connection.execute("SELECT 1").fetchone()


class SqliteDatabase:
    """An open SQLite database (a `Database`); create with `await SqliteDatabase.open(...)`,
    end with `close()`."""

    dialect = SQLITE

    def __init__(self, path: Path, busy_timeout_ms: int) -> None:
        self.path = path
        self._busy_timeout_ms = busy_timeout_ms
        self._writer_thread = ThreadPoolExecutor(1, thread_name_prefix="agented-db-writer")
        self._reader_thread = ThreadPoolExecutor(1, thread_name_prefix="agented-db-reader")
        self._writer: sqlite3.Connection | None = None
        self._reader: sqlite3.Connection | None = None
        self.disk = DiskFullState(str(path))

    @property
    def description(self) -> str:
        return str(self.path)

    @classmethod
    async def open(cls, path: Path, busy_timeout_ms: int = 5000) -> SqliteDatabase:
        database = cls(path, busy_timeout_ms)
        try:
            await database._open()
        except BaseException:
            await database.close()
            raise
        return database

    async def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Execution logs may hold sensitive output: create the file owner-only
        # (SQLite gives its -wal and -shm files the same mode).
        os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
        self._writer = await self._run(self._writer_thread, self._open_writer)
        self._reader = await self._run(
            self._reader_thread, lambda: _connect(self.path, self._busy_timeout_ms)
        )
        self._writer_session = _Session(self._writer)
        self._reader_session = _Session(self._reader)

    def _open_writer(self) -> sqlite3.Connection:
        connection = _connect(self.path, self._busy_timeout_ms)
        mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode.lower() != "wal":
            connection.close()
            raise sqlite3.DatabaseError(
                f"{self.path}: SQLite refused WAL journal mode (got {mode})"
            )
        connection.execute("PRAGMA synchronous = NORMAL")
        return connection

    async def write(self, work: Work[T]) -> T:
        """Run `work` in one IMMEDIATE transaction on the writer thread; roll back if it raises."""
        connection = self._require(self._writer)
        session = self._writer_session

        def transaction() -> T:
            connection.execute("BEGIN IMMEDIATE")
            try:
                result = work(session)
                connection.execute("COMMIT")
            except BaseException:
                # SQLite may already have rolled back (it does on some SQLITE_FULL
                # errors); a failed COMMIT must not leave the transaction open, or
                # every later BEGIN would fail too.
                if connection.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        connection.execute("ROLLBACK")
                raise
            self.disk.succeeded()
            return result

        return await self._run(self._writer_thread, self.disk.guarded(transaction))

    async def migrate(self, migrations: Sequence[Migration]) -> int:
        """Apply what `PRAGMA user_version` says is missing; each script and its version
        bump are one IMMEDIATE transaction."""
        connection = self._require(self._writer)
        latest = len(migrations)

        def apply() -> int:
            current: int = connection.execute("PRAGMA user_version").fetchone()[0]
            if current > latest:
                raise MigrationError(
                    f"database {self.path} has schema version {current}, but this Agented knows "
                    f"only up to {latest}; upgrade Agented or use another database"
                )
            for migration in migrations[current:]:
                script = migration.path.read_text(encoding="utf-8")
                try:
                    connection.executescript(
                        f"BEGIN IMMEDIATE;\n{script}\n;"
                        f"PRAGMA user_version = {migration.version};\nCOMMIT;"
                    )
                except sqlite3.Error as error:
                    if connection.in_transaction:
                        connection.execute("ROLLBACK")
                    raise MigrationError(
                        f"migration {migration.path.name} failed: {error}"
                    ) from error
            return latest

        return await self._run(self._writer_thread, self.disk.guarded(apply))

    async def read(self, work: Work[T]) -> T:
        """Run `work` on the reader thread, which sees only committed data."""
        self._require(self._reader)
        session = self._reader_session
        return await self._run(self._reader_thread, lambda: work(session))

    async def ping(self) -> None:
        """Raise unless both connections answer and the disk is not full (callers bound it)."""
        writer = self._require(self._writer)

        def probe_writer() -> None:
            _probe(self._writer_session)
            self.disk.recheck(lambda: self._check_room(writer))

        await asyncio.gather(self.read(_probe), self._run(self._writer_thread, probe_writer))

    def _check_room(self, connection: sqlite3.Connection) -> None:
        """Raise StorageFull unless the database may grow a page (or has free pages) and
        the file system has MIN_FREE_BYTES for the file and its write-ahead log."""
        pages, limit, free_pages = (
            connection.execute(f"PRAGMA {name}").fetchone()[0]
            for name in ("page_count", "max_page_count", "freelist_count")
        )
        if pages >= limit and free_pages == 0:
            raise StorageFull(f"disk full: the database has reached its {limit}-page limit")
        disk = os.statvfs(self.path.parent)
        if disk.f_bavail * disk.f_frsize < MIN_FREE_BYTES:
            raise StorageFull(f"disk full: less than {MIN_FREE_BYTES} bytes free")

    async def close(self) -> None:
        for attribute, thread in (
            ("_reader", self._reader_thread),
            ("_writer", self._writer_thread),
        ):
            connection = getattr(self, attribute)
            setattr(self, attribute, None)
            if connection is not None:
                await self._run(thread, connection.close)
            thread.shutdown(wait=False)

    def _require(self, connection: sqlite3.Connection | None) -> sqlite3.Connection:
        if connection is None:
            raise sqlite3.ProgrammingError(f"database {self.path} is closed")
        return connection

    @staticmethod
    async def _run(thread: ThreadPoolExecutor, work: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(thread, work)
