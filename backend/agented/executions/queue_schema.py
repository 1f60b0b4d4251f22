"""Procrastinate's tables in PostgreSQL: made when missing, migrated when Procrastinate is.

Procrastinate ships its whole schema (for a new database) and one SQL file per change since
(`sql/migrations/<version>_<nn>_<name>.sql`, in the order their names sort), and leaves
applying them to its users. Agented keeps, in `queue_schema_level`, the name of the last
migration the tables include: a server or worker that starts with a newer Procrastinate
applies the files named after it, in order, in one transaction (all or nothing), under an
advisory lock (one at a time); one with an older Procrastinate than the tables refuses to
start rather than run jobs with queries that no longer match them.
"""

from __future__ import annotations

import logging
from pathlib import Path

import psycopg
from procrastinate.schema import SchemaManager

from ..config import ConfigError

logger = logging.getLogger(__name__)

# Held while the tables are made or migrated, so that a server and workers starting together
# take turns.
SCHEMA_LOCK = 0x61676E746571  # "agnteq"
MIGRATIONS = Path(SchemaManager.get_migrations_path())
# Kept with Procrastinate's tables, not in Agented's migrations: it exists where they do.
LEVEL_TABLE = """
CREATE TABLE IF NOT EXISTS queue_schema_level (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    migration text NOT NULL
)
"""
# Tables made before their level was kept came from Procrastinate 3.10's schema, whose last
# migration is this one.
UNRECORDED_LEVEL = "03.04.00_50_post_add_retry_failed_job_procedure"


def migrations_in(directory: Path) -> list[Path]:
    """Procrastinate's migration files in `directory`, in the order they apply."""
    return sorted(directory.glob("*.sql"), key=lambda path: path.stem)


async def ensure_queue_schema(url: str, migrations: Path = MIGRATIONS) -> None:
    """Make Procrastinate's tables in the database at `url`, or bring them up to the
    installed Procrastinate (`migrations`: its migration files)."""
    files = migrations_in(migrations)
    newest = files[-1].stem
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as connection:
        await connection.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
        try:
            async with connection.transaction():
                await connection.execute(LEVEL_TABLE)
                cursor = await connection.execute("SELECT to_regclass('procrastinate_jobs')")
                made = await cursor.fetchone()
                if made is None or made[0] is None:
                    # No parameters: the script goes as it is, every statement at once.
                    await connection.execute(SchemaManager.get_schema().encode())
                    logger.info("made Procrastinate's tables (%s)", newest)
                else:
                    cursor = await connection.execute("SELECT migration FROM queue_schema_level")
                    recorded = await cursor.fetchone()
                    level = recorded[0] if recorded is not None else UNRECORDED_LEVEL
                    if level > newest:
                        raise ConfigError(
                            f"the job queue's tables are migrated to {level}, newer than this "
                            f"installation's Procrastinate knows ({newest}): upgrade it"
                        )
                    for file in files:
                        if file.stem > level:
                            await connection.execute(file.read_bytes())
                            logger.info("migrated Procrastinate's tables: %s", file.stem)
                await connection.execute(
                    "INSERT INTO queue_schema_level (migration) VALUES (%s) "
                    "ON CONFLICT (only_row) DO UPDATE SET migration = EXCLUDED.migration",
                    (newest,),
                )
        finally:
            await connection.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK,))
