"""Copy an SQLite database into PostgreSQL: `python -m agented.migrate_db`.

For a server moving from one machine to several: run it with the server stopped,
in the server's environment. It reads the SQLite file `AGENTED_DB_PATH` (first
bringing it to this version's schema, as the server would) and writes into the
PostgreSQL database `AGENTED_DATABASE_URL`, which it migrates and which must
hold no data yet. Every table is copied in one PostgreSQL transaction, so a
failure leaves the target as empty as it was; then each table's rows are
counted on both sides and the copy is accepted only when they agree. Both
databases are locked as a server locks them, so neither can be served meanwhile.
Secrets are copied sealed as they are: keep the same SECRET_KEY.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
from collections.abc import Iterator
from typing import Any

from .config import ConfigError, Settings, load_dotenv_file, load_settings
from .paths import migrations_dir
from .server_lock import ServerLock, ServerLockError, take_server_lock
from .storage import Connection, DatabaseError, MigrationError, migrate
from .storage.postgres import PostgresDatabase
from .storage.sqlite import SqliteDatabase

# Every table, parents before the tables whose rows refer to them.
TABLES = (
    "instance",
    "agents",
    "accounts",
    "bots",
    "executions",
    "execution_inputs",
    "execution_logs",
    "retries",
    "webhook_deliveries",
    "pr_reviews",
    "schedule_skips",
    "agent_messages",
    "monitoring_snapshots",
    "delivery_records",
)
# Tables whose integer key PostgreSQL generates: its sequence continues after the copy.
GENERATED_KEYS = ("schedule_skips", "delivery_records")
BATCH_ROWS = 5000


class CopyError(RuntimeError):
    """The copy cannot go ahead, or its result does not match the source."""


def _columns(source: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in source.execute(f"PRAGMA table_info({table})")]


def _batches(source: sqlite3.Connection, table: str, columns: list[str]) -> Iterator[list[Any]]:
    # In rowid order: tables without a key of their own keep their arrival order (PostgreSQL
    # numbers their `rowid` column as the rows arrive).
    order = "" if table in ("execution_logs", "execution_inputs") else " ORDER BY rowid"
    cursor = source.execute(f"SELECT {', '.join(columns)} FROM {table}{order}")
    while rows := cursor.fetchmany(BATCH_ROWS):
        yield rows


def _copy(source: sqlite3.Connection, target: Connection) -> dict[str, int]:
    """Copy every table from `source` into `target` (inside one transaction); rows per table."""
    for table in TABLES:
        if table != "instance" and target.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone():
            raise CopyError(
                f"the PostgreSQL database already holds data (table {table}): copy into an "
                "empty database"
            )
    copied: dict[str, int] = {}
    # The facts of the source installation replace the target's (its creation time).
    target.execute("DELETE FROM instance")
    for table in TABLES:
        columns = _columns(source, table)
        copied[table] = 0
        for rows in _batches(source, table, columns):
            target.insert_many(table, columns, rows)
            copied[table] += len(rows)
    for table in GENERATED_KEYS:
        target.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
            f" COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
        )
    return copied


def _count(connection: Connection | sqlite3.Connection, table: str) -> int:
    count: int = connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    return count


async def copy_database(settings: Settings) -> dict[str, int]:
    """Copy the SQLite database of `settings` into its PostgreSQL one; rows per table."""
    if settings.database_url is None:
        raise CopyError("set AGENTED_DATABASE_URL to the PostgreSQL database to copy into")
    if not settings.db_path.exists():
        raise CopyError(f"there is no SQLite database at {settings.db_path} (AGENTED_DB_PATH)")
    file_lock = ServerLock(settings.db_path)
    file_lock.acquire()
    try:
        lock = await take_server_lock(settings)
        try:
            return await _copy_locked(settings, settings.database_url)
        finally:
            await lock.release()
    finally:
        file_lock.release()


async def _copy_locked(settings: Settings, url: str) -> dict[str, int]:
    sqlite_database = await SqliteDatabase.open(settings.db_path, settings.db_busy_timeout_ms)
    try:
        await migrate(sqlite_database, migrations_dir("sqlite"))
    finally:
        await sqlite_database.close()
    target = await PostgresDatabase.open(url, pool_size=1)
    source = sqlite3.connect(settings.db_path, check_same_thread=False)
    try:
        await migrate(target, migrations_dir("postgres"))
        copied = await target.write(lambda connection: _copy(source, connection))
        stored = await target.read(
            lambda connection: {table: _count(connection, table) for table in TABLES}
        )
        for table in TABLES:
            in_sqlite = _count(source, table)
            if stored[table] != in_sqlite or stored[table] != copied[table]:
                raise CopyError(
                    f"table {table}: {in_sqlite} rows in SQLite, {stored[table]} in PostgreSQL "
                    "after the copy"
                )
        return copied
    finally:
        source.close()
        await target.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m agented.migrate_db", description=__doc__)
    parser.parse_args(argv)
    environ = load_dotenv_file()
    try:
        settings = load_settings(environ)
        copied = asyncio.run(copy_database(settings))
    except (
        ConfigError,
        CopyError,
        MigrationError,
        ServerLockError,
        OSError,
        *DatabaseError,  # type: ignore[misc]  # a tuple of exception classes, unpacked
    ) as error:
        print(f"agented migrate_db: {error}", file=sys.stderr)
        return 1
    for table, rows in copied.items():
        print(f"{table:22} {rows:>10} rows")
    print(f"agented migrate_db: copied {sum(copied.values())} rows; the counts match")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
