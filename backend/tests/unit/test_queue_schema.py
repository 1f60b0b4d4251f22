"""Procrastinate's tables: made once, migrated in order when Procrastinate is, all or nothing.

On a real PostgreSQL whatever engine the rest of the suite runs on (workers exist only there).
The migrations after the installed ones are files a test writes, named as Procrastinate names
its own.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import psycopg
import pytest

from agented.config import ConfigError
from agented.executions.queue_schema import (
    MIGRATIONS,
    UNRECORDED_LEVEL,
    ensure_queue_schema,
    migrations_in,
)

NEWEST = migrations_in(MIGRATIONS)[-1].stem


def level(url: str) -> str | None:
    with psycopg.connect(url) as connection:
        if connection.execute("SELECT to_regclass('queue_schema_level')").fetchone() == (None,):
            return None
        row = connection.execute("SELECT migration FROM queue_schema_level").fetchone()
    return None if row is None else str(row[0])


def scalar(url: str, query: str) -> object:
    with psycopg.connect(url) as connection:
        row = connection.execute(query).fetchone()
    assert row is not None
    return row[0]


def newer(tmp_path: Path, files: dict[str, str]) -> Path:
    """The installed migrations and, after them, `files` (name -> SQL)."""
    directory = tmp_path / "migrations"
    directory.mkdir()
    for path in migrations_in(MIGRATIONS):
        (directory / path.name).symlink_to(path)
    for name, sql in files.items():
        (directory / name).write_text(sql)
    return directory


async def test_a_new_database_gets_the_tables_once_even_when_two_start_together(
    postgres_database: str,
) -> None:
    assert level(postgres_database) is None
    await asyncio.gather(
        ensure_queue_schema(postgres_database), ensure_queue_schema(postgres_database)
    )
    assert scalar(postgres_database, "SELECT to_regclass('procrastinate_jobs') IS NOT NULL") is True
    assert level(postgres_database) == NEWEST
    await ensure_queue_schema(postgres_database)  # made already: nothing to do
    assert level(postgres_database) == NEWEST


async def test_newer_migrations_apply_in_order_and_only_once(
    postgres_database: str, tmp_path: Path
) -> None:
    await ensure_queue_schema(postgres_database)
    migrations = newer(
        tmp_path,
        {
            "99.00.00_50_post_fill.sql": "INSERT INTO added (step) VALUES ('post');",
            "99.00.00_01_pre_add.sql": "CREATE TABLE added (step text);",
        },
    )
    await ensure_queue_schema(postgres_database, migrations)
    await ensure_queue_schema(postgres_database, migrations)  # applied: not again
    assert scalar(postgres_database, "SELECT string_agg(step, ',') FROM added") == "post"
    assert level(postgres_database) == "99.00.00_50_post_fill"


async def test_a_failing_migration_leaves_the_tables_as_they_were(
    postgres_database: str, tmp_path: Path
) -> None:
    await ensure_queue_schema(postgres_database)
    migrations = newer(
        tmp_path,
        {
            "99.00.00_01_pre_add.sql": "CREATE TABLE added (step text);",
            "99.00.00_02_pre_broken.sql": "CREATE TABLE broken (",
        },
    )
    with pytest.raises(psycopg.errors.SyntaxError):
        await ensure_queue_schema(postgres_database, migrations)
    assert scalar(postgres_database, "SELECT to_regclass('added') IS NULL") is True
    assert level(postgres_database) == NEWEST


async def test_tables_made_before_their_level_was_kept_count_as_procrastinate_3_10s(
    postgres_database: str,
) -> None:
    assert (MIGRATIONS / f"{UNRECORDED_LEVEL}.sql").is_file()
    await ensure_queue_schema(postgres_database)
    with psycopg.connect(postgres_database) as connection:
        connection.execute("DELETE FROM queue_schema_level")
    # Applying the shipped migrations again would fail on what they made.
    await ensure_queue_schema(postgres_database)
    assert level(postgres_database) == NEWEST


async def test_tables_newer_than_the_installed_procrastinate_refuse_to_start(
    postgres_database: str,
) -> None:
    await ensure_queue_schema(postgres_database)
    with psycopg.connect(postgres_database) as connection:
        connection.execute("UPDATE queue_schema_level SET migration = '99.99.99_01_future'")
    with pytest.raises(ConfigError, match=r"99\.99\.99_01_future.*upgrade"):
        await ensure_queue_schema(postgres_database)
    assert level(postgres_database) == "99.99.99_01_future"
