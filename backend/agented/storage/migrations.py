"""Versioned schema migrations: numbered SQL files applied in order at startup.

The schema version lives in SQLite's `user_version`, and each file runs in its
own transaction together with the version bump, so a failed migration leaves
the database exactly at the previous version. A database newer than this code
is refused rather than silently misread.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from .database import Database

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class MigrationError(RuntimeError):
    """The migrations or the database's schema version are inconsistent."""


@dataclass(frozen=True)
class Migration:
    version: int
    path: Path


def discover(directory: Path) -> list[Migration]:
    """The migrations in `directory`, checked to be numbered 1, 2, 3… without gaps."""
    migrations = []
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if match is None:
            raise MigrationError(f"migration file {path.name} is not named NNNN_description.sql")
        migrations.append(Migration(int(match.group(1)), path))
    for expected, migration in enumerate(migrations, start=1):
        if migration.version != expected:
            raise MigrationError(f"expected migration {expected:04d}, found {migration.path.name}")
    return migrations


async def migrate(database: Database, directory: Path) -> int:
    """Bring `database` to the newest schema in `directory`; return the resulting version."""
    migrations = discover(directory)
    latest = len(migrations)

    def apply(connection: sqlite3.Connection) -> int:
        current = connection.execute("PRAGMA user_version").fetchone()[0]
        if current > latest:
            raise MigrationError(
                f"database {database.path} has schema version {current}, but this Agented knows "
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
                raise MigrationError(f"migration {migration.path.name} failed: {error}") from error
        return latest

    return await database.write_script(apply)
