"""SQLite connection settings and versioned migrations."""

from __future__ import annotations

import sqlite3
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agented.paths import MIGRATIONS_DIR
from agented.storage import Database, MigrationError, migrate
from agented.storage.migrations import discover


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    db = await Database.open(tmp_path / "test.db", busy_timeout_ms=1234)
    yield db
    await db.close()


def _pragma(name: str):
    return lambda connection: connection.execute(f"PRAGMA {name}").fetchone()[0]


async def test_connections_use_wal_busy_timeout_and_foreign_keys(database: Database) -> None:
    assert await database.read(_pragma("journal_mode")) == "wal"
    for run in (database.read, database.write_script):
        assert await run(_pragma("busy_timeout")) == 1234
        assert await run(_pragma("foreign_keys")) == 1


async def test_database_file_is_owner_only(database: Database) -> None:
    assert stat.S_IMODE(database.path.stat().st_mode) == 0o600


async def test_write_commits_and_rolls_back_as_a_unit(database: Database) -> None:
    await database.write(lambda c: c.execute("CREATE TABLE t (v INTEGER NOT NULL)"))
    await database.write(lambda c: c.executemany("INSERT INTO t VALUES (?)", [(1,), (2,)]))

    def fail_halfway(connection: sqlite3.Connection) -> None:
        connection.execute("INSERT INTO t VALUES (3)")
        connection.execute("INSERT INTO t VALUES (NULL)")

    with pytest.raises(sqlite3.IntegrityError):
        await database.write(fail_halfway)
    rows = await database.read(lambda c: c.execute("SELECT v FROM t ORDER BY v").fetchall())
    assert [row["v"] for row in rows] == [1, 2]


def _write_migrations(directory: Path, *scripts: str) -> Path:
    directory.mkdir(exist_ok=True)
    for number, script in enumerate(scripts, start=1):
        (directory / f"{number:04d}_step_{number}.sql").write_text(script)
    return directory


def _version(connection: sqlite3.Connection) -> int:
    return connection.execute("PRAGMA user_version").fetchone()[0]


async def test_fresh_database_reaches_the_shipped_schema(database: Database) -> None:
    assert await migrate(database, MIGRATIONS_DIR) == len(discover(MIGRATIONS_DIR))
    assert await database.read(_version) == len(discover(MIGRATIONS_DIR))
    created = await database.read(
        lambda c: c.execute("SELECT value FROM instance WHERE key = 'created_at'").fetchone()
    )
    assert created["value"].endswith("Z")
    assert await migrate(database, MIGRATIONS_DIR) == len(discover(MIGRATIONS_DIR)), "idempotent"


async def test_older_database_is_upgraded_keeping_its_data(
    tmp_path: Path, database: Database
) -> None:
    first = "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);"
    v1 = _write_migrations(tmp_path / "v1", first)
    assert await migrate(database, v1) == 1
    await database.write(lambda c: c.execute("INSERT INTO notes (body) VALUES ('kept')"))

    v2 = _write_migrations(
        tmp_path / "v2", first, "ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0;"
    )
    assert await migrate(database, v2) == 2
    row = await database.read(lambda c: c.execute("SELECT body, pinned FROM notes").fetchone())
    assert (row["body"], row["pinned"]) == ("kept", 0)


async def test_failed_migration_leaves_the_previous_version(
    tmp_path: Path, database: Database
) -> None:
    good = "CREATE TABLE a (x INTEGER);"
    bad = "CREATE TABLE b (y INTEGER); INSERT INTO missing VALUES (1);"
    with pytest.raises(MigrationError, match=r"0002_step_2\.sql failed"):
        await migrate(database, _write_migrations(tmp_path / "m", good, bad))
    assert await database.read(_version) == 1
    tables = await database.read(
        lambda c: [r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    )
    assert tables == ["a"], "the half-applied migration was rolled back"


async def test_newer_database_is_refused(tmp_path: Path, database: Database) -> None:
    await database.write_script(lambda c: c.execute("PRAGMA user_version = 7"))
    with pytest.raises(MigrationError, match="schema version 7"):
        await migrate(database, _write_migrations(tmp_path / "m", "SELECT 1;"))


@pytest.mark.parametrize(
    ("names", "message"),
    [(["0001_a.sql", "0003_c.sql"], "expected migration 0002"), (["1_a.sql"], "NNNN_description")],
)
def test_inconsistent_migration_files_are_refused(
    tmp_path: Path, names: list[str], message: str
) -> None:
    for name in names:
        (tmp_path / name).write_text("SELECT 1;")
    with pytest.raises(MigrationError, match=message):
        discover(tmp_path)


async def test_closed_database_raises_a_database_error(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "x.db")
    await db.close()
    with pytest.raises(sqlite3.Error, match="is closed"):
        await db.read(_pragma("user_version"))
