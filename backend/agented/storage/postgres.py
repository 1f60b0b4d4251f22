"""PostgreSQL for deployments past one machine, with the stores' SQL unchanged.

Chosen by `AGENTED_DATABASE_URL=postgresql://…`. Like the SQLite engine, writes
go one at a time through a single writer thread — each one transaction on the
writer's connection — so the stores keep the guarantee they were written for
(no two of this server's writes interleave); reads run concurrently on a pool of
connections, each statement seeing committed data. Both sides are psycopg 3
connection pools (`psycopg_pool`), which replace a connection the server broke
(a PostgreSQL restart costs one failed query, not a stuck server).

The connection the stores' work functions get speaks SQLite's conventions: `?`
and `:name` placeholders (translated once per SQL text), rows readable by name
and by position, whole `numeric` values as `int`. PostgreSQL's text cannot hold
NUL, which a CLI may print: NUL is stored as U+FFFD, the replacement character.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import re
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from operator import itemgetter
from typing import Any, TypeVar

import psycopg
from psycopg.abc import Buffer
from psycopg.adapt import Dumper, Loader, PyFormat
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import RowMaker, tuple_row
from psycopg_pool import ConnectionPool

from ..errors import StorageFull
from .database import Parameters, Values, Work
from .dialect import POSTGRES
from .disk_full import DiskFullState, is_full
from .migrations import Migration, MigrationError

T = TypeVar("T")
_is_text = str.__instancecheck__

CONNECT_TIMEOUT_SECONDS = 10
# A streamed read fetches rows in batches that aim to hold this many characters, between
# these many rows: short lines come thousands at a time (one round trip shared by all), a
# 256 KiB line of NUL bytes (768 KB as U+FFFD) alone, so each reader holds about a MiB.
_STREAM_BATCH_CHARS = 1 << 20
_STREAM_BATCH_ROWS = (1, 4096)
_STREAM_FIRST_BATCH_ROWS = 8  # before anything is known of the rows' size
# Held while migrating, so two servers started together do not both apply a migration.
MIGRATION_LOCK = 0x61676E746564  # "agnted"

# A string literal, a quoted identifier, a `::` cast, or one of the marks to translate.
_SQL_TOKENS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|::|\?|:[A-Za-z_]\w*|%")


@functools.lru_cache(maxsize=2048)
def to_psycopg(sql: str) -> str:
    """`sql` with SQLite's `?` and `:name` placeholders in psycopg's spelling (`%s`,
    `%(name)s`) and every literal `%` doubled, which psycopg requires once parameters
    are passed (they always are). Casts and the insides of literals are left alone."""

    def translate(match: re.Match[str]) -> str:
        token = match.group(0)
        if token[0] in "'\"":
            return token.replace("%", "%%")
        if token == "::":
            return token
        if token == "?":
            return "%s"
        if token == "%":
            return "%%"
        return f"%({token[1:]})s"

    return _SQL_TOKENS.sub(translate, sql)


class Row:
    """A result row readable by column name and by position, like sqlite3.Row."""

    __slots__ = ("_columns", "_values")

    def __init__(self, values: Sequence[Any], columns: dict[str, int]) -> None:
        self._values = values
        self._columns = columns

    def __getitem__(self, key: int | str) -> Any:
        if isinstance(key, str):
            return self._values[self._columns[key]]
        return self._values[key]

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def keys(self) -> list[str]:
        return list(self._columns)


def _rows(cursor: psycopg.Cursor[Any]) -> RowMaker[Row]:
    columns: dict[str, int] = {}
    for index, column in enumerate(cursor.description or ()):
        columns.setdefault(column.name, index)  # a repeated name reads the first, as in SQLite
    return functools.partial(Row, columns=columns)


class _WholeNumbersAsInt(Loader):
    """`numeric` as Python numbers the stores can add to their own: SUMs of integer columns
    and integer JSON values as `int`, fractions as `float` (never `Decimal`)."""

    def load(self, data: Buffer) -> int | float:
        text = bytes(data).decode("ascii")
        try:
            return int(text)
        except ValueError:
            return float(text)


def _without_nul(value: Any) -> Any:
    """Text with NUL (which PostgreSQL's text refuses) as U+FFFD; anything else as it is."""
    return value.replace("\0", "\ufffd") if isinstance(value, str) else value


class _TextWithoutNul(Dumper):
    """`str` as UTF-8 text, NUL as U+FFFD (as `_without_nul`)."""

    def dump(self, obj: str) -> bytes:
        text: str = _without_nul(obj)
        return text.encode()


# psycopg's own `str` dumper (in C), for values known to hold no NUL.
_STOCK_TEXT_DUMPER = psycopg.adapters.get_dumper(str, PyFormat.TEXT)


def _configure(connection: psycopg.Connection[Any]) -> None:
    connection.adapters.register_loader("numeric", _WholeNumbersAsInt)
    connection.adapters.register_dumper(str, _TextWithoutNul)
    connection.row_factory = _rows


class _Session:
    """A pooled connection as the stores' `Connection`: SQLite placeholders, `Row`s."""

    __slots__ = ("_connection",)

    def __init__(self, connection: psycopg.Connection[Any]) -> None:
        self._connection = connection

    def execute(self, sql: str, parameters: Parameters = (), /) -> psycopg.Cursor[Any]:
        return self._connection.execute(to_psycopg(sql), parameters)

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> psycopg.Cursor[Any]:
        cursor = self._connection.cursor()
        cursor.executemany(to_psycopg(sql), parameters)
        return cursor

    def insert_many(
        self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], /
    ) -> None:
        # COPY formats each value in C with psycopg's own text dumper: the connection's
        # NUL-replacing one is Python, called per value (a third of a worker's CPU in a
        # flood). A batch is checked for NUL at once, in C; one that holds one (rare:
        # hostile output) has it replaced first.
        batch = list(rows)
        if "\0" in "".join(filter(_is_text, itertools.chain.from_iterable(batch))):
            batch = [[_without_nul(value) for value in row] for row in batch]
        cursor = self._connection.cursor()
        cursor.adapters.register_dumper(str, _STOCK_TEXT_DUMPER)
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in batch:
                copy.write_row(row)

    def stream(
        self, sql: str, parameters: Parameters = (), /, *, sized_by: int
    ) -> Generator[Values]:
        # A server-side cursor, so memory holds one batch, sized by what the last one held
        # (psycopg's client-side chunks have a fixed row count, which a flood of long
        # lines turns into tens of MB per reader). Closed early, the transaction ends and
        # takes the cursor with it: nothing to cancel, nothing more read.
        fewest, most = _STREAM_BATCH_ROWS
        with (
            self._connection.transaction(),
            self._connection.cursor(name="agented_stream", row_factory=tuple_row) as cursor,
        ):
            cursor.execute(to_psycopg(sql), parameters)
            size = _STREAM_FIRST_BATCH_ROWS
            while rows := cursor.fetchmany(size):
                yield from rows
                held = sum(map(len, map(itemgetter(sized_by), rows)))
                size = max(fewest, min(most, _STREAM_BATCH_CHARS * len(rows) // max(held, 1)))


def describe(url: str) -> str:
    """`url` without its password (and any other option), fit for a log line."""
    parts = conninfo_to_dict(url)
    host = parts.get("host") or "localhost"
    port = parts.get("port") or "5432"
    user = f"{parts['user']}@" if parts.get("user") else ""
    return f"postgresql://{user}{host}:{port}/{parts.get('dbname') or ''}"


class PostgresDatabase:
    """An open PostgreSQL database (a `Database`); `await PostgresDatabase.open(url)`."""

    dialect = POSTGRES

    def __init__(self, url: str, pool_size: int) -> None:
        self._url = url
        self._description = describe(url)
        self.disk = DiskFullState(self._description)
        self._writer_thread = ThreadPoolExecutor(1, thread_name_prefix="agented-pg-writer")
        self._reader_threads = ThreadPoolExecutor(pool_size, thread_name_prefix="agented-pg-reader")
        options = {"autocommit": True, "connect_timeout": CONNECT_TIMEOUT_SECONDS}
        self._writer: ConnectionPool[Any] = self._pool(1, options)
        self._readers: ConnectionPool[Any] = self._pool(pool_size, options)

    def _pool(self, size: int, options: dict[str, Any]) -> ConnectionPool[Any]:
        return ConnectionPool(
            self._url,
            min_size=size,
            max_size=size,
            kwargs=options,
            configure=_configure,
            open=False,
            name="agented",
        )

    @property
    def description(self) -> str:
        return self._description

    @classmethod
    async def open(cls, url: str, pool_size: int = 4) -> PostgresDatabase:
        database = cls(url, pool_size)
        try:
            await database._run(database._writer_thread, database._open)
        except BaseException:
            await database.close()
            raise
        return database

    def _open(self) -> None:
        # One plain connection first: when the server cannot be reached, its error says why
        # (a pool would only time out).
        try:
            psycopg.connect(self._url, connect_timeout=CONNECT_TIMEOUT_SECONDS).close()
        except psycopg.OperationalError as error:
            raise psycopg.OperationalError(
                f"cannot connect to {self._description}: {error}"
            ) from None
        for pool in (self._writer, self._readers):
            pool.open(wait=True, timeout=CONNECT_TIMEOUT_SECONDS)

    async def write(self, work: Work[T]) -> T:
        def transaction() -> T:
            with self._writer.connection() as connection, connection.transaction():
                result = work(_Session(connection))
            self.disk.succeeded()
            return result

        return await self._run(self._writer_thread, self.disk.guarded(transaction))

    async def read(self, work: Work[T]) -> T:
        def query() -> T:
            with self._readers.connection() as connection:
                return work(_Session(connection))

        return await self._run(self._reader_threads, query)

    async def migrate(self, migrations: Sequence[Migration]) -> int:
        """Apply what the `schema_version` table says is missing, under an advisory lock."""
        latest = len(migrations)

        def apply() -> int:
            with self._writer.connection() as connection, self._migration_lock(connection):
                connection.execute(
                    "CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)"
                )
                row = connection.execute("SELECT version FROM schema_version").fetchone()
                if row is None:
                    connection.execute("INSERT INTO schema_version (version) VALUES (0)")
                current: int = 0 if row is None else row[0]
                if current > latest:
                    raise MigrationError(
                        f"database {self._description} has schema version {current}, but this "
                        f"Agented knows only up to {latest}; upgrade Agented or use another "
                        f"database"
                    )
                for migration in migrations[current:]:
                    script = migration.path.read_text(encoding="utf-8")
                    try:
                        with connection.transaction():
                            # No parameters: the script goes as it is, several statements at once.
                            connection.execute(script.encode())
                            connection.execute(
                                "UPDATE schema_version SET version = %s", (migration.version,)
                            )
                    except psycopg.Error as error:
                        raise MigrationError(
                            f"migration {migration.path.name} failed: {error}"
                        ) from error
            return latest

        return await self._run(self._writer_thread, self.disk.guarded(apply))

    @staticmethod
    @contextlib.contextmanager
    def _migration_lock(connection: psycopg.Connection[Any]) -> Iterator[None]:
        connection.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
        try:
            yield
        finally:
            connection.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))

    async def ping(self) -> None:
        def probe_writer() -> None:
            with self._writer.connection() as connection:
                connection.execute("SELECT 1").fetchone()
            self.disk.recheck(self._check_room)

        await asyncio.gather(
            self.read(lambda connection: connection.execute("SELECT 1").fetchone()),
            self._run(self._writer_thread, probe_writer),
        )

    def _check_room(self) -> None:
        """PostgreSQL tells of room only by a write succeeding: write one that changes nothing."""
        try:
            with self._writer.connection() as connection, connection.transaction():
                connection.execute("UPDATE instance SET value = value WHERE key = 'created_at'")
        except psycopg.Error as error:
            if is_full(error):
                raise StorageFull(f"disk full: {error}") from error
            raise

    async def close(self) -> None:
        def close_pools() -> None:
            for pool in (self._readers, self._writer):
                pool.close()

        with contextlib.suppress(RuntimeError):  # the threads were already shut down
            await self._run(self._writer_thread, close_pools)
        for thread in (self._reader_threads, self._writer_thread):
            thread.shutdown(wait=False)

    @staticmethod
    async def _run(thread: ThreadPoolExecutor, work: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(thread, work)
