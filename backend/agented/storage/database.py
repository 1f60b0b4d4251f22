"""The database the stores use, whichever engine holds it: SQLite (embedded) or PostgreSQL.

Stores hand the database small synchronous functions — a read, or a write that
is one transaction — and it runs each off the event loop on a connection of its
own, so a multi-statement change is a single hop and cannot interleave with
another coroutine's statements. Both engines take the same functions: the
connection they receive speaks `?` placeholders and yields rows readable by
column name or position, and `dialect` spells what the engines write differently.

Why synchronous work functions on threads rather than async ones: every query
is written once for both engines, SQLite keeps its one-hop transactions (an
async SQLite would pay a hop per statement), and the loop still never waits on
a disk or a socket. PostgreSQL's side uses psycopg 3's connection pool.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import psycopg

from .dialect import Dialect
from .disk_full import DiskFullState

if TYPE_CHECKING:
    from .migrations import Migration

T = TypeVar("T")

# What a failing query raises, from either engine (StorageFull is one of them).
DatabaseError: tuple[type[Exception], ...] = (sqlite3.Error, psycopg.Error)

Parameters = Sequence[Any] | Mapping[str, Any]
# A result row, readable by column name and by position (sqlite3.Row, postgres.Row).
Row = Any
# A streamed row: by position only (the column order of its SELECT). Streams read log lines,
# a row each, where a row object readable by name cost as much again as fetching it.
Values = Sequence[Any]


class Cursor(Protocol):
    """The part of a DB-API cursor the stores use."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...

    def close(self) -> None: ...


class Connection(Protocol):
    """The part of a DB-API connection the stores use, plus `stream`."""

    def execute(self, sql: str, parameters: Parameters = ..., /) -> Cursor: ...

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Cursor: ...

    def insert_many(
        self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], /
    ) -> None:
        """Insert `rows` (values of `columns`, in order) into `table` the fastest way the
        engine has: SQLite's executemany, PostgreSQL's COPY (several times executemany's
        rate there). Names are interpolated: only ever our own."""
        ...

    def stream(
        self, sql: str, parameters: Parameters = ..., /, *, sized_by: int
    ) -> Generator[Values]:
        """The result's rows (read by position), fetched one at a time or in batches of
        about a MiB of column `sized_by` (the text that can make a row big), for a read
        that may stop early (a page bounded in bytes): little of what it does not take is
        read into memory. Close the generator when stopping early (`contextlib.closing`):
        that ends the query."""
        ...


Work = Callable[[Connection], T]


class Database(Protocol):
    """An open database; see the module docstring for how work reaches it."""

    dialect: Dialect
    disk: DiskFullState

    @property
    def description(self) -> str:
        """Where the data lives, for log lines: a path, or a URL without its password."""
        ...

    async def read(self, work: Work[T]) -> T:
        """Run `work` on a reading connection, which sees only committed data."""
        ...

    async def write(self, work: Work[T]) -> T:
        """Run `work` in one transaction (writes never overlap); roll back if it raises."""
        ...

    async def migrate(self, migrations: Sequence[Migration]) -> int:
        """Apply the `migrations` this database has not had yet, each in its own transaction
        together with the version bump; return the resulting schema version."""
        ...

    async def ping(self) -> None:
        """Raise unless the database answers and is not full (callers bound the wait)."""
        ...

    async def close(self) -> None: ...
