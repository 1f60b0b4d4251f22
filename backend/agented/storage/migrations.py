"""Versioned schema migrations: numbered SQL files applied in order at startup.

Each engine has its own numbered files (`migrations/sqlite/`, `migrations/postgres/`),
since their SQL differs. The database keeps its schema version (SQLite in
`user_version`, PostgreSQL in a table) and runs each file in its own transaction
together with the version bump, so a failed migration leaves the database
exactly at the previous version. A database newer than this code is refused
rather than silently misread.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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
    return await database.migrate(discover(directory))
