"""The PostgreSQL engine on a real server: the stores' conventions, migrations, faults."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest

from agented.config import ConfigError, load_settings
from agented.errors import StorageFull
from agented.paths import migrations_dir
from agented.storage import Connection, DatabaseError, MigrationError, migrate
from agented.storage.migrations import discover
from agented.storage.postgres import PostgresDatabase, describe, to_psycopg


@contextlib.contextmanager
def socket_nobody_listens_on() -> Iterator[int]:
    """A loopback port held (so nobody else takes it) but not listening: connections fail."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
        held.bind(("127.0.0.1", 0))
        yield held.getsockname()[1]


@pytest.fixture
async def database(postgres_database: str) -> AsyncIterator[PostgresDatabase]:
    opened = await PostgresDatabase.open(postgres_database, pool_size=2)
    yield opened
    await opened.close()


def test_sqlite_placeholders_become_psycopg_ones_outside_literals_and_casts() -> None:
    assert to_psycopg("SELECT a FROM t WHERE b = ? AND c = :name") == (
        "SELECT a FROM t WHERE b = %s AND c = %(name)s"
    )
    assert to_psycopg("SELECT '?:x%' || ? WHERE d LIKE 'a%'") == (
        "SELECT '?:x%%' || %s WHERE d LIKE 'a%%'"
    ), "literals keep their marks, with % doubled as psycopg wants"
    assert to_psycopg("SELECT CAST(x AS jsonb) ->> 'k', y::numeric % 2") == (
        "SELECT CAST(x AS jsonb) ->> 'k', y::numeric %% 2"
    )
    assert to_psycopg('SELECT "we?ird" FROM t') == 'SELECT "we?ird" FROM t'


def test_the_url_is_described_without_its_password() -> None:
    described = describe("postgresql://agented:s3cret-pw@db.example:6543/runs?sslmode=require")
    assert described == "postgresql://agented@db.example:6543/runs"
    assert "s3cret" not in described


def test_the_setting_takes_a_postgresql_url_and_refuses_others_without_echoing_them() -> None:
    url = "postgresql://u:pw@127.0.0.1/agented"
    assert load_settings({"AGENTED_DATABASE_URL": url}).database_url == url
    assert load_settings({}).database_url is None
    with pytest.raises(ConfigError, match="AGENTED_DATABASE_URL must be a postgresql://") as caught:
        load_settings({"AGENTED_DATABASE_URL": "mysql://u:hunter22@host/db"})
    assert "hunter22" not in str(caught.value)
    assert "hunter22" not in repr(
        load_settings({"AGENTED_DATABASE_URL": url.replace("pw", "hunter22")})
    )


async def test_the_template_is_at_the_shipped_schema_and_migrating_again_changes_nothing(
    database: PostgresDatabase,
) -> None:
    shipped = len(discover(migrations_dir("postgres")))
    assert await migrate(database, migrations_dir("postgres")) == shipped
    version = await database.read(
        lambda c: c.execute("SELECT version FROM schema_version").fetchone()[0]
    )
    assert version == shipped


async def test_a_newer_schema_is_refused_and_a_failed_migration_changes_nothing(
    database: PostgresDatabase, tmp_path: Path
) -> None:
    shipped = len(discover(migrations_dir("postgres")))
    directory = tmp_path / "migrations"
    directory.mkdir()
    for migration in discover(migrations_dir("postgres")):
        (directory / migration.path.name).write_text(migration.path.read_text())
    (directory / f"{shipped + 1:04d}_broken.sql").write_text(
        "CREATE TABLE half_done (x integer);\nSELECT no_such_function();"
    )
    with pytest.raises(MigrationError, match=r"_broken\.sql failed"):
        await migrate(database, directory)
    tables = await database.read(
        lambda c: c.execute(database.dialect.table_exists, ("half_done",)).fetchall()
    )
    assert tables == [], "the failed migration's first statement was rolled back too"
    await database.write(lambda c: c.execute("UPDATE schema_version SET version = 99"))
    with pytest.raises(MigrationError, match="schema version 99, but this Agented knows only"):
        await migrate(database, migrations_dir("postgres"))


async def test_rows_read_by_name_and_position_and_numbers_come_back_as_python_numbers(
    database: PostgresDatabase,
) -> None:
    row = await database.read(
        lambda c: c.execute(
            "SELECT 7 AS whole, SUM(x) AS total, CAST('0.25' AS numeric) AS part"
            " FROM (VALUES (1), (2)) AS v (x)"
        ).fetchone()
    )
    assert (row["whole"], row[0]) == (7, 7)
    assert (row["total"], type(row["total"])) == (3, int), "SUM(bigint) is numeric"
    assert (row["part"], type(row["part"])) == (0.25, float)
    assert row.keys() == ["whole", "total", "part"]
    assert dict(row) == {"whole": 7, "total": 3, "part": 0.25}


async def test_a_nul_a_cli_printed_is_stored_as_the_replacement_character(
    database: PostgresDatabase,
) -> None:
    def insert(connection: Connection) -> None:
        connection.execute("INSERT INTO instance (key, value) VALUES (?, ?)", ("one", "a\0b"))
        connection.insert_many("instance", ("key", "value"), [("copied", "\0c\0"), ("x", "y")])
        connection.insert_many("instance", ("key", "value"), [("clean", "tab\there")])

    await database.write(insert)
    stored = await database.read(
        lambda c: c.execute("SELECT key, value FROM instance WHERE key <> 'created_at'").fetchall()
    )
    assert sorted(tuple(row) for row in stored) == [
        ("clean", "tab\there"),
        ("copied", "\ufffdc\ufffd"),
        ("one", "a\ufffdb"),
        ("x", "y"),
    ]


async def test_a_write_is_one_transaction_rolled_back_when_it_raises(
    database: PostgresDatabase,
) -> None:
    def half(connection: Connection) -> None:
        connection.execute("INSERT INTO instance (key, value) VALUES ('half', 'x')")
        raise RuntimeError("changed my mind")

    with pytest.raises(RuntimeError):
        await database.write(half)
    found = await database.read(
        lambda c: c.execute("SELECT 1 FROM instance WHERE key = 'half'").fetchone()
    )
    assert found is None


async def test_a_full_disk_is_storage_full_and_readiness_fails_until_a_write_succeeds(
    database: PostgresDatabase,
) -> None:
    def full(connection: Connection) -> None:
        raise psycopg.errors.DiskFull("could not extend file: No space left on device")

    with pytest.raises(StorageFull, match="disk full"):
        await database.write(full)
    assert database.disk.full
    await database.ping()  # the probe write succeeds here: there is room again
    assert not database.disk.full


async def test_a_connection_the_server_ended_is_replaced(database: PostgresDatabase) -> None:
    await database.read(lambda c: c.execute("SELECT 1").fetchone())  # the readers connected
    await database.write(
        lambda c: c.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    )
    for _ in range(3):  # each of the 2 readers fails once at most, then the pool replaces it
        try:
            await database.read(lambda c: c.execute("SELECT 1").fetchone())
        except DatabaseError:
            continue
        break
    assert await database.read(lambda c: c.execute("SELECT 1").fetchone()[0]) == 1


async def test_an_unreachable_server_is_refused_naming_it_without_the_password() -> None:
    with socket_nobody_listens_on() as port:
        url = f"postgresql://agented:hunter22@127.0.0.1:{port}/agented"
        with pytest.raises(psycopg.OperationalError) as caught:
            await PostgresDatabase.open(url)
    message = str(caught.value)
    assert f"cannot connect to postgresql://agented@127.0.0.1:{port}/agented" in message
    assert "hunter22" not in message


async def test_a_streamed_read_stopped_early_leaves_the_connection_ready_for_the_next(
    database: PostgresDatabase,
) -> None:
    def first_rows_then_more(connection: Connection) -> tuple[list[int], int]:
        taken = []
        with contextlib.closing(
            connection.stream(
                "SELECT n, n::text FROM generate_series(1, ?) AS s (n)", (10_000_000,), sized_by=1
            )
        ) as rows:
            for row in rows:
                taken.append(row[0])
                if len(taken) == 3:
                    break  # the rest is never fetched: the query is cancelled
        return taken, connection.execute("SELECT 42").fetchone()[0]

    assert await database.read(first_rows_then_more) == ([1, 2, 3], 42)
