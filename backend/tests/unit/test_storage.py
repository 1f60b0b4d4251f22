"""SQLite connection settings, versioned migrations, and a full disk."""

from __future__ import annotations

import logging
import sqlite3
import stat
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agented.errors import StorageFull
from agented.events.wakeup import Wakeup
from agented.executions.logs import ExecutionLogService
from agented.paths import migrations_dir
from agented.storage import MigrationError, migrate
from agented.storage.disk_full import DiskFullState
from agented.storage.migrations import discover
from agented.storage.sqlite import SqliteDatabase

SHIPPED = migrations_dir("sqlite")


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[SqliteDatabase]:
    db = await SqliteDatabase.open(tmp_path / "test.db", busy_timeout_ms=1234)
    yield db
    await db.close()


def _pragma(name: str):
    return lambda connection: connection.execute(f"PRAGMA {name}").fetchone()[0]


async def test_connections_use_wal_busy_timeout_and_foreign_keys(database: SqliteDatabase) -> None:
    assert await database.read(_pragma("journal_mode")) == "wal"
    for run in (database.read, database.write):
        assert await run(_pragma("busy_timeout")) == 1234
        assert await run(_pragma("foreign_keys")) == 1


async def test_database_file_is_owner_only(database: SqliteDatabase) -> None:
    assert stat.S_IMODE(database.path.stat().st_mode) == 0o600


async def test_write_commits_and_rolls_back_as_a_unit(database: SqliteDatabase) -> None:
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


async def test_fresh_database_reaches_the_shipped_schema(database: SqliteDatabase) -> None:
    assert await migrate(database, SHIPPED) == len(discover(SHIPPED))
    assert await database.read(_version) == len(discover(SHIPPED))
    created = await database.read(
        lambda c: c.execute("SELECT value FROM instance WHERE key = 'created_at'").fetchone()
    )
    assert created["value"].endswith("Z")
    assert await migrate(database, SHIPPED) == len(discover(SHIPPED)), "idempotent"


async def test_older_database_is_upgraded_keeping_its_data(
    tmp_path: Path, database: SqliteDatabase
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
    tmp_path: Path, database: SqliteDatabase
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


async def test_newer_database_is_refused(tmp_path: Path, database: SqliteDatabase) -> None:
    await database.write(lambda c: c.execute("PRAGMA user_version = 7"))
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
    db = await SqliteDatabase.open(tmp_path / "x.db")
    await db.close()
    with pytest.raises(sqlite3.Error, match="is closed"):
        await db.read(_pragma("user_version"))


class _Records(logging.Handler):
    """Collects what one logger emits, whatever the root logger is configured to do."""

    def __init__(self, name: str) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self._logger = logging.getLogger(name)

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def __enter__(self) -> _Records:
        self._previous_level = self._logger.level
        self._logger.addHandler(self)
        self._logger.setLevel(logging.DEBUG)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._logger.removeHandler(self)
        self._logger.setLevel(self._previous_level)

    def messages(self, level: int = logging.DEBUG) -> list[str]:
        return [r.getMessage() for r in self.records if r.levelno >= level]


BLOB = "INSERT INTO filler VALUES (zeroblob(3000))"  # needs a page of its own


async def _fill_until_full(database: SqliteDatabase, extra_pages: int = 2) -> int:
    """Cap the database at a few more pages than it has; return how many blobs fitted."""
    await database.write(lambda c: c.execute("CREATE TABLE filler (data BLOB)"))
    pages = await database.write(_pragma("page_count"))
    await database.write(_pragma(f"max_page_count = {pages + extra_pages}"))
    for fitted in range(extra_pages + 1):
        try:
            await database.write(lambda c: c.execute(BLOB))
        except StorageFull:
            return fitted
    raise AssertionError(f"{extra_pages + 1} pages fitted under a limit of {extra_pages} more")


async def _make_room(database: SqliteDatabase) -> None:
    await database.write(_pragma("max_page_count = 1000000"))


async def test_a_full_database_raises_storage_full_and_keeps_what_was_committed(
    database: SqliteDatabase,
) -> None:
    fitted = await _fill_until_full(database)
    with pytest.raises(StorageFull, match=r"^disk full: database or disk is full$") as caught:
        await database.write(lambda c: c.execute(BLOB))
    assert isinstance(caught.value, sqlite3.OperationalError), "old `except sqlite3.Error` holds"
    assert database.disk.full
    await _make_room(database)
    # BEGIN would fail inside a transaction left open: the failed one was rolled back.
    await database.write(lambda c: c.execute(BLOB))
    count = await database.read(lambda c: c.execute("SELECT count(*) FROM filler").fetchone()[0])
    assert count == fitted + 1
    assert not database.disk.full


async def test_ping_reports_a_full_database_until_there_is_room_again(
    database: SqliteDatabase,
) -> None:
    await database.ping()
    await _fill_until_full(database)
    with pytest.raises(StorageFull, match="page limit"):
        await database.ping()
    await _make_room(database)
    await database.ping()  # no write needed: readiness recovers on its own
    assert not database.disk.full


async def test_a_full_disk_is_logged_once_a_minute_without_a_traceback(
    database: SqliteDatabase,
) -> None:
    now = [1000.0]
    database.disk = DiskFullState(str(database.path), clock=lambda: now[0])
    with _Records("agented") as log:
        await _fill_until_full(database)  # the first failure: reported at once
        for second in (0.25, 10, 59):  # the log batcher retries every 250 ms
            now[0] = 1000 + second
            with pytest.raises(StorageFull):
                await database.write(lambda c: c.execute(BLOB))
        assert len(log.messages()) == 1
        now[0] = 1061
        with pytest.raises(StorageFull):
            await database.write(lambda c: c.execute(BLOB))
        await _make_room(database)
        await database.write(lambda c: c.execute(BLOB))
        await database.write(lambda c: c.execute(BLOB))
    errors = log.messages(logging.ERROR)
    assert len(errors) == 2
    assert all(message.startswith("disk full: ") for message in errors)
    assert "3 more failed writes since the last report" in errors[1]
    assert log.messages(logging.WARNING)[2:] == [
        f"disk space is back: writes to the database {database.path} succeed again"
    ], "said once, not per write"
    assert not any(record.exc_info for record in log.records)


class _FillingRepository:
    """Stands in for the executions repository; fails like a full disk while `full` is set."""

    def __init__(self) -> None:
        self.full = True
        self.rows: dict[str, list[tuple]] = {}

    async def append_lines(self, batches: dict[str, list[tuple]]) -> None:
        if self.full:
            raise StorageFull("disk full: database or disk is full")
        for key, rows in batches.items():
            self.rows.setdefault(key, []).extend(rows)


async def test_log_lines_accepted_while_the_disk_is_full_are_written_once_there_is_room() -> None:
    repository = _FillingRepository()
    service = ExecutionLogService(repository)  # type: ignore[arg-type]
    topic = service.open("exe_1")
    with _Records("agented") as log:
        service.append(topic, "stdout", ["one", "two"], time.time())
        for _ in range(3):
            with pytest.raises(StorageFull):
                await service.flush()
        service.append(topic, "stderr", ["three"], time.time())
        with pytest.raises(StorageFull):
            await service.flush()
    assert log.messages(logging.ERROR) == [], "the database reports a full disk, not each retry"
    assert service.pending[0] == 3
    repository.full = False
    await service.flush()
    assert [(seq, stream, text) for seq, stream, text, _ in repository.rows["exe_1"]] == [
        (1, "stdout", "one"),
        (2, "stdout", "two"),
        (3, "stderr", "three"),
    ]
    assert service.pending[0] == 0
    assert topic.persisted_seq == 3


async def test_a_log_service_that_does_not_publish_numbers_and_stores_lines_without_events() -> (
    None
):
    repository = _FillingRepository()
    repository.full = False
    service = ExecutionLogService(repository, publish=False)  # type: ignore[arg-type]
    topic = service.open("exe_1", last_seq=4)
    service.append(topic, "stdout", ["five", "six"], time.time())
    service.append(topic, "stderr", ["seven"], time.time())
    assert (topic.last_seq, topic.tail_size) == (7, 0), "numbered, no event encoded"
    held_rows, held_bytes = service.pending
    assert held_rows == 3, "held until stored"
    assert held_bytes > 0
    await service.flush()
    assert [(seq, stream, text) for seq, stream, text, _ in repository.rows["exe_1"]] == [
        (5, "stdout", "five"),
        (6, "stdout", "six"),
        (7, "stderr", "seven"),
    ]
    assert (service.pending, topic.persisted_seq) == ((0, 0), 7)


async def test_lines_a_worker_stored_are_encoded_only_while_someone_watches() -> None:
    service = ExecutionLogService(_FillingRepository())  # type: ignore[arg-type]
    topic = service.open("exe_1", last_seq=0)
    service.append(topic, "stdout", ["one", "two"], time.time(), stored=True)
    assert (topic.last_seq, topic.persisted_seq, topic.tail_size) == (2, 2, 0)
    assert service.pending == (0, 0), "nothing to store: the worker did"
    wakeup = Wakeup()
    topic.watch(wakeup)
    service.append(topic, "stdout", ["three"], time.time(), stored=True)
    chunk = topic.read_after(2, 1 << 20)
    assert chunk is not None
    assert b'"content":"three"' in chunk[0]
    assert chunk[1] == 3
    assert service.lines_ingested == 3
