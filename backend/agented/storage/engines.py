"""Opening the configured database: PostgreSQL when a URL is set, else the SQLite file."""

from __future__ import annotations

from ..config import Settings
from .database import Database
from .postgres import PostgresDatabase
from .sqlite import SqliteDatabase


async def open_database(settings: Settings) -> Database:
    if settings.database_url is not None:
        return await PostgresDatabase.open(settings.database_url, settings.db_pool_size)
    return await SqliteDatabase.open(settings.db_path, settings.db_busy_timeout_ms)
